/**
 * The extension's daemon connection (extension/src/connection.ts + bootstrap.ts) against
 * real processes: the real branchboxd from dist/ (started by the connection itself, killed,
 * restarted), a fake daemon that crashes on every connection (reconnect attempts, then the
 * restart cap), and fake daemons that hang (before and after `initialize`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDaemonHost, RemoteDaemonHost, isProcessAlive, type LocalDaemonOptions } from '../../../extension/src/bootstrap';
import { DaemonConnection, type ConnectionOptions, type ConnectionState, type Connected } from '../../../extension/src/connection';
import { DAEMON_JS, startTestDaemon, type TestDaemon } from '../../helpers/daemon';

const FAKES = resolve(__dirname, '../../helpers/fake-daemons');

/** Collects log lines instead of printing them. */
function memoryLog() {
  const lines: string[] = [];
  const at = (level: string) => (message: string | Error, ...args: unknown[]) =>
    void lines.push(`${level} ${message instanceof Error ? message.message : message}${args.length ? ` ${JSON.stringify(args)}` : ''}`);
  return { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Records every state and resolves waits on them, without timers. */
function watchStates(connection: DaemonConnection) {
  const states: ConnectionState[] = [];
  const waiters: { predicate: (s: ConnectionState) => boolean; resolve: (s: ConnectionState) => void }[] = [];
  connection.onDidChangeState((s) => {
    states.push(s);
    for (const w of [...waiters]) {
      if (w.predicate(s)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(s);
      }
    }
  });
  return {
    states,
    /** The next state (from now on) that satisfies `predicate`. */
    next: <K extends ConnectionState['kind']>(kind: K, predicate: (s: Extract<ConnectionState, { kind: K }>) => boolean = () => true) =>
      new Promise<Extract<ConnectionState, { kind: K }>>((res) =>
        waiters.push({
          predicate: (s) => s.kind === kind && predicate(s as Extract<ConnectionState, { kind: K }>),
          resolve: (s) => res(s as Extract<ConnectionState, { kind: K }>),
        }),
      ),
  };
}

const cleanups: (() => void | Promise<void>)[] = [];

/** Every daemon process a test saw (they are detached: nothing else stops them). */
const daemonPids = new Set<number>();
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const pid of daemonPids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  daemonPids.clear();
});

function tempStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bbext-'));
  cleanups.push(() => {
    collectPids(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The pids of the real daemon (runtime.json) and of the fakes (their start log) of `dir`. */
function collectPids(dir: string): void {
  const starts = join(dir, 'fake-starts.log');
  if (existsSync(starts)) readFileSync(starts, 'utf8').split('\n').filter(Boolean).forEach((p) => daemonPids.add(Number(p)));
  const runtime = join(dir, 'runtime.json');
  if (existsSync(runtime)) daemonPids.add((JSON.parse(readFileSync(runtime, 'utf8')) as { pid: number }).pid);
}

function connect(hostOptions: Partial<LocalDaemonOptions> & { stateDir: string }, options: Partial<ConnectionOptions> = {}) {
  const log = memoryLog();
  const host = new LocalDaemonHost({
    autoStart: true,
    nodePath: process.execPath,
    daemonScript: DAEMON_JS,
    extraArgs: ['--port', '0'],
    startTimeoutMs: 20_000,
    ...hostOptions,
  });
  const connection = new DaemonConnection({
    host,
    clientVersion: '0.0.0-test',
    log,
    backoff: { initialMs: 10, maxMs: 100, factor: 2 },
    ...options,
  });
  const states = watchStates(connection);
  connection.onDidChangeState((s) => {
    if (s.kind === 'connected' && s.connected.endpoint.pid) daemonPids.add(s.connected.endpoint.pid);
  });
  cleanups.push(() => connection.dispose());
  return { connection, states, log, host };
}

const starts = (dir: string) => readFileSync(join(dir, 'fake-starts.log'), 'utf8').split('\n').filter(Boolean).length;
const connections = (dir: string) =>
  existsSync(join(dir, 'fake-connections.log')) ? readFileSync(join(dir, 'fake-connections.log'), 'utf8').split('\n').filter(Boolean).length : 0;

describe('against the real branchboxd', () => {
  it('starts the daemon when none runs, connects, initializes and answers requests', async () => {
    const stateDir = tempStateDir();
    const { connection, states } = connect({ stateDir }, { heartbeat: { intervalMs: 50, timeoutMs: 2_000 } });
    const connectedState = states.next('connected');
    const heartbeat = new Promise((r) => connection.onDidReceiveInfo(r));
    connection.start();
    const { connected } = await connectedState;

    expect(states.states[0]).toEqual({ kind: 'connecting', attempt: 1 });
    expect(connected.serverInfo.name).toBe('branchboxd');
    expect(connected.generation).toBe(1);
    expect(connected.endpoint.pid).toBeGreaterThan(0);
    expect(connected.capabilities.methods).toContain('system/info');
    const info = await connected.client.request('system/info');
    expect(info.stateDir).toBe(stateDir);
    expect(info.pid).toBe(connected.endpoint.pid);
    await expect(heartbeat).resolves.toMatchObject({ pid: connected.endpoint.pid });
    // The daemon outlives the connection: it is shared with other clients.
    connection.dispose();
    expect(isProcessAlive(connected.endpoint.pid!)).toBe(true);
  });

  it('reconnects to a daemon it did not start, and restarts it after it is killed', async () => {
    const stateDir = tempStateDir();
    const daemon: TestDaemon = await startTestDaemon({ stateDir });
    cleanups.push(() => daemon.dispose());
    const { connection, states, log } = connect({ stateDir });
    const first = states.next('connected');
    connection.start();
    const c1 = (await first).connected;
    expect(c1.endpoint.pid).toBe(daemon.runtime.pid);

    let scopeDisposed = false;
    c1.scope.defer(() => (scopeDisposed = true));
    const lost = states.next('disconnected');
    const second = states.next('connected');
    daemon.process.kill('SIGKILL');
    expect((await lost).reason).toBe('the daemon stopped'); // a socket closed with 1006, in the user's words
    expect(scopeDisposed).toBe(true);
    const c2 = (await second).connected;
    expect(c2.generation).toBe(2);
    expect(c2.endpoint.pid).not.toBe(daemon.runtime.pid);
    expect((await c2.client.request('system/info')).pid).toBe(c2.endpoint.pid);
    expect(log.lines.some((l) => /branchboxd is gone; restarting it/.test(l))).toBe(true);
    // A request on the dead connection fails instead of hanging.
    await expect(c1.client.request('system/info')).rejects.toThrow();
  });

  it('Restart Daemon shuts the daemon down and connects to a new one', async () => {
    const stateDir = tempStateDir();
    const { connection, states } = connect({ stateDir });
    const first = states.next('connected');
    connection.start();
    const c1 = (await first).connected;
    const second = states.next('connected');
    await connection.restartDaemon();
    const c2 = (await second).connected;
    expect(isProcessAlive(c1.endpoint.pid!)).toBe(false);
    expect(c2.endpoint.pid).not.toBe(c1.endpoint.pid);
    expect(states.states.some((s) => s.kind === 'failed')).toBe(false);
  });

  it('connects to a daemon at an explicit address with a token file, and never starts one', async () => {
    const stateDir = tempStateDir();
    const daemon = await startTestDaemon({ stateDir });
    cleanups.push(() => daemon.dispose());
    const connection = new DaemonConnection({
      host: new RemoteDaemonHost(daemon.url, join(stateDir, 'runtime.json')),
      clientVersion: '0.0.0-test',
      log: memoryLog(),
      backoff: { initialMs: 10, maxMs: 50, factor: 2 },
    });
    cleanups.push(() => connection.dispose());
    const states = watchStates(connection);
    const connected = states.next('connected');
    connection.start();
    expect((await connected).connected.endpoint.url).toBe(daemon.url);

    const lost = states.next('disconnected', (s) => /ECONNREFUSED|Cannot connect|token file/.test(s.reason));
    await daemon.stop();
    await lost; // retries with backoff; nothing to start
  });

  it('says so when auto-start is off and no daemon runs', async () => {
    const stateDir = tempStateDir();
    const { connection, states } = connect({ stateDir, autoStart: false });
    const down = states.next('disconnected');
    connection.start();
    expect((await down).reason).toMatch(/auto-start is off/);
  });

  it('fails with a clear message when the Node.js for the daemon does not exist', async () => {
    const stateDir = tempStateDir();
    const { connection, states } = connect({ stateDir, nodePath: join(stateDir, 'no-such-node') });
    const failed = states.next('failed');
    connection.start();
    expect((await failed).reason).toMatch(/Node\.js ".*no-such-node" was not found.*branchbox\.daemon\.nodePath/);
  });
});

describe('against a daemon that crashes on every connection', () => {
  it('reconnects with backoff and restarts it, then stops after 5 crashes in 3 minutes', async () => {
    const stateDir = tempStateDir();
    const { connection, states, log } = connect({ stateDir, daemonScript: join(FAKES, 'crash.mjs'), extraArgs: [] });
    const failed = states.next('failed');
    connection.start();
    const { reason } = await failed;

    expect(reason).toBe('branchboxd crashed 5 times in the last 3 minutes; not restarting.');
    // The first start, then one restart for each of the first four crashes; the fifth is refused.
    expect(starts(stateDir)).toBe(5);
    expect(connections(stateDir)).toBeGreaterThanOrEqual(5);
    expect(states.states.some((s) => s.kind === 'connected')).toBe(false);
    const retries = states.states.filter((s) => s.kind === 'disconnected');
    expect(retries.length).toBeGreaterThanOrEqual(5);
    // Backoff grows between attempts (10, 20, 40, ... capped at 100 ms).
    const delays = retries.map((s) => (s as { retryInMs: number }).retryInMs);
    expect(delays.slice(0, 4)).toEqual([10, 20, 40, 80]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(100);
    expect(log.lines.filter((l) => l.includes('branchboxd is gone; restarting it'))).toHaveLength(4);

    // The user's Restart Daemon (or Refresh) forgets the crashes and tries again.
    const again = states.next('failed');
    connection.reconnect();
    await again;
    expect(starts(stateDir)).toBe(10);
  });
});

describe('against a daemon that hangs', () => {
  it('gives up on an unanswered initialize and reconnects, without restarting the live process', async () => {
    const stateDir = tempStateDir();
    const { connection, states } = connect(
      { stateDir, daemonScript: join(FAKES, 'hang.mjs'), extraArgs: [] },
      { connectTimeoutMs: 200 },
    );
    const hung = (s: { reason: string }) => /did not answer initialize within 200 ms/.test(s.reason);
    const first = states.next('disconnected', hung);
    connection.start();
    await first;
    await states.next('disconnected', hung);
    expect(connections(stateDir)).toBeGreaterThanOrEqual(2);
    expect(starts(stateDir)).toBe(1);
  });

  it('detects a daemon that stops answering after initialize (heartbeat) and recycles the connection', async () => {
    const stateDir = tempStateDir();
    const { connection, states, log } = connect(
      { stateDir, daemonScript: join(FAKES, 'hang.mjs'), extraArgs: [], env: { ...process.env, FAKE_HANG_AFTER_INITIALIZE: '1' } },
      { heartbeat: { intervalMs: 50, timeoutMs: 150 } },
    );
    const first = states.next('connected');
    connection.start();
    const c1: Connected = (await first).connected;
    let scopeDisposed = false;
    c1.scope.defer(() => (scopeDisposed = true));
    const pending = c1.client.request('container/list', { all: true });

    const recycled = await states.next('disconnected');
    expect(recycled.reason).toBe('branchboxd did not answer system/info within 150 ms; treating it as hung');
    expect(scopeDisposed).toBe(true);
    await expect(pending).rejects.toThrow(/closed/); // requests in flight fail, they do not hang
    const c2 = (await states.next('connected')).connected;
    expect(c2.generation).toBe(2);
    expect(c2.endpoint.pid).toBe(c1.endpoint.pid);
    expect(connections(stateDir)).toBe(2);
    expect(starts(stateDir)).toBe(1);
    expect(log.lines.some((l) => l.startsWith('warn branchboxd did not answer system/info'))).toBe(true);
  });
});
