/** Handlers of the daemon's own methods: the session, shutdown, discovery, system/info, the log (schemas/src/daemon.ts). */
import { PROTOCOL_VERSION, methods, notifications, type Result } from '../../../schemas/src/index';
import { PROTOCOL_LIMITS } from '../../../schemas/src/limits';
import { buildOpenRpcDocument } from '../../../schemas/src/openrpc';
import type { HandlerGroup } from '../rpc/handlers';
import type { LogTap } from '../runtime/log-tap';

export interface DaemonDeps {
  readonly version: string;
  readonly stateDir: string;
  /** The daemon's instance id (`branchbox.instance` label). */
  readonly instance: string;
  readonly database: { path: string; schemaVersion: number };
  readonly dockerStatus: () => Result<'system/info'>['docker'];
  /** The figures of the daemon's built images (the reconciler's last look); undefined before it. */
  readonly images?: () => Result<'system/info'>['images'];
  readonly connectionCount: () => number;
  readonly logTap: LogTap;
  /** Begins a graceful shutdown once the current answer is on its way. */
  readonly requestShutdown: (reason: string) => void;
}

type DaemonMethod = 'initialize' | 'shutdown' | 'rpc.discover' | 'system/info' | 'log/subscribe' | 'subscription/cancel';

export function daemonHandlers(deps: DaemonDeps): HandlerGroup<DaemonMethod> {
  let openRpc: Record<string, unknown> | undefined;
  return {
    initialize: (params, ctx) => {
      ctx.session.markInitialized(params.clientInfo);
      ctx.log.info('client initialized', { client: params.clientInfo.name, clientVersion: params.clientInfo.version });
      return {
        serverInfo: { name: 'branchboxd', version: deps.version },
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {
          methods: Object.keys(methods),
          notifications: Object.entries(notifications)
            .filter(([, spec]) => spec.direction === 'toClient')
            .map(([name]) => name),
          docker: deps.dockerStatus().available,
          limits: { ...PROTOCOL_LIMITS },
        },
      };
    },
    shutdown: (_params, ctx) => {
      deps.requestShutdown(`shutdown requested by ${ctx.session.clientInfo?.name ?? ctx.session.connection.label}`);
      return null;
    },
    'rpc.discover': () => (openRpc ??= buildOpenRpcDocument(deps.version)),
    'system/info': () => {
      const images = deps.images?.();
      return {
        version: deps.version,
        protocolVersion: PROTOCOL_VERSION,
        pid: process.pid,
        stateDir: deps.stateDir,
        instance: deps.instance,
        database: deps.database,
        connections: deps.connectionCount(),
        docker: deps.dockerStatus(),
        ...(images ? { images } : {}),
      };
    },
    'log/subscribe': (params, ctx) => {
      const sub = ctx.session.subscribe('log/message', { lossy: true });
      const stop = deps.logTap.listen(params.level ?? 'info', (line) => sub.push(line));
      sub.signal.addEventListener('abort', stop, { once: true });
      return { subscription: sub.id };
    },
    'subscription/cancel': (params, ctx) => {
      ctx.session.cancelSubscription(params.subscription);
      return null;
    },
  };
}
