/**
 * Sandboxes, environments, templates and the audit trail through the protocol: a real
 * branchboxd (dist/, results checked against their schemas) on the real engine and a real
 * state file. Everything the daemon creates carries this run's `branchbox.test` label
 * (BRANCHBOX_EXTRA_LABELS) and the sandboxes have unique names; afterEach removes them.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../schemas/src/client';
import type { StreamItem } from '../../../schemas/src/index';
import { portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { labelled } from './helpers';

const SHOP = resolve(__dirname, '../../fixtures/projects/shop');
const SECRET = `s3cr3t-${Math.random().toString(36).slice(2)}-value`;
const run = testRun('bbsbx');
const suffix = run.runId.slice(-8);
let daemon: TestDaemon;
let client: TestClient;
const created = new Set<string>();

/** A unique sandbox name for this run, remembered for cleanup. */
function sandboxName(tag: string): string {
  const name = `t${suffix}-${tag}`;
  created.add(name);
  return name;
}

async function rpcError(promise: Promise<unknown>): Promise<ProtocolError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected an error answer');
}

/** The ports the state file records for `sandbox` (read beside the running daemon). */
function portsHeldBy(sandbox: string): number[] {
  const db = new Database(join(daemon.stateDir, 'state.db'), { readonly: true });
  try {
    return (db.prepare('SELECT port FROM ports WHERE sandbox = ?').all(sandbox) as { port: number }[]).map(
      (r) => r.port,
    );
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...portWindows() } });
  client = await daemon.connect('sandbox-test');
});

afterEach(async () => {
  for (const name of created) {
    await client.request('sandbox/delete', { name }).catch(() => undefined);
  }
  created.clear();
  await run.cleanup();
});

afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
});

describe('sandbox lifecycle', () => {
  it('creates, lists, gets, updates and deletes a sandbox; nothing labelled remains', async () => {
    const name = sandboxName('life');
    const { sandbox, deployments } = await client.request('sandbox/create', { name, ttl: { idle: '8h' } });
    expect(deployments).toEqual([]);
    expect(sandbox).toMatchObject({
      name,
      state: 'active',
      network: `sandbox-${name}`,
      services: [],
      ttl: { idle: '8h' },
    });
    expect(sandbox.owner.length).toBeGreaterThan(0);

    const network = await docker.getNetwork(`sandbox-${name}`).inspect();
    expect(network.Labels).toMatchObject({
      'branchbox.managed': 'true',
      'branchbox.sandbox': name,
      [TEST_LABEL]: run.runId,
    });

    // A container a deployment would have made: labelled with the sandbox and the daemon, on its network.
    const { instance } = await client.request('system/info');
    expect(network.Labels?.['branchbox.instance']).toBe(instance);
    await run.createContainer({
      name: `sandbox-${name}-web`,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'],
      Labels: { 'branchbox.managed': 'true', 'branchbox.instance': instance, 'branchbox.sandbox': name, 'branchbox.service': 'web' },
      HostConfig: { NetworkMode: `sandbox-${name}` },
    });

    expect((await client.request('sandbox/list')).sandboxes.map((s) => s.name)).toContain(name);
    // The sandbox's gateway (issue 5) takes a port of the gateway range as soon as it exists.
    const held = (await client.request('sandbox/get', { name })).ports;
    expect(held.every((p) => p.purpose === 'gateway')).toBe(true);
    expect(await client.request('sandbox/get', { name })).toMatchObject({
      ...sandbox,
      ports: held,
      updatedAt: expect.any(String),
    });

    const updated = await client.request('sandbox/update', {
      name,
      owner: 'qa-team',
      resources: { memoryBytes: 268435456 },
      ttl: null,
    });
    expect(updated).toMatchObject({ owner: 'qa-team', resources: { memoryBytes: 268435456 } });
    expect(updated.ttl).toBeUndefined();

    const before = (await client.request('sandbox/get', { name })).ports;
    expect(await client.request('sandbox/delete', { name })).toEqual({
      containers: 1,
      networks: 1,
      ports: before.length,
      volumes: [],
    });
    expect(await labelled(name)).toEqual({ containers: 0, networks: 0 });
    expect(portsHeldBy(name)).toEqual([]);
    expect((await rpcError(client.request('sandbox/get', { name }))).errorName).toBe('SandboxNotFound');
    expect((await rpcError(client.request('sandbox/delete', { name }))).errorName).toBe('SandboxNotFound');
  });

  it('answers NameTaken, InvalidName with the rule, and SandboxNotFound', async () => {
    const name = sandboxName('dup');
    await client.request('sandbox/create', { name });
    const taken = await rpcError(client.request('sandbox/create', { name }));
    expect(taken.errorName).toBe('NameTaken');
    expect(taken.message).toContain(name);

    const invalid = await rpcError(client.request('sandbox/create', { name: 'My_Box' }));
    expect(invalid.errorName).toBe('InvalidName');
    expect(invalid.message).toBe(
      'Invalid sandbox name "My_Box": it contains "M", "_", "B" (use lowercase). Names are lowercase a-z, 0-9 and "-", 1 to 40 characters, not starting or ending with "-".',
    );
    expect((await rpcError(client.request('sandbox/create', { name: 'x'.repeat(41) }))).message).toMatch(
      /it has 41 characters, at most 40/,
    );
    expect(await labelled('My_Box')).toEqual({ containers: 0, networks: 0 });

    for (const call of [
      client.request('sandbox/get', { name: 'nope-nope' }),
      client.request('sandbox/update', { name: 'nope-nope', owner: 'x' }),
      client.request('env/list', { sandbox: 'nope-nope' }),
      client.request('sandbox/clone', { name: 'nope-nope', newName: sandboxName('never') }),
    ]) {
      const e = await rpcError(call);
      expect(e.errorName).toBe('SandboxNotFound');
      expect(e.message).toBe('No sandbox "nope-nope". sandbox/list shows the existing ones.');
    }
  });

  it('streams created, updated and deleted to a second connection as they happen', async () => {
    const watcher = await daemon.connect('watcher');
    try {
      const items: StreamItem<'sandbox/event'>[] = [];
      const waiters: (() => void)[] = [];
      await watcher.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
        onItems: (batch) => {
          items.push(...batch);
          waiters.splice(0).forEach((w) => w());
        },
      });
      const until = async (check: () => boolean) => {
        while (!check()) await new Promise<void>((r) => waiters.push(r));
      };
      const name = sandboxName('live');
      const mine = () => items.filter((i) => i.name === name);

      await client.request('sandbox/create', { name });
      await until(() => mine().some((i) => i.kind === 'created'));
      expect(mine()[0]).toMatchObject({ kind: 'created', sandbox: { name, state: 'active' } });

      await client.request('sandbox/update', { name, owner: 'someone-else' });
      await until(() => mine().some((i) => i.kind === 'updated' && i.sandbox?.owner === 'someone-else'));

      await client.request('sandbox/delete', { name });
      await until(() => mine().some((i) => i.kind === 'deleted'));
      expect(mine().at(-1)).toEqual({ kind: 'deleted', name });
      expect(mine().some((i) => i.kind === 'updated' && i.sandbox?.state === 'deleting')).toBe(true);
    } finally {
      await watcher.closeSocket();
    }
  });
});

describe('environments', () => {
  it('masks secrets in every reply and keeps them out of the log, the audit trail and the database file', async () => {
    const name = sandboxName('env');
    await client.request('sandbox/create', { name });
    const set = await client.request('env/set', { sandbox: name, key: 'API_TOKEN', value: SECRET, secret: true });
    expect(set).toMatchObject({ sandbox: name, key: 'API_TOKEN', value: '***', secret: true });
    await client.request('env/set', { sandbox: name, service: 'web', key: 'LOG_LEVEL', value: 'debug' });

    expect(await client.request('env/get', { sandbox: name, key: 'API_TOKEN' })).toMatchObject({
      value: '***',
      secret: true,
    });
    expect(await client.request('env/get', { sandbox: name, key: 'MISSING' })).toBeNull();
    const listed = await client.request('env/list', { sandbox: name });
    expect(listed.entries.map((e) => [e.service ?? '', e.key, e.value])).toEqual([
      ['', 'API_TOKEN', '***'],
      ['web', 'LOG_LEVEL', 'debug'],
    ]);
    expect((await client.request('env/list', { sandbox: name, service: 'web' })).entries.map((e) => e.key)).toEqual([
      'LOG_LEVEL',
    ]);

    // A failing request carrying the secret: its error and audit outcome must not echo it.
    const bad = await rpcError(
      client.request('env/set', { sandbox: name, key: 'BAD-KEY', value: SECRET, secret: true }),
    );
    expect(bad.errorName).toBe('InvalidName');
    expect(bad.message).not.toContain(SECRET);

    const replies = JSON.stringify([
      set,
      listed,
      await client.request('sandbox/get', { name }),
      await client.request('audit/list', {}),
    ]);
    expect(replies).not.toContain(SECRET);
    expect(readFileSync(join(daemon.stateDir, 'branchboxd.log'), 'utf8')).not.toContain(SECRET);
    const db = new Database(join(daemon.stateDir, 'state.db'), { readonly: true });
    try {
      expect(JSON.stringify(db.prepare('SELECT * FROM audit').all())).not.toContain(SECRET);
      expect(JSON.stringify(db.prepare('SELECT * FROM env_vars').all())).not.toContain(SECRET);
    } finally {
      db.close();
    }
    for (const file of ['state.db', 'state.db-wal']) {
      expect(readFileSync(join(daemon.stateDir, file)).includes(Buffer.from(SECRET)), file).toBe(false);
    }

    expect(await client.request('env/delete', { sandbox: name, key: 'API_TOKEN' })).toEqual({ deleted: true });
    expect(await client.request('env/delete', { sandbox: name, key: 'API_TOKEN' })).toEqual({ deleted: false });
  });
});

describe('templates and projects', () => {
  it("saves, lists, gets and deletes templates, alongside the project's own", async () => {
    const tname = `tpl-${suffix}`;
    const saved = await client.request('template/save', {
      name: tname,
      spec: { services: { account: { branch: 'main' } }, ttl: '2h' },
    });
    expect(saved).toMatchObject({
      name: tname,
      source: 'saved',
      spec: { services: { account: { branch: 'main' } }, ttl: '2h' },
    });
    try {
      expect((await client.request('template/list', {})).templates.map((t) => t.name)).toContain(tname);
      const withProject = (await client.request('template/list', { repoPath: SHOP })).templates;
      expect(withProject.filter((t) => t.source === 'project').map((t) => t.name)).toEqual(['full', 'qa-default']);
      expect(await client.request('template/get', { name: 'qa-default', repoPath: SHOP })).toMatchObject({
        source: 'project',
        project: 'shop',
      });
      expect((await rpcError(client.request('template/get', { name: 'qa-default' }))).errorName).toBe(
        'TemplateNotFound',
      );
      expect(
        (await rpcError(client.request('template/save', { name: 'Bad Name', spec: { services: {} } }))).errorName,
      ).toBe('InvalidName');

      const name = sandboxName('tpl');
      const { sandbox } = await client.request('sandbox/create', { name, fromTemplate: tname });
      expect(sandbox).toMatchObject({ template: tname, ttl: { idle: '2h' } });
    } finally {
      await client.request('template/delete', { name: tname });
    }
    expect((await rpcError(client.request('template/delete', { name: tname }))).errorName).toBe('TemplateNotFound');
  });

  it('loads a project, and reports a broken one with file, line and field', async () => {
    const project = await client.request('project/load', { path: SHOP });
    expect(project).toMatchObject({
      name: 'shop',
      root: SHOP,
      routes: [
        { prefix: '/account/admin', service: 'account' },
        { prefix: '/account' },
        { prefix: '/payment' },
        { prefix: '/' },
      ],
    });
    const missing = await rpcError(client.request('project/load', { path: '/nonexistent/repo' }));
    expect(missing.errorName).toBe('FileNotFound');
    const broken = await rpcError(
      client.request('project/load', { path: resolve(__dirname, '../../fixtures/projects/broken') }),
    );
    expect(broken.errorName).toBe('ConfigInvalid');
    expect(broken.message).toBe('branchbox.yaml:7:11: services.web.port must be an integer (and 1 more)');
    expect((broken.data as { errors: unknown[] }).errors).toEqual([
      {
        file: resolve(__dirname, '../../fixtures/projects/broken/branchbox.yaml'),
        line: 7,
        column: 11,
        field: 'services.web.port',
        message: 'must be an integer',
      },
      {
        file: resolve(__dirname, '../../fixtures/projects/broken/branchbox.yaml'),
        line: 9,
        column: 17,
        field: 'services.web.health.interval',
        message: 'must be a duration such as 5s, 2m or 3d (units ms, s, m, h, d, w)',
      },
    ]);
  });
});

describe('audit trail', () => {
  it('lists the state-changing calls with client, user, target and outcome, newest first', async () => {
    const name = sandboxName('audit');
    await client.request('sandbox/create', { name });
    await rpcError(client.request('sandbox/create', { name }));
    await client.request('sandbox/delete', { name });

    const { entries } = await client.request('audit/list', { target: name });
    expect(entries.map((e) => [e.method, e.client, e.target, e.outcome.replace(/:.*/, '')])).toEqual([
      ['sandbox/delete', 'sandbox-test', `name=${name}`, 'ok'],
      ['sandbox/create', 'sandbox-test', `name=${name}`, 'error NameTaken'],
      ['sandbox/create', 'sandbox-test', `name=${name}`, 'ok'],
    ]);
    expect(entries[0]!.osUser).toBeTruthy();
    expect(new Date(entries[0]!.at).getTime()).toBeGreaterThanOrEqual(new Date(entries[2]!.at).getTime());
    expect((await client.request('audit/list', { method: 'sandbox/delete', target: name })).entries).toHaveLength(1);
    expect((await client.request('audit/list', { client: 'nobody' })).entries).toEqual([]);
    // Reads are not audited.
    expect((await client.request('audit/list', { method: 'sandbox/get' })).entries).toEqual([]);
  });
});
