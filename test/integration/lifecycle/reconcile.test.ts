/**
 * Reconciliation with Docker's labels on the real engine (every 100 ms here, orphans removed
 * after 600 ms): a serving container removed behind the daemon's back is forgotten and its
 * port released; a labelled container and network created behind its back for no sandbox are
 * removed after the grace period (logged); a port held for no sandbox is released; two daemons
 * of different state directories on the engine never reap each other's objects; an image built
 * for no deployment of an existing sandbox is removed after the grace period, one a live
 * sandbox's deployment references and a base image are kept. The test waits on sandbox events,
 * Docker's own events and the reconciler's report in the log, never on time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { BUSYBOX, docker, TEST_LABEL } from '../../helpers/docker-fixtures';
import type { FixtureRepo } from '../../helpers/fixture-repo';
import { deployAndWait, portWindows, useLifecycleDaemon } from './helpers';

const GRACE_MS = 600;
const TIMING = { BRANCHBOX_RECONCILE_INTERVAL_MS: '100', BRANCHBOX_ORPHAN_GRACE_MS: String(GRACE_MS) };
const t = useLifecycleDaemon('bblcr', 'reconcile-test', TIMING);
const { run, suffix, created } = t;
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
/** The daemon's `branchbox.instance`. */
let instance: string;

beforeAll(async () => {
  ({ daemon, client, repo } = t);
  ({ instance } = await client.request('system/info'));
});

/** Resolves with the first sandbox event matching. */
async function nextEvent(accept: (e: StreamItem<'sandbox/event'>) => boolean): Promise<StreamItem<'sandbox/event'>> {
  let resolveEvent!: (e: StreamItem<'sandbox/event'>) => void;
  const found = new Promise<StreamItem<'sandbox/event'>>((r) => (resolveEvent = r));
  const sub = await client.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
    onItems: (items) => {
      const hit = items.find(accept);
      if (hit) resolveEvent(hit);
    },
  });
  const event = await found;
  await sub.cancel().catch(() => undefined);
  return event;
}

/** Resolves when Docker reports `action` of the object with this id. */
async function dockerEvent(type: 'container' | 'network' | 'image', id: string, action: string): Promise<number> {
  const stream = (await docker.getEvents({
    filters: JSON.stringify({ type: [type], event: [action] }),
  })) as NodeJS.ReadableStream & { destroy(): void };
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const e = JSON.parse(line) as { Actor?: { ID?: string } };
        if (e.Actor?.ID === id) {
          stream.destroy();
          resolve(Date.now());
        }
      }
    });
  });
}

const logText = (stateDir = daemon.stateDir) => {
  const file = join(stateDir, 'branchboxd.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

type Report = Record<'removedContainers' | 'removedNetworks' | 'removedImages', string[] | undefined>;

/** Waits for the end of a reconciliation round (its report in the log) that removed `name` as `kind`. */
async function roundRemoving(kind: keyof Report, name: string, stateDir = daemon.stateDir): Promise<void> {
  await expect
    .poll(
      () =>
        logText(stateDir)
          .split('\n')
          .filter((line) => line.includes('"Reconciled with Docker"'))
          .some((line) => (JSON.parse(line) as Report)[kind]?.includes(name)),
      { timeout: 30_000 },
    )
    .toBe(true);
}

/** A container and network labelled for sandbox `ghost` of `owner` (an instance) that does not exist. */
async function ghostObjects(ghost: string, owner: string) {
  const labels = { 'branchbox.managed': 'true', 'branchbox.instance': owner, 'branchbox.sandbox': ghost, 'branchbox.service': 'account' };
  const network = await docker.createNetwork({ Name: `sandbox-${ghost}`, Labels: { ...labels, [TEST_LABEL]: run.runId } });
  const container = await run.createContainer({
    Image: BUSYBOX,
    Cmd: ['sleep', '300'],
    Labels: labels,
    HostConfig: { NetworkMode: `sandbox-${ghost}` },
  });
  return { network, container };
}

/** An image committed from busybox with these labels (and the run's); answers its id. */
async function imageLabelled(repository: string, labels: Record<string, string>): Promise<string> {
  const source = await run.createContainer({ Image: BUSYBOX, Cmd: ['true'], start: false });
  try {
    const changes = Object.entries({ ...labels, [TEST_LABEL]: run.runId }).map(([k, v]) => `LABEL ${k}=${v}`);
    const { Id } = (await source.commit({ repo: repository, tag: 'orphan', changes })) as { Id: string };
    return Id;
  } finally {
    await source.remove({ force: true });
  }
}

const exists = (p: Promise<unknown>) => p.then(() => true, (e: { statusCode?: number }) => (e.statusCode === 404 ? false : Promise.reject(e)));

describe('reconciliation with Docker', () => {
  it('a serving container removed behind the daemon’s back: the service is no longer served and its port is released', async () => {
    const name = `l${suffix}-gone`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    const before = await client.request('sandbox/get', { name });
    const account = before.services.find((s) => s.service === 'account')!;
    expect(before.ports.some((p) => p.port === account.hostPort)).toBe(true);

    const forgotten = nextEvent(
      (e) => e.name === name && e.sandbox?.services.find((s) => s.service === 'account')?.containerId === undefined,
    );
    await docker.getContainer(account.containerId!).remove({ force: true });
    const after = (await forgotten).sandbox!;
    expect(after.services.find((s) => s.service === 'account')).toMatchObject({ service: 'account', route: 'sandbox' });
    expect(after.ports.some((p) => p.port === account.hostPort)).toBe(false);
    await expect.poll(() => logText()).toMatch(/was removed outside Branchbox; the service is no longer served/);
  });

  it('a labelled container and network of no sandbox are removed after the grace period; ports of no sandbox are released', async () => {
    const ghost = `l${suffix}-ghost`;
    const createdAt = Date.now();
    const { network, container } = await ghostObjects(ghost, instance);
    const containerGone = dockerEvent('container', container.id, 'destroy');
    const networkGone = dockerEvent('network', network.id, 'destroy');

    const db = new Database(join(daemon.stateDir, 'state.db'));
    try {
      db.prepare(
        "INSERT INTO ports (port, sandbox, service, purpose, allocated_at) VALUES (?, ?, 'account', 'service', ?)",
      ).run(1, ghost, new Date().toISOString());
    } finally {
      db.close();
    }

    expect((await containerGone) - createdAt).toBeGreaterThanOrEqual(GRACE_MS);
    await networkGone;
    await expect
      .poll(() => logText())
      .toMatch(new RegExp(`Removed container .*sandbox ${ghost}, which does not exist`));
    await expect.poll(() => logText()).toMatch(new RegExp(`Removed network sandbox-${ghost}`));
    await expect
      .poll(() => {
        const check = new Database(join(daemon.stateDir, 'state.db'), { readonly: true });
        try {
          return (check.prepare('SELECT count(*) AS n FROM ports WHERE sandbox = ?').get(ghost) as { n: number }).n;
        } finally {
          check.close();
        }
      })
      .toBe(0);
  });

  it('two daemons of different state directories on one engine never reap each other’s containers and networks', { timeout: 180_000 }, async () => {
    const ours = `l${suffix}-ours`;
    created.add(ours);
    await client.request('sandbox/create', { name: ours, repoPath: repo.root });
    await deployAndWait(client, { repoPath: repo.root, sandbox: ours, ref: 'main', services: ['account'] });
    const serving = (await client.request('sandbox/get', { name: ours })).services.find((s) => s.service === 'account')!.containerId!;

    // The other daemon: the same extra labels (the same test run), another state directory.
    const other = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...TIMING, ...portWindows() } });
    const theirs = `l${suffix}-theirs`;
    try {
      const otherClient = await other.connect('reconcile-test-other');
      const otherInstance = (await otherClient.request('system/info')).instance;
      expect(otherInstance).not.toBe(instance);
      await otherClient.request('sandbox/create', { name: theirs });

      // Each daemon's own orphans show its reconciler has looked at everything for longer than the grace period.
      await ghostObjects(`l${suffix}-og`, instance);
      await ghostObjects(`l${suffix}-tg`, otherInstance);
      await roundRemoving('removedNetworks', `sandbox-l${suffix}-og`);
      await roundRemoving('removedNetworks', `sandbox-l${suffix}-tg`, other.stateDir);

      expect(await exists(docker.getContainer(serving).inspect())).toBe(true);
      expect(await exists(docker.getNetwork(`sandbox-${ours}`).inspect())).toBe(true);
      expect(await exists(docker.getNetwork(`sandbox-${theirs}`).inspect())).toBe(true);
      expect((await client.request('sandbox/get', { name: ours })).services.find((s) => s.service === 'account')?.containerId).toBe(serving);
      expect(logText(other.stateDir)).not.toContain(ours);
      expect(logText()).not.toContain(theirs);
      await otherClient.request('sandbox/delete', { name: theirs });
      await otherClient.closeSocket();
    } finally {
      await other.stop();
      await other.dispose();
    }
  });

  it('an image no deployment of an existing sandbox references is removed after the grace period; a referenced one and a base image are kept', { timeout: 180_000 }, async () => {
    const name = `l${suffix}-img`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    // The image of main stays referenced by its (now stopped) deployment once feature/x replaced it.
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'feature/x', services: ['account'] });
    const { deployments } = await client.request('deploy/list', { sandbox: name });
    const referenced = deployments.find((d) => d.ref === 'main')!.image!;
    expect(deployments.find((d) => d.ref === 'feature/x')!.image).not.toBe(referenced);

    const ours = { 'branchbox.managed': 'true', 'branchbox.instance': instance, 'branchbox.project': 'shop', 'branchbox.service': 'account' };
    let base: string | undefined;
    try {
      base = await imageLabelled(`branchbox/l${suffix}-base`, { ...ours, 'branchbox.base': 'true' });
      const createdAt = Date.now();
      const orphan = await imageLabelled(`branchbox/l${suffix}-orphan`, { ...ours, 'branchbox.base': 'false', 'branchbox.commit': 'f'.repeat(40) });
      const orphanGone = dockerEvent('image', orphan, 'delete');

      expect((await orphanGone) - createdAt).toBeGreaterThanOrEqual(GRACE_MS);
      await roundRemoving('removedImages', `branchbox/l${suffix}-orphan:orphan`);
      expect(logText()).toMatch(new RegExp(`Removed image branchbox/l${suffix}-orphan:orphan \\(shop/account at f{12}\\): the image retention does not keep it`));
      expect(await exists(docker.getImage(referenced).inspect())).toBe(true);
      expect(await exists(docker.getImage(base).inspect())).toBe(true);
    } finally {
      // Cleanup leaves base images alone: this one is the test's to remove.
      if (base) await docker.getImage(base).remove({ force: true }).catch(() => undefined);
    }
  });
});
