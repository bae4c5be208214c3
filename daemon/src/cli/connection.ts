/**
 * Finding and connecting to the daemon, as any editor would: read `runtime.json` in the state
 * directory, open a WebSocket to 127.0.0.1 with the token, `initialize`. Every way this can
 * fail becomes a DaemonUnreachableError (exit code 3) that says what to do.
 */
import WebSocket from 'ws';
import pkg from '../../../package.json';
import { BranchboxClient } from '../../../schemas/src/client';
import { RuntimeFileError, readRuntimeFile, runtimeFilePath, type RuntimeInfo } from '../../../schemas/node/runtime-file';
import { DaemonUnreachableError } from './errors';

/** Who the CLI says it is in `initialize` (recorded in the daemon's audit trail). */
export const CLIENT_INFO = { name: 'branchbox-cli', version: pkg.version } as const;
const MAX_PAYLOAD = 4 * 1024 * 1024;
const START_HINT = 'start it with `branchbox daemon start`';

export interface DaemonConnection {
  readonly client: BranchboxClient;
  readonly runtime: RuntimeInfo;
  /** Resolves when the connection is gone, for whatever reason. */
  readonly closed: Promise<void>;
  /** Whether `close()` was called. */
  readonly closing: boolean;
  /** The connection closed without `close()`: the daemon stopped or the network failed. */
  readonly lost: boolean;
  close(): Promise<void>;
}

/** The runtime file of the daemon of `stateDir`, or a DaemonUnreachableError saying why there is none. */
export function locateDaemon(stateDir: string): RuntimeInfo {
  let runtime: RuntimeInfo | undefined;
  try {
    runtime = readRuntimeFile(stateDir);
  } catch (e) {
    if (e instanceof RuntimeFileError) throw new DaemonUnreachableError('DaemonUnreachable', e.message);
    throw new DaemonUnreachableError('DaemonUnreachable', `cannot read ${runtimeFilePath(stateDir)}: ${(e as Error).message}`);
  }
  if (!runtime) {
    throw new DaemonUnreachableError(
      'DaemonNotRunning',
      `no daemon is running for state directory ${stateDir} (no runtime.json); ${START_HINT}`,
    );
  }
  return runtime;
}

export async function connectToDaemon(opts: { readonly stateDir: string }): Promise<DaemonConnection> {
  const runtime = locateDaemon(opts.stateDir);
  const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}`, {
    headers: { Authorization: `Bearer ${runtime.token}` },
    maxPayload: MAX_PAYLOAD,
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      reject(
        new DaemonUnreachableError(
          'DaemonUnreachable',
          res.statusCode === 401
            ? `the daemon on 127.0.0.1:${runtime.port} refused the token of ${runtimeFilePath(opts.stateDir)} (another daemon took the port?); ${START_HINT}`
            : `the daemon on 127.0.0.1:${runtime.port} refused the connection (HTTP ${res.statusCode})`,
        ),
      );
      ws.terminate();
    });
    ws.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.message;
      reject(
        new DaemonUnreachableError(
          'DaemonUnreachable',
          `the daemon of ${opts.stateDir} (pid ${runtime.pid}) does not answer on 127.0.0.1:${runtime.port} (${why}); ` +
            `it may have stopped without removing runtime.json — ${START_HINT}`,
        ),
      );
    });
  });
  ws.on('error', () => undefined); // reported through 'close'
  const client = new BranchboxClient((text) => ws.send(text));
  let closing = false;
  let lost = false;
  const closed = new Promise<void>((resolve) =>
    ws.once('close', () => {
      lost = !closing; // before failing the pending requests, so their callers can tell
      client.close(closing ? 'connection closed' : 'the connection to the daemon was lost');
      resolve();
    }),
  );
  ws.on('message', (data) => client.receive(data.toString()));
  const connection: DaemonConnection = {
    client,
    runtime,
    closed,
    get closing() {
      return closing;
    },
    get lost() {
      return lost;
    },
    close: async () => {
      closing = true;
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  try {
    await client.request('initialize', {
      clientInfo: { ...CLIENT_INFO },
      processId: process.pid,
    });
  } catch (e) {
    await connection.close();
    throw e;
  }
  return connection;
}
