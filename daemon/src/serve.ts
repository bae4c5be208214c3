/**
 * The last step of the daemon's start: the dispatcher over every handler, served on the
 * WebSocket (and on stdio with --stdio), the runtime file written for clients; and
 * `shutdown`, which stops accepting work, lets requests in flight finish (for a while) and
 * takes everything down again in reverse.
 */
import type { DaemonOptions } from './config';
import type { Undo } from './daemon';
import { Dispatcher } from './rpc/dispatcher';
import type { Handlers } from './rpc/handlers';
import { Session } from './rpc/session';
import { serveStdio } from './rpc/stdio';
import type { Connection } from './rpc/transport';
import { startWsServer, type WsServer } from './rpc/ws-server';
import type { Logger } from './runtime/log';
import { redactedConnection, type Redactor } from './runtime/redactor';
import { createToken, removeRuntimeFile, writeRuntimeFile } from '../../schemas/node/runtime-file';
import type { AuditTrail } from './state/audit';

/** How long in-flight requests may take to finish once shutdown begins. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningDaemon {
  readonly port: number;
  readonly stateDir: string;
  /** Resolves once the daemon has fully stopped. */
  readonly stopped: Promise<void>;
  /** The daemon log, for what the entry point reports (faults nothing else caught). */
  readonly log: Logger;
  shutdown(reason: string): Promise<void>;
}

export async function serve(
  opts: DaemonOptions,
  version: string,
  logger: Logger,
  instance: string,
  redactor: Redactor,
  handlers: Handlers,
  audit: AuditTrail,
  sessions: Set<Session>,
  undo: Undo,
  unwind: () => Promise<void>,
): Promise<RunningDaemon> {
  let shuttingDown = false;
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const dispatcher = new Dispatcher({
    handlers,
    log: logger,
    audit: (entry) => audit.record(entry),
    isShuttingDown: () => shuttingDown,
    validateResults: opts.validateResults,
  });

  const accept = (transport: Connection) => {
    // The last net: no message reaches a client with a secret value in it.
    const connection = redactedConnection(transport, redactor);
    const session = new Session(connection, logger.child({ conn: connection.label }));
    sessions.add(session);
    logger.debug('connection opened', { conn: connection.label });
    return {
      message: (text: string) => void dispatcher.receive(text, session),
      closed: () => {
        sessions.delete(session);
        session.close();
      },
    };
  };

  const token = createToken();
  redactor.addSecret(token);
  let ws: WsServer | undefined;
  try {
    ws = await startWsServer({
      port: opts.port,
      fallbackToFreePort: opts.portIsDefault,
      token,
      allowedOrigins: opts.allowedOrigins,
      maxPayload: opts.maxPayload,
      heartbeatMs: opts.heartbeatMs,
      log: logger,
      accept,
    });
  } catch (e) {
    throw new Error(`Cannot listen on 127.0.0.1:${opts.port}: ${(e as Error).message}`);
  }
  const server = ws;
  undo.push(() => server.close({ terminate: true }));
  writeRuntimeFile(opts.stateDir, { port: server.port, token, pid: process.pid, version });
  undo.push(() => void removeRuntimeFile(opts.stateDir));
  logger.info('branchboxd started', { version, port: server.port, stateDir: opts.stateDir, instance, pid: process.pid });

  if (opts.stdio) {
    serveStdio({
      input: process.stdin,
      output: process.stdout,
      maxPayload: opts.maxPayload,
      log: logger,
      accept,
      onEnd: () => void shutdown('stdin closed'),
    });
    // An open stdin keeps the process alive after a stop by `shutdown` or a signal.
    undo.push(() => void process.stdin.destroy());
  }

  async function shutdown(reason: string): Promise<void> {
    if (stopping) return stopping;
    shuttingDown = true;
    logger.info('shutting down', { reason });
    stopping = (async () => {
      const settled = Promise.all([dispatcher.idle(), ...[...sessions].map((s) => s.endSubscriptions())]);
      await Promise.race([settled, new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref())]);
      await server.close();
      for (const session of sessions) session.close();
      sessions.clear();
      logger.info('branchboxd stopped');
      await unwind();
      resolveStopped();
    })();
    return stopping;
  }

  return { port: server.port, stateDir: opts.stateDir, stopped, log: logger, shutdown };
}
