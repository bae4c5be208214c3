/**
 * Secret grep: a real daemon holds secrets at sandbox and service level — one under an
 * innocent key (DATABASE_URL), one the service prints in two writes, one of another sandbox
 * that this sandbox's container is given (through exec input) and prints — and deploys a service that
 * prints its environment and the secrets on stdout and stderr (and answers its health check
 * with one). Then every method of the protocol that can answer container- or sandbox-derived
 * data is called (the table below goes through schemas/src/index.ts's method table: a method
 * added to the protocol does not compile here until it is placed), execs cat the secrets, and
 * everything the daemon said or wrote is collected: every answer and notification (exec
 * output decoded), the deployment logs, the audit rows, the daemon log and every file of the
 * state directory, state.db's raw bytes included. No secret value may appear anywhere (the
 * daemon's token only in runtime.json). The daemon runs under umask 0 in a 0777 state
 * directory: its files must still be 0600.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods, type MethodName, type StreamItem } from '../../../schemas/src/index';
import { connectClient, portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { Collector } from '../docker-streams/collect';

const run = testRun('bbgrep');
const suffix = run.runId.slice(-8);
const A = `g${suffix}a`;
const B = `g${suffix}b`;
const CLONE = `g${suffix}c`;
const RESTORED = `g${suffix}d`;

const SECRETS = {
  API_TOKEN: `tok-${suffix}-Zq9-api-token`,
  DATABASE_URL: `postgres://app:pw-${suffix}-Zq9@db:5432/app`,
  SERVICE_SECRET: `svc-${suffix}-Zq9-service-level`,
  SPLIT_SECRET: `split-${suffix}-Zq9-in-two-writes`,
  B_SECRET: `peer-${suffix}-Zq9-of-sandbox-b`,
};

/** The service: prints its environment and the secrets at start and on /dump; its health answer quotes one. */
const SERVER = `
const http = require('node:http');
const names = ['API_TOKEN', 'DATABASE_URL', 'SERVICE_SECRET', 'SPLIT_SECRET'];
function dump(tag) {
  for (const [k, v] of Object.entries(process.env)) console.log(tag + ' env ' + k + '=' + v);
  for (const k of names) console.error(tag + ' stderr ' + k + '=' + process.env[k]);
  try { console.log(tag + ' peer ' + require('node:fs').readFileSync('/tmp/peer', 'utf8')); } catch {}
  const split = process.env.SPLIT_SECRET || '';
  process.stdout.write(tag + ' split ' + split.slice(0, 7));
  setTimeout(() => {
    process.stdout.write(split.slice(7) + ' end\\n');
    // The engine stores 16 KiB per entry: this line's entry ends inside the token.
    const head = tag + ' long ';
    console.log(head + 'x'.repeat(16380 - head.length) + process.env.API_TOKEN + ' tail');
    console.log(tag + ' dumped');
  }, 300);
}
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') { res.writeHead(200); return res.end('ok ' + process.env.API_TOKEN); }
  if (req.url === '/dump') { dump('request'); res.writeHead(200); return res.end('dumped'); }
  res.writeHead(200); res.end('hello ' + process.env.DATABASE_URL);
});
server.listen(8080, () => { console.log('listening'); dump('start'); });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let repo: FixtureRepo;
let stateDir: string;
let daemon: TestDaemon;
let client: TestClient;
let watcher: TestClient;
let token: string;
/** Every text frame the daemon sent to any client. */
const frames: string[] = [];
/** Every exec output, decoded, per session. */
const execOutput = new Map<string, Buffer[]>();
const called = new Set<string>();
let containerId: string;
let bystander: string;

/** Connects a client that records every frame it gets and every method it calls. */
async function recordingClient(name: string): Promise<TestClient> {
  const c = await connectClient(daemon.url, daemon.runtime.token, name, false);
  c.ws.on('message', (data: Buffer) => frames.push(data.toString()));
  const send = c.ws.send.bind(c.ws);
  c.ws.send = ((data: string, ...rest: unknown[]) => {
    for (const m of [JSON.parse(data)].flat() as { method?: string }[]) if (m.method) called.add(m.method);
    return (send as (...args: unknown[]) => void)(data, ...rest);
  }) as typeof c.ws.send;
  await c.request('initialize', { clientInfo: { name } });
  return c;
}

/** Forwards answer nothing a sandbox's secrets could be in. */
const FORWARD_NA =
  "not applicable: answers project, service and sandbox names, container ids, ports and connection counts; nothing read from a container's environment or output";

const WATCH_NA =
  "not applicable: answers sandbox and service names, the watch rules, file paths of the working tree and the syncs' outcomes; nothing read from a container's environment or output";

/**
 * Where each method of the protocol is exercised, or why it cannot answer container- or
 * sandbox-derived data. 'called' is checked against the requests actually sent.
 */
const COVERAGE: { [M in MethodName]: 'called' | string } = {
  initialize: 'called',
  shutdown: 'called',
  'rpc.discover': 'called',
  'system/info': 'called',
  'log/subscribe': 'called',
  'subscription/cancel': 'called',
  'container/list': 'called',
  'container/inspect': 'called',
  'container/start': 'called',
  'container/stop': 'called',
  'container/restart': 'called',
  'container/remove': 'called',
  'image/list': 'called',
  'image/remove': 'not applicable: answers image ids and tags removed, nothing read from a container or a sandbox',
  'image/prune': 'called',
  'image/load': 'not applicable: answers the tags of images in a tarball the client gives, nothing of a sandbox',
  'network/list': 'called',
  'volume/list': 'called',
  'events/subscribe': 'called',
  'container/logs': 'called',
  'container/stats': 'called',
  'stats/history': 'called',
  'container/exec': 'called',
  'exec/input': 'called',
  'exec/resize': 'called',
  'exec/close': 'called',
  'route/list': 'called',
  'route/set': 'called',
  'route/explain': 'called',
  'gateway/info': 'called',
  'project/load': 'called',
  'sandbox/list': 'called',
  'sandbox/get': 'called',
  'sandbox/create': 'called',
  'sandbox/update': 'called',
  'sandbox/delete': 'called',
  'sandbox/volumes': 'names of Docker volumes only, no values',
  'sandbox/clone': 'called',
  'sandbox/snapshot': 'called',
  'sandbox/restore': 'called',
  'sandbox/subscribe': 'called',
  'snapshot/list': 'called',
  'snapshot/delete': 'called',
  'env/list': 'called',
  'env/get': 'called',
  'env/set': 'called',
  'env/delete': 'called',
  'template/list': 'called',
  'template/get': 'called',
  'template/save': 'called',
  'template/delete': 'called',
  'audit/list': 'called',
  'deploy/start': 'called',
  'deploy/get': 'called',
  'deploy/list': 'called',
  'deploy/logs': 'called',
  'deploy/cancel': 'called',
  'deploy/subscribe': 'called',
  'sandbox/suspend': 'called',
  'sandbox/resume': 'called',
  'sandbox/watchHealth': 'called',
  'sandbox/uptime': 'called',
  'sandbox/extend': 'called',
  'sandbox/watchExpiry': 'called',
  'trust/list': 'called',
  'trust/grant': 'called',
  'trust/revoke': 'called',
  'image/reclaim': 'called',
  'forward/list': FORWARD_NA,
  'forward/add': FORWARD_NA,
  'forward/remove': FORWARD_NA,
  'forward/use': FORWARD_NA,
  'forward/subscribe': FORWARD_NA,
  'watch/start': WATCH_NA,
  'watch/stop': WATCH_NA,
  'watch/list': WATCH_NA,
  'watch/subscribe': WATCH_NA,
  'sandbox/follow':
    "not applicable: answers the sandbox as sandbox/get does (called) plus follow's times, branches, commits, deployment ids and a deployment's diagnosis, which deploy/get answers (called)",
  'follow/check': 'not applicable: answers sandbox and service names, branches, commits and deployment ids',
};


/** Reads a container's whole log through the protocol. */
async function readLogs(id: string, options: { timestamps?: boolean; tail?: number } = {}): Promise<string[]> {
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    void client
      .subscribe('container/logs', { id, ...options }, 'container/logs/data', {
        onItems: (items) => lines.push(...items.map((i) => i.line)),
        onEnd: (end) => (end.reason === 'completed' ? resolve() : reject(new Error(`logs ended: ${end.reason}`))),
      })
      .catch(reject);
  });
  return lines;
}

/** Runs a command through container/exec and answers its output (decoded) once it exited. */
async function execOnce(id: string, cmd: string[], tty = false, input?: string): Promise<string> {
  const chunks: Buffer[] = [];
  let session = '';
  const exited = new Promise<void>((resolve) => {
    const off = client.onNotification((method, params) => {
      if (method === 'exec/exit' && (params as { session: string }).session === session) {
        off();
        resolve();
      }
    });
  });
  const opened = await client.subscribe('container/exec', { id, cmd, tty }, 'exec/output', {
    onItems: (items: StreamItem<'exec/output'>[]) => chunks.push(...items.map((i) => Buffer.from(i.data, 'base64'))),
  });
  session = opened.result.session;
  execOutput.set(session, chunks);
  if (input !== undefined) await client.request('exec/input', { session, data: Buffer.from(input).toString('base64'), eof: true });
  await exited;
  return Buffer.concat(chunks).toString('utf8');
}

async function follow(deployment: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    void client
      .subscribe('deploy/subscribe', { deployment }, 'deploy/progress', {
        onItems: () => undefined,
        onEnd: (end) => (end.reason === 'completed' ? resolve() : reject(new Error(`progress ended: ${end.reason}`))),
      })
      .catch(reject);
  });
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return filesUnder(path);
    return e.isFile() ? [path] : [];
  });
}

beforeAll(async () => {
  repo = createFixtureRepo({ project: `grep${suffix}` });
  repo.write('services/account/server.js', SERVER);
  repo.commitAll('account prints its secrets');
  stateDir = mkdtempSync(join(tmpdir(), 'bb-grep-'));
  chmodSync(stateDir, 0o777);
  daemon = await startTestDaemon({
    stateDir,
    umask: 0,
    env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...portWindows() },
  });
  token = daemon.runtime.token;
  client = await recordingClient('secret-grep');
  watcher = await recordingClient('secret-grep-watcher');
  // A container of no sandbox that holds a secret too: every secret applies to every container.
  const box = await run.createContainer({
    Cmd: ['sh', '-c', 'echo "bystander $X"; sleep 3600'],
    Env: [`X=${SECRETS.API_TOKEN}`],
    Tty: true,
  });
  bystander = box.id;
}, 120_000);

afterAll(async () => {
  await client?.closeSocket().catch(() => undefined);
  await watcher?.closeSocket().catch(() => undefined);
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
  repo?.dispose();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('secret grep', () => {
  it('sets the secrets and deploys a service that prints them', async () => {
    await watcher.subscribe('log/subscribe', { level: 'debug' }, 'log/message', { onItems: () => undefined });
    await watcher.subscribe('events/subscribe', {}, 'events/event', { onItems: () => undefined });
    await watcher.subscribe('sandbox/subscribe', {}, 'sandbox/event', { onItems: () => undefined });
    await watcher.subscribe('deploy/subscribe', {}, 'deploy/progress', { onItems: () => undefined });
    await watcher.subscribe('sandbox/watchHealth', {}, 'sandbox/health', { onItems: () => undefined });
    await watcher.subscribe('sandbox/watchExpiry', {}, 'sandbox/expiry', { onItems: () => undefined });

    await client.request('sandbox/create', { name: A, repoPath: repo.root, ttl: { idle: '1d' } });
    await client.request('sandbox/create', { name: B, repoPath: repo.root });
    await client.request('env/set', { sandbox: A, key: 'API_TOKEN', value: SECRETS.API_TOKEN, secret: true });
    await client.request('env/set', { sandbox: A, key: 'DATABASE_URL', value: SECRETS.DATABASE_URL, secret: true });
    await client.request('env/set', { sandbox: A, service: 'account', key: 'SERVICE_SECRET', value: SECRETS.SERVICE_SECRET, secret: true });
    await client.request('env/set', { sandbox: A, key: 'SPLIT_SECRET', value: SECRETS.SPLIT_SECRET, secret: true });
    await client.request('env/set', { sandbox: B, key: 'B_SECRET', value: SECRETS.B_SECRET, secret: true });
    const short = await client.request('env/set', { sandbox: A, key: 'SHORT_FLAG', value: 'abc', secret: true });
    expect.soft(short.warning).toMatch(/shorter than 6 characters/);

    const { deployments } = await client.request('deploy/start', { repoPath: repo.root, sandbox: A, services: ['account'] });
    await follow(deployments[0]!.id);
    const deployed = await client.request('deploy/get', { id: deployments[0]!.id });
    expect(deployed.status).toBe('running');
    containerId = deployed.containerId!;
    // Its start dump is complete (the split secret's second write comes 300 ms after the first).
    const started = new Collector<string>();
    const sub = await client.subscribe('container/logs', { id: containerId, follow: true }, 'container/logs/data', {
      onItems: (items) => items.forEach((i) => started.add(i.line)),
    });
    await started.until((lines) => lines.includes('start dumped'), 'the start dump', 30_000);
    await sub.cancel();

    // The daemon's files while it runs: private despite umask 0 and a 0777 directory.
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm', 'secret.key', 'runtime.json', 'branchboxd.log']) {
      const path = join(stateDir, f);
      expect.soft([f, existsSync(path) && (statSync(path).mode & 0o777).toString(8)]).toEqual([f, '600']);
    }
  });

  it('reads the container through every method that shows one', async () => {
    const lines = await readLogs(containerId);
    // Soft: on failure the test goes on, so that the grep below shows everything that leaked.
    expect.soft(lines).toContain('start split *** end');
    expect.soft(lines).toContain(`start env DATABASE_URL=***`);
    expect.soft(lines.some((l) => /^start long x+\*\*\* tail$/.test(l))).toBe(true);
    await readLogs(containerId, { timestamps: true });
    await readLogs(bystander, { timestamps: true });
    expect.soft(await readLogs(bystander)).toEqual(['bystander ***']);

    // A followed log while the service dumps again on request.
    const followed = new Collector<string>();
    const sub = await client.subscribe('container/logs', { id: containerId, follow: true, tail: 0, timestamps: true }, 'container/logs/data', {
      onItems: (items) => items.forEach((i) => followed.add(i.line)),
    });
    const sandbox = await client.request('sandbox/get', { name: A });
    const url = sandbox.services.find((s) => s.service === 'account')?.url;
    expect(url).toBeDefined();
    // B's secret reaches A's container (written to a file through exec input): masked all the same.
    await execOnce(containerId, ['sh', '-c', 'cat > /tmp/peer'], false, SECRETS.B_SECRET);
    expect(await (await fetch(`${url}/dump`)).text()).toBe('dumped');
    await followed.until((l) => l.includes('request dumped'), 'the requested dump');
    expect.soft(followed.items).toContain('request peer ***');
    await sub.cancel();

    const inspected = await client.request('container/inspect', { id: containerId });
    expect.soft(inspected.env).toEqual(expect.arrayContaining(['DATABASE_URL=***', 'SPLIT_SECRET=***', 'API_TOKEN=***']));
    await client.request('container/inspect', { id: bystander });
    await client.request('container/list', { all: true });

    // Stats: a sample, then the history.
    const samples = new Collector<unknown>();
    const stats = await client.subscribe('container/stats', { id: containerId }, 'container/stats/data', { onItems: (items) => items.forEach((i) => samples.add(i)) });
    await samples.until((s) => s.length > 0, 'a stats sample', 30_000);
    await stats.cancel();
    await client.request('stats/history', { id: containerId });
    await client.request('stats/history', { sandbox: A });

    // Exec: the secrets cat'ed, one written in two pieces with a pause.
    // (stderr in a call of its own: the two streams are not ordered with respect to each other)
    const out = await execOnce(containerId, ['sh', '-c', 'env; printf "%s" "$SPLIT_SECRET" | head -c 7; sleep 0.3; printf "%s" "$SPLIT_SECRET" | tail -c +8; echo " end"']);
    expect.soft(out).toContain('*** end');
    expect.soft(out).toContain('DATABASE_URL=***');
    expect.soft(await execOnce(containerId, ['sh', '-c', 'echo "$DATABASE_URL" >&2'])).toBe('***\n');
    // An interactive shell: typed input (a secret included) echoed back, and printed.
    const ttyOutput = new Collector<Buffer>();
    const tty = await client.subscribe('container/exec', { id: containerId, cmd: ['sh'], tty: true, cols: 200, rows: 50 }, 'exec/output', {
      onItems: (items) => items.forEach((i) => ttyOutput.add(Buffer.from(i.data, 'base64'))),
    });
    execOutput.set(tty.result.session, ttyOutput.items);
    const session = tty.result.session;
    await client.request('exec/resize', { session, cols: 180, rows: 40 });
    const typed = `echo typed ${SECRETS.B_SECRET} "$API_TOKEN" "$SERVICE_SECRET" "$(cat /tmp/peer)"\n`;
    await client.request('exec/input', { session, data: Buffer.from(typed).toString('base64') });
    await ttyOutput.until((chunks) => /^typed .*\r$/m.test(Buffer.concat(chunks).toString()), 'the echoed line');
    expect.soft(Buffer.concat(ttyOutput.items).toString()).toMatch(/^typed \*\*\* \*\*\* \*\*\* \*\*\*\r$/m);
    await client.request('exec/close', { session });
  });

  it('answers about the sandboxes through every other method', async () => {
    await client.request('sandbox/list');
    await client.request('sandbox/update', { name: A, ttl: { idle: '2d' } });
    await client.request('sandbox/extend', { name: A, by: '1h' });
    await client.request('sandbox/uptime', { name: A });
    await client.request('env/list', { sandbox: A });
    await client.request('env/list', { sandbox: A, service: 'account' });
    await client.request('env/get', { sandbox: A, key: 'DATABASE_URL' });
    await client.request('env/get', { sandbox: A, key: 'PEER_VALUE' });
    await client.request('route/list', { sandbox: A });
    await client.request('route/set', { sandbox: A, service: 'payment', kind: 'url', url: 'http://127.0.0.1:9/x' });
    await client.request('route/explain', { sandbox: A, path: '/account/x' });
    await client.request('route/explain', { path: '/account', headers: { 'X-Branchbox-Sandbox': A } });
    await client.request('gateway/info', { sandbox: A });
    await client.request('gateway/info', {});
    await client.request('project/load', { path: repo.root });
    await client.request('template/list', { repoPath: repo.root });
    await client.request('template/get', { name: 'qa-default', repoPath: repo.root });
    await client.request('template/save', { name: `t${suffix}`, spec: { services: { account: { branch: 'main' } }, env: { MODE: 'grep' } } });
    await client.request('template/delete', { name: `t${suffix}` });
    const trusted = await client.request('trust/grant', { repoPath: repo.root, context: '.', command: ['node', 'build.js'] });
    await client.request('trust/list', { repoPath: repo.root });
    await client.request('trust/revoke', { id: trusted.id });

    const snapshot = `s${suffix}`;
    await client.request('sandbox/snapshot', { name: A, snapshot });
    await client.request('snapshot/list', {});
    const cloned = await client.request('sandbox/clone', { name: A, newName: CLONE, wait: true });
    expect(cloned.deployments.map((d) => d.status)).toEqual(['running']);
    const restored = await client.request('sandbox/restore', { snapshot, into: RESTORED, wait: true });
    expect(restored.deployments.map((d) => d.status)).toEqual(['running']);
    await client.request('snapshot/delete', { name: snapshot });

    const { deployments } = await client.request('deploy/list', {});
    for (const d of deployments) {
      await client.request('deploy/get', { id: d.id });
      await client.request('deploy/logs', { id: d.id });
    }
    await client.request('deploy/cancel', { id: deployments[0]!.id });

    await client.request('sandbox/suspend', { name: A });
    const resumed = await client.request('sandbox/resume', { name: A });
    expect(resumed.services.map((s) => s.healthy)).toEqual([true]);
    await client.request('sandbox/get', { name: A });

    await client.request('container/restart', { id: bystander, timeout: 1 });
    await client.request('container/stop', { id: bystander, timeout: 1 });
    await client.request('container/start', { id: bystander });
    await readLogs(bystander);
    await client.request('container/remove', { id: bystander, force: true });
    await client.request('image/list', {});
    await client.request('image/prune', { label: [`${TEST_LABEL}=${run.runId}-none`] });
    await client.request('image/reclaim', { dryRun: true });
    await client.request('network/list', {});
    await client.request('volume/list', {});
    await client.request('system/info');
    await client.request('rpc.discover');
    await client.request('env/delete', { sandbox: A, key: 'SHORT_FLAG' });
    for (const name of [CLONE, RESTORED]) await client.request('sandbox/delete', { name });
    await client.request('audit/list', { limit: 10_000 });
    const audit = await client.request('audit/list', { method: 'env/set' });
    expect.soft(audit.entries.map((e) => e.detail)).toContainEqual({ scope: 'sandbox', key: 'DATABASE_URL', kind: 'secret' });
  });

  it('stops cleanly when asked', async () => {
    const subs = await watcher.subscribe('sandbox/subscribe', {}, 'sandbox/event', { onItems: () => undefined });
    await watcher.request('subscription/cancel', { subscription: subs.id });
    for (const name of [A, B]) await client.request('sandbox/delete', { name });
    await client.request('shutdown');
    expect(await daemon.exited).toBe(0);
  });

  it('placed every method of the protocol, and called every one it says it called', () => {
    expect(Object.keys(COVERAGE).sort()).toEqual(Object.keys(methods).sort());
    const expected = Object.entries(COVERAGE).filter(([, how]) => how === 'called').map(([m]) => m);
    expect(expected.filter((m) => !called.has(m))).toEqual([]);
  });

  it('finds no secret value in anything the daemon said or wrote', async () => {
    const values = Object.entries(SECRETS).map(([name, value]) => ({ name, value }));
    const corpus: { where: string; text: Buffer }[] = [
      ...frames.map((f, i) => ({ where: `frame ${i}`, text: Buffer.from(f) })),
      ...[...execOutput.entries()].map(([session, chunks]) => ({ where: `exec ${session}`, text: Buffer.concat(chunks) })),
    ];
    for (const file of filesUnder(stateDir)) {
      if (relative(stateDir, file) === 'secret.key') continue;
      corpus.push({ where: relative(stateDir, file), text: readFileSync(file) });
    }
    // state.db in particular: the secrets are there, encrypted only.
    expect(corpus.map((c) => c.where)).toEqual(expect.arrayContaining(['state.db', 'branchboxd.log']));
    const found: string[] = [];
    for (const { where, text } of corpus) {
      for (const { name, value } of values) {
        for (const piece of [value, value.slice(-12)]) if (text.includes(piece)) found.push(`${name} (${piece}) in ${where}`);
      }
      if (where !== 'runtime.json' && text.includes(token)) found.push(`the daemon token in ${where}`);
    }
    expect(found).toEqual([]);
    expect(frames.length).toBeGreaterThan(100);
  });

  it('kept every state file private under umask 0 in a 0777 directory', () => {
    for (const f of ['state.db', 'secret.key', 'branchboxd.log']) {
      const path = join(stateDir, f);
      expect([f, existsSync(path) && (statSync(path).mode & 0o777).toString(8)]).toEqual([f, '600']);
    }
    for (const f of ['state.db-wal', 'state.db-shm', 'runtime.json']) {
      const path = join(stateDir, f);
      if (existsSync(path)) expect([f, (statSync(path).mode & 0o777).toString(8)]).toEqual([f, '600']);
    }
  });
});
