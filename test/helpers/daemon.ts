/**
 * A real branchboxd process for tests: built from dist/ (scripts/test.sh builds first), on a
 * free port, with its own temporary state directory, checking every result against its
 * schema. `connect()` gives a typed protocol client over a real WebSocket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { BranchboxClient, ProtocolError } from '../../schemas/src/client';
import type { Params, Result } from '../../schemas/src/index';

export const DAEMON_JS = resolve(__dirname, '../../dist/branchboxd.js');

export interface RuntimeInfo {
  port: number;
  token: string;
  pid: number;
  version: string;
}

export interface TestDaemon {
  readonly process: ChildProcess;
  readonly stateDir: string;
  readonly runtime: RuntimeInfo;
  readonly url: string;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** A connected, initialized client. */
  connect(clientName?: string): Promise<TestClient>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the exit code when the process exits. */
  exited: Promise<number | null>;
  /** Removes the state directory (after stop). */
  dispose(): Promise<void>;
}

export interface TestClient extends BranchboxClient {
  readonly ws: WebSocket;
  closeSocket(): Promise<void>;
}

export interface StartOptions {
  stateDir?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Run the daemon under this umask (through /bin/sh), e.g. 0 to check the modes of its files. */
  umask?: number;
}

/** Starts a daemon and resolves once it listens (it says so on stderr). */
export async function startTestDaemon(opts: StartOptions = {}): Promise<TestDaemon> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'bbd-'));
  const argv = [DAEMON_JS, '--state-dir', stateDir, '--port', '0', '--log-level', 'debug', ...(opts.args ?? [])];
  const command: [string, string[]] =
    opts.umask === undefined
      ? [process.execPath, argv]
      : ['/bin/sh', ['-c', `umask ${opts.umask.toString(8).padStart(3, '0')} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(
    ...command,
    {
      env: { ...process.env, BRANCHBOX_VALIDATE_RESULTS: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('listening on')) {
        child.stderr!.off('data', onData);
        child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        resolvePromise();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`branchboxd exited with ${code} before listening:\n${stderr}`)));
  });
  const runtime = JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as RuntimeInfo;
  const url = `ws://127.0.0.1:${runtime.port}`;
  return {
    process: child,
    stateDir,
    runtime,
    url,
    exited,
    stderr: () => stderr,
    connect: (name = 'vitest') => connectClient(url, runtime.token, name),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    dispose: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * Port ranges for a daemon under test, picked at random above `base` and away from the
 * defaults, so daemons of tests running at the same time on this host do not reach for the
 * same ports.
 */
export function portWindows(base = { service: 44_000, gateway: 49_000 }): Record<string, string> {
  const service = base.service + 200 * Math.floor(Math.random() * 25);
  const gateway = base.gateway + 50 * Math.floor(Math.random() * 20);
  return {
    BRANCHBOX_SERVICE_PORTS: `${service}-${service + 199}`,
    BRANCHBOX_GATEWAY_PORTS: `${gateway}-${gateway + 49}`,
  };
}

/** Opens a WebSocket with the token and wraps it in a typed client; `initialize`s unless told not to. */
export async function connectClient(
  url: string,
  token: string,
  name = 'vitest',
  initialize = true,
): Promise<TestClient> {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  const client = new BranchboxClient((text) => ws.send(text)) as TestClient;
  ws.on('message', (data) => client.receive(data.toString()));
  ws.on('close', () => client.close());
  Object.assign(client, {
    ws,
    closeSocket: () =>
      new Promise<void>((res) => {
        if (ws.readyState === ws.CLOSED) return res();
        ws.once('close', () => res());
        ws.close();
      }),
  });
  if (initialize) await client.request('initialize', { clientInfo: { name } });
  return client;
}

/** The error answer of a request that must fail (fails the test when it succeeds). */
export const failure = (p: Promise<unknown>): Promise<ProtocolError> =>
  p.then(
    () => {
      throw new Error('expected an error answer');
    },
    (e: unknown) => {
      if (!(e instanceof ProtocolError)) throw e; // not an answer: fail with it
      return e;
    },
  );

export type Deployment = Result<'deploy/get'>;

/** Starts the deployments and answers each one's final record. */
export async function deployFinal(client: TestClient, params: Params<'deploy/start'>): Promise<Deployment[]> {
  const { deployments } = await client.request('deploy/start', params);
  return Promise.all(
    deployments.map(async (d) => {
      await new Promise<void>((resolve, reject) => {
        void client
          .subscribe('deploy/subscribe', { deployment: d.id }, 'deploy/progress', {
            onItems: () => undefined,
            onEnd: (end) => (end.reason === 'completed' ? resolve() : reject(new Error(`progress ended: ${end.reason}`))),
          })
          .catch(reject);
      });
      return client.request('deploy/get', { id: d.id });
    }),
  );
}

/**
 * The end of a suite that ran one daemon with one sandbox: the sandbox deleted (whatever state
 * the suite left it in), the client and daemon stopped, the run's labelled Docker objects and
 * the fixture repository removed. Each part may be missing (its beforeAll failed early).
 */
export async function endSandboxSuite(parts: {
  client?: TestClient;
  daemon?: TestDaemon;
  sandbox: string;
  run: { cleanup(): Promise<void> };
  repo?: { dispose(): void };
}): Promise<void> {
  await parts.client?.request('sandbox/delete', { name: parts.sandbox }).catch(() => undefined);
  await parts.client?.closeSocket();
  await parts.daemon?.stop();
  await parts.daemon?.dispose();
  await parts.run.cleanup();
  parts.repo?.dispose();
}
