/**
 * Sandboxes that deploy, through the real deploy pipeline (owner B) on the real engine, with
 * the fixture git repository (test/helpers/fixture-repo.ts): create from a template, clone,
 * snapshot, restore, a failing deployment reported without losing the sandbox, and delete
 * leaving no labelled container, network or port behind.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { labelled } from './helpers';

const run = testRun('bbsbxd');
const suffix = run.runId.slice(-8);
const SECRET = `tok-${suffix}-do-not-print`;
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
const created = new Set<string>();

function sandboxName(tag: string): string {
  const name = `d${suffix}-${tag}`;
  created.add(name);
  return name;
}

async function get(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

/** What the sandbox left: its labelled containers and networks, and the ports the state file still holds for it. */
async function leftovers(sandbox: string) {
  const objects = await labelled(sandbox);
  const db = new Database(join(daemon.stateDir, 'state.db'), { readonly: true });
  try {
    const ports = db.prepare('SELECT count(*) AS n FROM ports WHERE sandbox = ?').get(sandbox) as { n: number };
    return { ...objects, ports: ports.n };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  repo = createFixtureRepo({ project: `sbx${suffix}` });
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...portWindows() } });
  client = await daemon.connect('sandbox-deploy-test');
  await client.request('template/save', {
    name: `fx-${suffix}`,
    spec: { services: { account: { branch: 'feature/x' }, payment: { branch: 'main' } } },
  });
});

afterEach(async () => {
  for (const name of created) await client.request('sandbox/delete', { name }).catch(() => undefined);
  created.clear();
  await run.cleanup();
});

afterAll(async () => {
  await client?.request('template/delete', { name: `fx-${suffix}` }).catch(() => undefined);
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
  repo?.dispose();
});

describe('sandboxes with deployments', () => {
  it(
    'creates from a template, clones, snapshots and restores with the same commits, env and routes',
    { timeout: 180_000 },
    async () => {
      const a = sandboxName('a');
      const made = await client.request('sandbox/create', {
        name: a,
        repoPath: repo.root,
        fromTemplate: `fx-${suffix}`,
      });
      expect(
        made.deployments.map((d) => [d.service, d.status]),
        JSON.stringify(made.deployments),
      ).toEqual([
        ['account', 'running'],
        ['payment', 'running'],
      ]);
      const featureCommit = repo.commitOf('feature/x');
      const account = made.sandbox.services.find((s) => s.service === 'account')!;
      expect(account).toMatchObject({
        route: 'sandbox',
        branch: 'feature/x',
        commit: featureCommit,
        url: `http://127.0.0.1:${account.hostPort}`,
      });
      expect(await get(account.url!)).toBe('feature/x');
      expect(await get(made.sandbox.services.find((s) => s.service === 'payment')!.url!)).toBe('main');

      await client.request('env/set', { sandbox: a, key: 'API_TOKEN', value: SECRET, secret: true });
      await client.request('env/set', { sandbox: a, service: 'account', key: 'MODE', value: 'cloned' });

      // Clone: same branches and commits, env (the secret reaches the container), new ports.
      const b = sandboxName('b');
      const clone = await client.request('sandbox/clone', { name: a, newName: b });
      expect(
        clone.deployments.map((d) => [d.service, d.status, d.commit]),
        JSON.stringify(clone.deployments),
      ).toEqual([
        ['account', 'running', featureCommit],
        ['payment', 'running', repo.commitOf('main')],
      ]);
      const cloned = clone.sandbox.services.find((s) => s.service === 'account')!;
      expect(cloned).toMatchObject({ branch: 'feature/x', commit: featureCommit });
      expect(cloned.hostPort).not.toBe(account.hostPort);
      expect(await get(cloned.url!)).toBe('feature/x');
      expect(await get(`${cloned.url}/env/API_TOKEN`)).toBe(SECRET);
      expect(await get(`${cloned.url}/env/MODE`)).toBe('cloned');
      expect(JSON.stringify(clone)).not.toContain(SECRET);

      // Snapshot, move the branch on, delete the sandbox, restore: the exact commit comes back.
      const snap = `s${suffix}`;
      const summary = await client.request('sandbox/snapshot', { name: a, snapshot: snap });
      expect(summary.services.find((s) => s.service === 'account')).toMatchObject({
        branch: 'feature/x',
        commit: featureCommit,
      });
      try {
        repo.checkout('feature/x');
        repo.write(
          'services/account/server.js',
          "require('node:http').createServer((q, r) => r.end('moved on')).listen(8080);\n",
        );
        repo.commitAll('feature/x moves on');
        repo.checkout('main');
        expect(repo.commitOf('feature/x')).not.toBe(featureCommit);

        await client.request('sandbox/delete', { name: a });
        expect(await leftovers(a)).toEqual({ containers: 0, networks: 0, ports: 0 });
        const restored = await client.request('sandbox/restore', { snapshot: snap });
        expect(restored.sandbox.name).toBe(a);
        expect(
          restored.deployments.map((d) => [d.service, d.status, d.commit]),
          JSON.stringify(restored.deployments),
        ).toEqual([
          ['account', 'running', featureCommit],
          ['payment', 'running', repo.commitOf('main')],
        ]);
        const back = restored.sandbox.services.find((s) => s.service === 'account')!;
        expect(await get(back.url!)).toBe('feature/x');
        expect(await get(`${back.url}/env/API_TOKEN`)).toBe(SECRET);
        expect((await client.request('snapshot/list', { sandbox: a })).snapshots.map((s) => s.name)).toEqual([snap]);
      } finally {
        await client.request('snapshot/delete', { name: snap });
      }

      for (const name of [a, b]) {
        await client.request('sandbox/delete', { name });
        expect(await leftovers(name)).toEqual({ containers: 0, networks: 0, ports: 0 });
      }
      expect(
        await fetch(cloned.url!).then(
          () => 'answered',
          () => 'refused',
        ),
      ).toBe('refused');
    },
  );

  it('reports a deployment that fails its health check and keeps the sandbox', { timeout: 120_000 }, async () => {
    const name = sandboxName('bad');
    const tpl = `bh-${suffix}`;
    await client.request('template/save', { name: tpl, spec: { services: { account: { branch: 'broken-health' } } } });
    try {
      const { sandbox, deployments } = await client.request('sandbox/create', {
        name,
        repoPath: repo.root,
        fromTemplate: tpl,
      });
      expect(deployments).toHaveLength(1);
      expect(deployments[0]).toMatchObject({ service: 'account', branch: 'broken-health', status: 'failed' });
      expect(deployments[0]!.diagnosis).toMatch(/health/i);
      expect(sandbox.state).toBe('active');
      expect((await client.request('sandbox/get', { name })).name).toBe(name);
    } finally {
      await client.request('template/delete', { name: tpl });
    }
    await client.request('sandbox/delete', { name });
    expect(await leftovers(name)).toEqual({ containers: 0, networks: 0, ports: 0 });
  });
});
