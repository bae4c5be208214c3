/**
 * Deploy Current Branch end to end through the protocol: a real branchboxd (dist/, results
 * checked against their schemas), the real Docker engine, a fixture git repository made by
 * the test (test/helpers/fixture-repo.ts). Everything the daemon creates carries this run's
 * `branchbox.test` label (BRANCHBOX_EXTRA_LABELS); sandboxes have unique names and are
 * deleted after each test; images the daemon built carry the label too and go with the run's objects.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../schemas/src/client';
import type { Result, StreamItem } from '../../../schemas/src/index';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';

type Progress = StreamItem<'deploy/progress'>;
type Deployment = Result<'deploy/get'>;

const run = testRun('bbdep');
const suffix = run.runId.slice(-8);
const env = { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` };
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
/** Every text frame the daemon sent this client (replies and notifications), for the secret grep. */
const frames: string[] = [];
const sandboxes = new Set<{ client: TestClient; name: string }>();

beforeAll(async () => {
  repo = createFixtureRepo();
  daemon = await startTestDaemon({ env });
  client = await daemon.connect('deploy-test');
  client.ws.on('message', (data: Buffer) => frames.push(data.toString()));
});

afterEach(async () => {
  for (const s of sandboxes) {
    if (s.client.ws.readyState === s.client.ws.OPEN) await s.client.request('sandbox/delete', { name: s.name }).catch(() => undefined);
  }
  sandboxes.clear();
  await run.cleanup();
});

afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
  repo?.dispose();
});


/** Ends a test's own daemon: the one started again on its state when there is one (it owns the state directory then), else the first. */
async function disposeRestarted(first: TestDaemon, second: TestDaemon | undefined): Promise<void> {
  if (second) {
    await second.stop();
    await second.dispose();
  } else {
    await first.dispose();
  }
}

async function createSandbox(tag: string, c: TestClient = client): Promise<string> {
  const name = `d${suffix}-${tag}`;
  sandboxes.add({ client: c, name });
  await c.request('sandbox/create', { name });
  return name;
}

/** Follows one deployment: every progress item (replayed, then live) until it is final. */
async function follow(id: string, c: TestClient = client, onItem?: (item: Progress) => void): Promise<{ items: Progress[]; final: Deployment }> {
  const items: Progress[] = [];
  await new Promise<void>((resolve, reject) => {
    void c
      .subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', {
        onItems: (batch) => {
          items.push(...batch);
          for (const item of batch) onItem?.(item);
        },
        onEnd: (end) => (end.reason === 'completed' ? resolve() : reject(new Error(`progress ended: ${end.reason}`))),
      })
      .catch(reject);
  });
  return { items, final: await c.request('deploy/get', { id }) };
}

async function deploy(params: { sandbox: string; ref?: string; services?: string[]; includeUncommitted?: boolean }, c: TestClient = client) {
  const { deployments } = await c.request('deploy/start', { repoPath: repo.root, services: ['account'], ...params });
  return Promise.all(deployments.map((d) => follow(d.id, c)));
}

async function deployOne(params: Parameters<typeof deploy>[0], c: TestClient = client) {
  const [only] = await deploy(params, c);
  return only!;
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
};

const containersOf = async (deployment: string) =>
  docker.listContainers({ all: true, filters: JSON.stringify({ label: [`branchbox.deployment=${deployment}`] }) });

async function rpcError(promise: Promise<unknown>): Promise<ProtocolError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected an error answer');
}

describe('deploying a branch', () => {
  it('deploys feature/x: each service answers on its published 127.0.0.1 port, with stages and durations reported live', async () => {
    const sandbox = await createSandbox('fx');
    const followed = await deploy({ sandbox, ref: 'feature/x', services: ['account', 'payment'] });
    for (const { final, items } of followed) {
      expect(final).toMatchObject({ status: 'running', ref: 'feature/x', commit: repo.commitOf('feature/x'), containerName: `sandbox-${sandbox}_${final.service}` });
      expect(final.url).toBe(`http://127.0.0.1:${final.hostPort}`);
      expect(await get(final.url!)).toEqual({ status: 200, body: 'feature/x' });
      expect(items.filter((i) => i.kind === 'status').map((i) => i.status)).toEqual(['queued', 'preparing', 'building', 'starting', 'health-checking', 'running']);
      const ends = items.filter((i) => i.kind === 'stage' && i.phase === 'end');
      expect(ends.map((i) => [i.stage, i.outcome])).toEqual([
        ['prepare', 'ok'],
        ['build', 'ok'],
        ['start', 'ok'],
        ['health-check', 'ok'],
        ['switch-over', 'ok'],
      ]);
      for (const end of ends) expect(end.durationMs).toBeGreaterThanOrEqual(0);
      expect(new Set(items.filter((i) => i.kind === 'log').map((i) => i.source))).toEqual(new Set(['git', 'build', 'runtime', 'daemon']));
      const inspected = await docker.getContainer(final.containerId!).inspect();
      expect(inspected.Name).toBe(`/sandbox-${sandbox}_${final.service}`);
      expect(inspected.Config.Labels).toMatchObject({
        'branchbox.managed': 'true',
        'branchbox.sandbox': sandbox,
        'branchbox.service': final.service,
        'branchbox.deployment': final.id,
        'branchbox.commit': final.commit,
        [TEST_LABEL]: run.runId,
      });
      expect(inspected.HostConfig.PortBindings?.['8080/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(final.hostPort) }]);
      expect(inspected.HostConfig).toMatchObject({ NanoCpus: 500_000_000, Memory: 128 * 1024 * 1024, NetworkMode: `sandbox-${sandbox}` });
      // Siblings reach it by its service's name, and by the hostname of earlier versions.
      expect(inspected.NetworkSettings.Networks[`sandbox-${sandbox}`]?.Aliases).toEqual(
        expect.arrayContaining([final.service, `sandbox-${sandbox}-${final.service}`]),
      );
    }
    const { deployments } = await client.request('deploy/list', { sandbox });
    expect(deployments.map((d) => d.service).sort()).toEqual(['account', 'payment']);
    const sb = await client.request('sandbox/get', { name: sandbox });
    expect(JSON.stringify(sb)).toContain(followed[0]!.final.id);
  });

  it('keeps the previous container serving when the new one fails its health check, and says why in one line', async () => {
    const sandbox = await createSandbox('bh');
    const { final: good } = await deployOne({ sandbox, ref: 'main' });
    const { deployments } = await client.request('deploy/start', { repoPath: repo.root, sandbox, ref: 'broken-health', services: ['account'] });
    // While it is health-checked, the new container has its own name and none of the service's aliases: siblings do not reach it.
    let candidate: Promise<{ name: string; aliases: string[] }> | undefined;
    const { final: bad } = await follow(deployments[0]!.id, client, (item) => {
      if (item.kind !== 'status' || item.status !== 'health-checking') return;
      candidate ??= client
        .request('deploy/get', { id: item.deployment })
        .then((d) => docker.getContainer(d.containerId!).inspect())
        .then((i) => ({ name: i.Name, aliases: i.NetworkSettings.Networks[`sandbox-${sandbox}`]?.Aliases ?? [] }));
    });
    const checked = await candidate;
    expect(checked?.name).toBe(`/sandbox-${sandbox}_account_${bad.id.slice(0, 8)}`);
    expect(checked?.aliases).not.toContain('account');
    expect(checked?.aliases).not.toContain(`sandbox-${sandbox}-account`);
    expect(bad.status).toBe('failed');
    expect(bad.diagnosis).toMatch(/^health-check failed: GET \/healthz answered 500: unhealthy on purpose — still failing after \d+ probes over [\d.]+ s$/);
    expect(bad.diagnosis).not.toContain('\n');
    expect(await get(good.url!)).toEqual({ status: 200, body: 'main' });
    expect((await client.request('deploy/get', { id: good.id })).status).toBe('running');
    expect(await containersOf(bad.id)).toEqual([]);
    const serving = await docker.getContainer(`sandbox-${sandbox}_account`).inspect();
    expect(serving.Config.Labels['branchbox.deployment']).toBe(good.id);
    const { lines } = await client.request('deploy/logs', { id: bad.id });
    expect(lines.map((l) => l.line)).toEqual(expect.arrayContaining(['account broken-health listening on 8080', bad.diagnosis]));
  });

  it('fails a broken build naming the failing step of the Dockerfile and what it said', async () => {
    const sandbox = await createSandbox('bb');
    const { final } = await deployOne({ sandbox, ref: 'broken-build' });
    expect(final.status).toBe('failed');
    // Step 3 of the fixture's Dockerfile (FROM, COPY, RUN): the LABEL Branchbox adds after FROM is not counted.
    expect(final.diagnosis).toBe('build failed: about to fail (Dockerfile step 3: RUN echo "about to fail" && false)');
    expect(final.stages.map((s) => [s.stage, s.outcome])).toEqual([
      ['prepare', 'ok'],
      ['build', 'failed'],
    ]);
  });

  it('cancels a deployment mid-build: the build stops and nothing is left behind', async () => {
    const sandbox = await createSandbox('cx');
    const { deployments } = await client.request('deploy/start', { repoPath: repo.root, sandbox, ref: 'slow-build', services: ['account'] });
    const id = deployments[0]!.id;
    let cancelled: Promise<Result<'deploy/cancel'>> | undefined;
    const { final } = await follow(id, client, (item) => {
      if (!cancelled && item.kind === 'log' && item.source === 'build' && item.line === `slow build ${repo.nonce} waiting`) {
        cancelled = client.request('deploy/cancel', { id });
      }
    });
    expect(await cancelled).toEqual({ status: 'cancelled' });
    expect(final).toMatchObject({ status: 'cancelled', diagnosis: 'build cancelled: by request' });
    expect(final.stages.at(-1)).toMatchObject({ stage: 'build', outcome: 'cancelled' });
    expect(await containersOf(id)).toEqual([]);
    // The engine stopped the build: no container still runs the sleeping RUN step.
    const all = await docker.listContainers({ all: true });
    expect(all.filter((c) => c.Command.includes(repo.nonce))).toEqual([]);
  });

  it('redeploys the same commit without rebuilding', async () => {
    const sandbox = await createSandbox('re');
    const { final: first } = await deployOne({ sandbox, ref: 'main' });
    const { final: second, items } = await deployOne({ sandbox, ref: 'main' });
    expect(second).toMatchObject({ status: 'running', buildReused: true, image: first.image });
    const build = items.find((i) => i.kind === 'stage' && i.stage === 'build' && i.phase === 'end')!;
    expect(build.outcome).toBe('reused');
    expect(build.durationMs).toBeLessThan(1000);
    expect(items.some((i) => i.source === 'build')).toBe(false);
    expect((await client.request('deploy/get', { id: first.id })).status).toBe('superseded');
    // Following a finished deployment replays what it recorded and completes.
    const replayed = await follow(first.id);
    expect(replayed.items.filter((i) => i.kind === 'stage' && i.phase === 'end').map((i) => i.stage)).toEqual(['prepare', 'build', 'start', 'health-check', 'switch-over']);
    expect(replayed.items.at(-1)).toMatchObject({ kind: 'status', status: 'superseded' });
    expect(await containersOf(first.id)).toEqual([]);
    expect(await get(second.url!)).toEqual({ status: 200, body: 'main' });
  });

  it('deploys uncommitted changes and leaves the working tree and index exactly as they were', async () => {
    const sandbox = await createSandbox('wip');
    const file = join(repo.root, 'services/account/server.js');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('res.end("main")', 'res.end("main with local changes")'));
    repo.write('services/account/scratch.txt', 'untracked\n');
    const index = join(repo.root, '.git/index');
    const indexHash = () => createHash('sha256').update(readFileSync(index)).digest('hex');
    try {
      const status = repo.git('status', '--porcelain');
      const hash = indexHash();
      const { final } = await deployOne({ sandbox, includeUncommitted: true });
      expect(final).toMatchObject({ status: 'running', ref: 'main', includeUncommitted: true });
      expect(final.image).toMatch(new RegExp(`^branchbox/shop-account:${repo.commitOf('main').slice(0, 12)}-[0-9a-f]{12}$`));
      expect(await get(final.url!)).toEqual({ status: 200, body: 'main with local changes' });
      expect(repo.git('status', '--porcelain')).toBe(status);
      expect(indexHash()).toBe(hash);
      expect(readFileSync(file, 'utf8')).toContain('main with local changes');
    } finally {
      writeFileSync(file, original);
      repo.git('clean', '-fq', '--', 'services/account/scratch.txt');
    }
  });
});

describe('build kinds', () => {
  it('builds with a host command and runs the runtime image with the built source mounted read-only at /src', async () => {
    const sandbox = await createSandbox('cmd');
    const app = `require('http').createServer((q, s) => s.end(q.url === '/healthz' ? 'ok' : 'built on the host')).listen(8080);`;
    repo.git('checkout', '--quiet', '-b', 'host-build', 'main');
    try {
      repo.write('services/tool/build.js', `require('fs').writeFileSync('app.js', ${JSON.stringify(app)}); console.log('generated app.js');\n`);
      repo.write(
        'branchbox.yaml',
        readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8').replace(
          'services:\n',
          'services:\n  tool:\n    context: services/tool\n    build: { command: "node build.js", runtime: branchbox/node:20, cmd: ["node", "/src/app.js"] }\n' +
            '    port: 8080\n    health: { path: /healthz, interval: 500ms }\n',
        ),
      );
      repo.commitAll('tool: built on the host');
    } finally {
      repo.checkout('main');
    }
    // A host command runs only once trusted for the repository (see reliability/host-command.test.ts).
    await client.request('trust/grant', { repoPath: repo.root, context: 'services/tool', command: ['node', 'build.js'] });
    const { final, items } = await deployOne({ sandbox, ref: 'host-build', services: ['tool'] });
    expect(final).toMatchObject({ status: 'running', image: 'branchbox/node:20' });
    expect(items.some((i) => i.source === 'build' && i.line === 'generated app.js')).toBe(true);
    expect(await get(final.url!)).toEqual({ status: 200, body: 'built on the host' });
    const mounts = (await docker.getContainer(final.containerId!).inspect()).Mounts;
    expect(mounts).toEqual([expect.objectContaining({ Type: 'bind', Destination: '/src', RW: false })]);
    expect(existsSync(join(mounts[0]!.Source, 'app.js'))).toBe(true);
  });

  it('says an existing image is missing', async () => {
    const sandbox = await createSandbox('img');
    repo.git('checkout', '--quiet', '-b', 'missing-image', 'main');
    try {
      repo.write(
        'branchbox.yaml',
        readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8').replace('services:\n', 'services:\n  legacy:\n    build: { image: "local/never-built:1" }\n    port: 80\n'),
      );
      repo.commitAll('legacy: an image nobody built');
    } finally {
      repo.checkout('main');
    }
    // The service exists only on that branch: its own branchbox.yaml is the one deployed.
    const { final } = await deployOne({ sandbox, ref: 'missing-image', services: ['legacy'] });
    expect(final.diagnosis).toBe('build failed: image local/never-built:1 is missing on the Docker engine (ImageNotFound): build it or load it with image/load — Branchbox never pulls');
    // Not a service of the checked-out branch: refused at once; of another branch: its prepare fails.
    const e = await rpcError(client.request('deploy/start', { repoPath: repo.root, sandbox, services: ['legacy'] }));
    expect(e.errorName).toBe('InvalidParams');
    const { final: other } = await deployOne({ sandbox, ref: 'feature/x', services: ['legacy'] });
    expect(other.diagnosis).toBe(`prepare failed: service "legacy" is not defined in branchbox.yaml at ${repo.commitOf('feature/x').slice(0, 12)} (services: account, payment)`);
  });
});

describe('secrets', () => {
  it('reach the container but never a reply, a progress item, a stored log line or the daemon log', async () => {
    const sandbox = await createSandbox('sec');
    const secret = `tok-${run.runId}-${Math.random().toString(36).slice(2)}`;
    await client.request('env/set', { sandbox, key: 'API_TOKEN', value: secret, secret: true });
    await client.request('env/set', { sandbox, key: 'ECHO_ENV', value: 'API_TOKEN' });
    const { final, items } = await deployOne({ sandbox, ref: 'main' });
    expect(final.status).toBe('running');
    expect(await get(`${final.url}/env/API_TOKEN`)).toEqual({ status: 200, body: secret });
    const { lines } = await client.request('deploy/logs', { id: final.id });
    expect(lines.map((l) => l.line)).toContain('API_TOKEN=***');
    expect(items.some((i) => i.line === 'API_TOKEN=***')).toBe(true);
    const list = await client.request('deploy/list', {});
    const everything = [...frames, JSON.stringify(list), JSON.stringify(lines), readFileSync(join(daemon.stateDir, 'branchboxd.log'), 'utf8')];
    for (const text of everything) expect(text).not.toContain(secret);
    // Nor the deployment log rows in the state file (secrets there are encrypted).
    for (const f of ['state.db', 'state.db-wal']) {
      const path = join(daemon.stateDir, f);
      if (existsSync(path)) expect(readFileSync(path).includes(Buffer.from(secret))).toBe(false);
    }
  });
});

describe('unsafe refs', () => {
  it('are rejected, or handled as plain names, with no side effect', async () => {
    const sandbox = await createSandbox('ref');
    const marker = `/tmp/pwned-${run.runId}`;
    for (const ref of [`feature/$(touch ${marker})`, '; rm -rf /', `--upload-pack=touch ${marker}`, `x\`touch ${marker}\``]) {
      const e = await rpcError(client.request('deploy/start', { repoPath: repo.root, sandbox, ref, services: ['account'] }));
      expect(e.errorName).toBe('InvalidName');
    }
    // Valid as a git branch name (no space): accepted, and fails as an unknown branch.
    const { final } = await deployOne({ sandbox, ref: `x$(touch${'${IFS}'}${marker})` });
    expect(final.status).toBe('failed');
    expect(final.diagnosis).toMatch(/^prepare failed: No branch "x\$\(touch\$\{IFS\}.*\)" in /);
    expect(existsSync(marker)).toBe(false);
    expect(repo.git('status', '--porcelain')).toBe('');
  });
});

describe('a daemon stopped mid-deploy', () => {
  it('cancels what runs at shutdown and cleans up', async () => {
    const first = await startTestDaemon({ env });
    let second: TestDaemon | undefined;
    try {
      const c1 = await first.connect('deploy-stop-1');
      const sandbox = await createSandbox('stop', c1);
      const { deployments } = await c1.request('deploy/start', { repoPath: repo.root, sandbox, ref: 'slow-build', services: ['account'] });
      const id = deployments[0]!.id;
      await new Promise<void>((resolve, reject) => {
        void c1
          .subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', {
            onItems: (items) => {
              if (items.some((i) => i.line === `slow build ${repo.nonce} waiting`)) resolve();
            },
          })
          .catch(reject);
      });
      expect(await first.stop()).toBe(0);
      second = await startTestDaemon({ stateDir: first.stateDir, env });
      const c2 = await second.connect('deploy-stop-2');
      sandboxes.add({ client: c2, name: sandbox });
      expect(await c2.request('deploy/get', { id })).toMatchObject({ status: 'cancelled', diagnosis: 'build cancelled: the daemon is shutting down' });
      expect((await docker.listContainers({ all: true })).filter((c) => c.Command.includes(repo.nonce))).toEqual([]);
      await c2.request('sandbox/delete', { name: sandbox });
      await c2.closeSocket();
    } finally {
      await disposeRestarted(first, second);
    }
  });
});

describe('a daemon killed mid-deploy', () => {
  it('finds every deployment final and no orphaned container when started again on the same state', async () => {
    const first = await startTestDaemon({ env });
    let second: TestDaemon | undefined;
    try {
      const c1 = await first.connect('deploy-kill-1');
      const sandbox = await createSandbox('kill', c1);
      const { final: serving } = await deployOne({ sandbox, ref: 'main' }, c1);
      const { deployments } = await c1.request('deploy/start', { repoPath: repo.root, sandbox, ref: 'slow-build', services: ['account'] });
      const { deployments: more } = await c1.request('deploy/start', { repoPath: repo.root, sandbox, ref: 'broken-health', services: ['payment'] });
      const building = deployments[0]!.id;
      const checking = more[0]!.id;
      // Kill once account is inside its build and payment's new container is being health-checked.
      await new Promise<void>((resolve, reject) => {
        const seen = new Set<string>();
        void c1
          .subscribe('deploy/subscribe', { sandbox }, 'deploy/progress', {
            onItems: (items) => {
              for (const i of items) {
                if (i.deployment === building && i.line === `slow build ${repo.nonce} waiting`) seen.add('build');
                if (i.deployment === checking && i.kind === 'stage' && i.stage === 'health-check' && i.phase === 'begin') seen.add('health');
              }
              if (seen.size === 2) resolve();
            },
          })
          .catch(reject);
      });
      expect((await containersOf(checking)).length).toBe(1);
      first.process.kill('SIGKILL');
      await first.exited;

      second = await startTestDaemon({ stateDir: first.stateDir, env });
      const c2 = await second.connect('deploy-kill-2');
      sandboxes.add({ client: c2, name: sandbox });
      const { deployments: all } = await c2.request('deploy/list', { sandbox });
      expect(all).toHaveLength(3);
      for (const d of all) expect(['running', 'failed', 'cancelled', 'stopped', 'superseded']).toContain(d.status);
      expect(all.find((d) => d.id === building)).toMatchObject({ status: 'failed', diagnosis: 'interrupted: the daemon stopped during build' });
      expect(all.find((d) => d.id === checking)).toMatchObject({ status: 'failed', diagnosis: 'interrupted: the daemon stopped during health-check' });
      expect(await containersOf(building)).toEqual([]);
      expect(await containersOf(checking)).toEqual([]);
      expect((await docker.listContainers({ all: true })).filter((c) => c.Command.includes(repo.nonce))).toEqual([]);
      expect(await get(serving.url!)).toEqual({ status: 200, body: 'main' });
      const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`branchbox.sandbox=${sandbox}`] }) });
      expect(left.map((c) => c.Names[0])).toEqual([`/sandbox-${sandbox}_account`]);
      await c2.request('sandbox/delete', { name: sandbox });
      await c2.closeSocket();
    } finally {
      await disposeRestarted(first, second);
    }
  });
});
