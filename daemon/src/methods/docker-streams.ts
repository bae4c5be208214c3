/**
 * Handlers of the container streams (schemas/src/docker-streams.ts): logs and stats as
 * subscriptions, stats history, and interactive exec sessions owned by the connection that
 * opened them (closed when it closes). Log lines and exec output pass the daemon's Redactor
 * before they reach a client.
 */
import type Docker from 'dockerode';
import type { dockerStreamMethods } from '../../../schemas/src/docker-streams';
import { containerRefForEngine } from '../../../schemas/src/docker-refs';
import type { NotificationName } from '../../../schemas/src/index';
import type { EngineRecovery } from '../docker/engine';
import { ContainerExec, type ExecSession } from '../docker/streams/exec';
import { ContainerLogs, invalidSince } from '../docker/streams/logs';
import type { StatsCollector, StatsListener, StatsTarget } from '../docker/streams/stats';
import { RpcError, isRpcError } from '../rpc/errors';
import type { HandlerGroup } from '../rpc/handlers';
import type { Redactor } from '../runtime/redactor';
import type { Session } from '../rpc/session';
import type { StreamItemOf, Subscription, SubscriptionOptions } from '../rpc/subscriptions';

/** What the stream handlers need from the daemon. */
export interface DockerStreamDeps {
  /** The engine client (may change when the daemon reconnects). */
  readonly docker: () => Docker;
  /** How followed log streams wait for the engine to come back after it went away. */
  readonly recovery?: EngineRecovery;
  /** The daemon-wide stats collector; the daemon `track`s Branchbox-managed containers in it. */
  readonly stats: StatsCollector;
  /** Masks secrets in log lines and exec output. */
  readonly redactor?: Redactor;
}

type DockerStreamMethod = keyof typeof dockerStreamMethods;

/** Most stats samples held for a slow client before the oldest are dropped. */
const STATS_QUEUE = 1000;

/**
 * The handlers of `container/logs`, `container/stats`, `stats/history`, `container/exec` and
 * `exec/input|resize|close`. Logs and exec need only the engine; stats go through the shared
 * collector so that every connection watching a container shares one engine stream.
 */
export function dockerStreamHandlers(deps: DockerStreamDeps): HandlerGroup<DockerStreamMethod> {
  const logs = new ContainerLogs(deps.docker, deps.recovery, deps.redactor);
  const execs = new ContainerExec(deps.docker, deps.redactor);
  const sessions = new ExecRegistry();

  return {
    'container/logs': async (p, ctx) => {
      const stream = await logs.open(containerRefForEngine(p.id), {
        tail: p.tail,
        since: p.since,
        follow: p.follow,
        timestamps: p.timestamps,
      });
      const sub = subscribeOrRelease(ctx.session, 'container/logs/data', { lossy: false }, () => stream.close());
      const fields = { container: stream.containerId.slice(0, 12), subscription: sub.id, follow: p.follow ?? false };
      ctx.log.debug('Streaming container logs', fields);
      stream.run(sub, sub.signal).then(
        (end) => {
          ctx.log.debug('Container log stream ended', { ...fields, end });
          sub.end('completed');
        },
        (e: unknown) => {
          const error = asRpcError(e);
          ctx.log.warn(`Failed to stream logs of container ${fields.container}: ${error.message}`, fields);
          sub.end('failed', error);
        },
      );
      return { subscription: sub.id };
    },

    'container/stats': async (p, ctx) => {
      const target = oneTarget(p);
      let sub: Subscription<StreamItemOf<'container/stats/data'>> | undefined;
      let endedEarly: { error?: RpcError } | undefined;
      const listener: StatsListener = {
        sample: (s) => void sub?.push(s),
        end: (error) => {
          if (sub) sub.end(error ? 'failed' : 'completed', error);
          else endedEarly = { error };
        },
      };
      const handle =
        'id' in target
          ? await deps.stats.subscribe(target.id, listener)
          : await deps.stats.subscribeSandbox(target.sandbox, listener);
      try {
        sub = ctx.session.subscribe('container/stats/data', { lossy: true, maxQueued: STATS_QUEUE });
      } catch (e) {
        handle.close();
        throw e;
      }
      const opened = sub;
      opened.signal.addEventListener('abort', () => handle.close(), { once: true });
      if (endedEarly) opened.end(endedEarly.error ? 'failed' : 'completed', endedEarly.error);
      ctx.log.debug('Streaming container stats', { ...target, subscription: opened.id });
      return { subscription: opened.id };
    },

    'stats/history': async (p) => {
      const target = oneTarget(p);
      return [...(await deps.stats.history(target, p.since === undefined ? undefined : sinceMs(p.since)))];
    },

    'container/exec': async (p, ctx) => {
      const exec = await execs.open(containerRefForEngine(p.id), {
        cmd: p.cmd,
        tty: p.tty,
        cols: p.cols,
        rows: p.rows,
        env: p.env,
        user: p.user,
        workdir: p.workdir,
      });
      const sub = subscribeOrRelease(ctx.session, 'exec/output', { lossy: false }, () => exec.close());
      const owner = ctx.session;
      const fields = { container: p.id, session: exec.id.slice(0, 12), cmd: exec.cmd.join(' '), tty: exec.tty };
      sessions.add(owner, exec);
      exec.onOutput((o) => {
        if (sub.push({ stream: o.stream, data: o.data.toString('base64') })) return;
        // The client reads slower than the process writes: hold the process back meanwhile.
        exec.pause();
        void sub.waitForDrain().then(() => exec.resume());
      });
      // Cancelled subscription or closed connection: the session goes with it.
      sub.signal.addEventListener('abort', () => exec.close(), { once: true });
      exec.onExit((exitCode) => {
        sessions.remove(owner, exec.id);
        ctx.log.info('Exec session ended', { ...fields, exitCode });
        sub.end('completed');
        void sub.finished.then(() => owner.notify('exec/exit', { session: exec.id, exitCode }));
      });
      ctx.log.info('Exec session opened', fields);
      return { session: exec.id, subscription: sub.id };
    },

    'exec/input': async (p, ctx) => {
      const exec = sessions.get(ctx.session, p.session);
      if (p.data.length > 0) await exec.write(Buffer.from(p.data, 'base64'));
      if (p.eof) exec.endInput();
      return null;
    },

    'exec/resize': async (p, ctx) => {
      await sessions.get(ctx.session, p.session).resize(p.cols, p.rows);
      return null;
    },

    'exec/close': (p, ctx) => {
      sessions.get(ctx.session, p.session).close();
      return null;
    },
  };
}

/** The exec sessions of each connection, closed when it closes. */
class ExecRegistry {
  private readonly byConnection = new WeakMap<Session, Map<string, ExecSession>>();

  add(owner: Session, exec: ExecSession): void {
    let own = this.byConnection.get(owner);
    if (!own) {
      const created = new Map<string, ExecSession>();
      own = created;
      this.byConnection.set(owner, created);
      owner.onClose(() => {
        for (const session of created.values()) session.close();
        created.clear();
      });
    }
    own.set(exec.id, exec);
  }

  /** The connection's session with this id; `ExecSessionNotFound` otherwise (also for another connection's). */
  get(owner: Session, id: string): ExecSession {
    const exec = this.byConnection.get(owner)?.get(id);
    if (!exec)
      throw new RpcError('ExecSessionNotFound', `No exec session "${id}" on this connection (it may have ended)`);
    return exec;
  }

  remove(owner: Session, id: string): void {
    this.byConnection.get(owner)?.delete(id);
  }
}

/** Opens a subscription for a stream already set up; if that fails (the connection closed meanwhile), releases the stream. */
function subscribeOrRelease<N extends NotificationName>(
  session: Session,
  notification: N,
  opts: SubscriptionOptions,
  release: () => void,
): Subscription<StreamItemOf<N>> {
  try {
    return session.subscribe(notification, opts);
  } catch (e) {
    release();
    throw e;
  }
}

/** Exactly one of `id` and `sandbox`. */
function oneTarget(p: { id?: string; sandbox?: string }): StatsTarget {
  if ((p.id === undefined) === (p.sandbox === undefined)) {
    throw new RpcError('InvalidParams', 'Give exactly one of "id" and "sandbox"', {
      violations: [
        { path: p.id === undefined ? '/id' : '/sandbox', message: 'exactly one of id and sandbox is required' },
      ],
    });
  }
  return p.id !== undefined ? { id: containerRefForEngine(p.id) } : { sandbox: p.sandbox as string };
}

/** A protocol time (RFC 3339 or unix seconds) in milliseconds since the epoch. */
function sinceMs(since: string | number): number {
  const ms =
    typeof since === 'number' ? since * 1000 : /^\d+(\.\d+)?$/.test(since) ? Number(since) * 1000 : Date.parse(since);
  if (!Number.isFinite(ms)) throw invalidSince(since);
  return ms;
}

function asRpcError(e: unknown): RpcError {
  return isRpcError(e) ? e : new RpcError('DockerError', e instanceof Error ? e.message : String(e));
}
