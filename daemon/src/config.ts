/**
 * branchboxd's options: command-line flags over environment variables over defaults.
 */
import { parseArgs } from 'node:util';
import { resolveStateDir } from '../../schemas/node/state-dir';
import { cpusToNano, parseSize } from './project/units';
import { isLogLevel, type LogLevel } from './runtime/log';

/** The documented default WebSocket port; a free one is used when it is taken. */
export const DEFAULT_PORT = 47815;
export const DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 30_000;
/** The documented default port of the shared gateway (routes by header to any sandbox). */
export const DEFAULT_SHARED_GATEWAY_PORT = 41080;

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface DaemonOptions {
  readonly stateDir: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Whether `port` is the default (then a taken port falls back to a free one). */
  readonly portIsDefault: boolean;
  readonly stdio: boolean;
  readonly logLevel: LogLevel;
  readonly logStderr: boolean;
  readonly allowedOrigins: readonly string[];
  readonly dockerHost: string | undefined;
  readonly maxPayload: number;
  readonly heartbeatMs: number;
  /** Check every result against its schema before answering (tests). */
  readonly validateResults: boolean;
  /** The shared gateway's port; null: no shared gateway. */
  readonly sharedGatewayPort: number | null;
  /** Whether a taken shared gateway port falls back to a free one (the default port only). */
  readonly sharedGatewayPortIsDefault: boolean;
  /** Port ranges for published service ports and sandbox gateways (defaults in sandbox/ports.ts). */
  readonly portRanges: { readonly service?: PortRange; readonly gateway?: PortRange };
  /** Labels added to every Docker object the daemon creates (tests mark theirs with these). */
  readonly extraLabels: Readonly<Record<string, string>>;
  /** The sandbox lifecycle's timing (defaults in daemon/src/lifecycle/). */
  readonly lifecycle?: LifecycleTiming;
}

export interface LifecycleTiming {
  readonly healthIntervalMs?: number;
  readonly maxRestarts?: number;
  readonly restartBackoffMs?: number;
  readonly reconcileIntervalMs?: number;
  readonly orphanGraceMs?: number;
  readonly keepImagesPerService?: number;
  readonly expiryIntervalMs?: number;
  readonly expiryWarningMs?: number;
  /** Resource gating of deploys (daemon/src/lifecycle/resource-gate.ts). */
  readonly sandboxNanoCpus?: number;
  readonly sandboxMemoryBytes?: number;
  readonly hostMemoryThreshold?: number;
}

export const USAGE = `Usage: branchboxd [options]

The Branchbox daemon: owns Docker access and all state, speaks JSON-RPC 2.0 over
WebSocket on 127.0.0.1 (token in the runtime file) and, with --stdio, over stdin/stdout.

Options:
  --state-dir DIR      state directory (env BRANCHBOX_STATE_DIR;
                       default $XDG_STATE_HOME/branchbox or ~/.local/state/branchbox)
  --port N             WebSocket port on 127.0.0.1 (env BRANCHBOX_PORT; default ${DEFAULT_PORT},
                       falling back to a free port when taken; 0 = any free port)
  --stdio              serve the protocol on stdin/stdout (Content-Length framing); when a
                       daemon already owns the state directory, bridge to it instead
  --log-level LEVEL    trace|debug|info|warn|error (env BRANCHBOX_LOG_LEVEL; default info)
  --log-stderr         also write log lines to stderr
  --allow-origin URL   allow WebSocket connections from this browser Origin (repeatable;
                       env BRANCHBOX_ALLOWED_ORIGINS, comma-separated)
  --docker-host URL    Docker engine to use (default: DOCKER_HOST, docker context, socket)
  --gateway-port N     the shared gateway's port on 127.0.0.1, or "off" (env BRANCHBOX_GATEWAY_PORT;
                       default ${DEFAULT_SHARED_GATEWAY_PORT}, falling back to a free port when taken)
  --service-ports A-B  range of published service ports (env BRANCHBOX_SERVICE_PORTS; default 42000-42999)
  --gateway-ports A-B  range of sandbox gateway ports (env BRANCHBOX_GATEWAY_PORTS; default 41100-41199)
  --label K=V          add this label to every Docker object created (repeatable;
                       env BRANCHBOX_EXTRA_LABELS, comma-separated); like the daemon's own
                       branchbox.instance label, only objects carrying it are reaped
  --health-interval-ms N   health checks of serving containers every N ms (env
                       BRANCHBOX_HEALTH_INTERVAL_MS; default 5000)
  --health-max-restarts N  restarts of an unhealthy container before it is left alone (env
                       BRANCHBOX_HEALTH_MAX_RESTARTS; default 3)
  --health-backoff-ms N    wait before the 2nd restart, doubling after (env
                       BRANCHBOX_HEALTH_BACKOFF_MS; default 5000)
  --reconcile-interval-ms N  compare state with Docker's labels every N ms, besides at start and
                       on engine reconnect (env BRANCHBOX_RECONCILE_INTERVAL_MS; default 60000)
  --orphan-grace-ms N  remove labelled containers and networks of no sandbox, and built images
                       the retention does not keep, once seen for N ms
                       (env BRANCHBOX_ORPHAN_GRACE_MS; default 300000)
  --keep-images N      keep the images of each service's N newest deployments in a sandbox, besides
                       those in use (env BRANCHBOX_KEEP_IMAGES; default 3)
  --expiry-interval-ms N  check TTL policies every N ms (env BRANCHBOX_EXPIRY_INTERVAL_MS; default 30000)
  --expiry-warning-ms N   warn N ms before a sandbox expires (env BRANCHBOX_EXPIRY_WARNING_MS;
                       default 3600000)
  --sandbox-cpus N     refuse deploys that would make one sandbox's containers add up to more
                       than N CPUs (env BRANCHBOX_SANDBOX_CPUS; default: no limit)
  --sandbox-memory SIZE  the same for memory, e.g. 2g (env BRANCHBOX_SANDBOX_MEMORY; default: no limit)
  --host-memory-threshold F  refuse deploys that would push host memory use above this fraction
                       (env BRANCHBOX_HOST_MEMORY_THRESHOLD; default 0.95; 1 = off)
  --version            print the version
  --help               print this help
`;

export class UsageError extends Error {}

function parsePort(text: string, source: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${source}: "${text}" is not a port (0-65535)`);
  return port;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): DaemonOptions | 'help' | 'version' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'state-dir': { type: 'string' },
        port: { type: 'string' },
        stdio: { type: 'boolean' },
        'log-level': { type: 'string' },
        'log-stderr': { type: 'boolean' },
        'allow-origin': { type: 'string', multiple: true },
        'docker-host': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'gateway-port': { type: 'string' },
        'service-ports': { type: 'string' },
        'gateway-ports': { type: 'string' },
        label: { type: 'string', multiple: true },
        'health-interval-ms': { type: 'string' },
        'health-max-restarts': { type: 'string' },
        'health-backoff-ms': { type: 'string' },
        'reconcile-interval-ms': { type: 'string' },
        'orphan-grace-ms': { type: 'string' },
        'keep-images': { type: 'string' },
        'expiry-interval-ms': { type: 'string' },
        'expiry-warning-ms': { type: 'string' },
        'sandbox-cpus': { type: 'string' },
        'sandbox-memory': { type: 'string' },
        'host-memory-threshold': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';

  const portText = values.port ?? env.BRANCHBOX_PORT;
  const logLevel = values['log-level'] ?? env.BRANCHBOX_LOG_LEVEL ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level: "${logLevel}" is not one of trace, debug, info, warn, error`);
  const heartbeat = Number(values['heartbeat-ms'] ?? DEFAULT_HEARTBEAT_MS);
  if (!Number.isInteger(heartbeat) || heartbeat < 100) throw new UsageError('--heartbeat-ms must be an integer >= 100');
  const origins = [
    ...(env.BRANCHBOX_ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    ...(values['allow-origin'] ?? []),
  ];
  return {
    stateDir: resolveStateDir(values['state-dir'], env),
    port: portText === undefined ? DEFAULT_PORT : parsePort(portText, values.port ? '--port' : 'BRANCHBOX_PORT'),
    portIsDefault: portText === undefined,
    stdio: values.stdio ?? false,
    logLevel,
    logStderr: values['log-stderr'] ?? false,
    allowedOrigins: origins,
    dockerHost: values['docker-host'],
    maxPayload: DEFAULT_MAX_PAYLOAD,
    heartbeatMs: heartbeat,
    validateResults: env.BRANCHBOX_VALIDATE_RESULTS === '1',
    ...sharedGateway(values['gateway-port'] ?? env.BRANCHBOX_GATEWAY_PORT, values['gateway-port'] ? '--gateway-port' : 'BRANCHBOX_GATEWAY_PORT'),
    portRanges: {
      ...portRange('service', values['service-ports'] ?? env.BRANCHBOX_SERVICE_PORTS, values['service-ports'] ? '--service-ports' : 'BRANCHBOX_SERVICE_PORTS'),
      ...portRange('gateway', values['gateway-ports'] ?? env.BRANCHBOX_GATEWAY_PORTS, values['gateway-ports'] ? '--gateway-ports' : 'BRANCHBOX_GATEWAY_PORTS'),
    },
    extraLabels: parseLabels([...(env.BRANCHBOX_EXTRA_LABELS ?? '').split(','), ...(values.label ?? [])]),
    lifecycle: {
      ...count('healthIntervalMs', values['health-interval-ms'] ?? env.BRANCHBOX_HEALTH_INTERVAL_MS, '--health-interval-ms', 10),
      ...count('maxRestarts', values['health-max-restarts'] ?? env.BRANCHBOX_HEALTH_MAX_RESTARTS, '--health-max-restarts', 0),
      ...count('restartBackoffMs', values['health-backoff-ms'] ?? env.BRANCHBOX_HEALTH_BACKOFF_MS, '--health-backoff-ms', 0),
      ...count('reconcileIntervalMs', values['reconcile-interval-ms'] ?? env.BRANCHBOX_RECONCILE_INTERVAL_MS, '--reconcile-interval-ms', 10),
      ...count('orphanGraceMs', values['orphan-grace-ms'] ?? env.BRANCHBOX_ORPHAN_GRACE_MS, '--orphan-grace-ms', 0),
      ...count('keepImagesPerService', values['keep-images'] ?? env.BRANCHBOX_KEEP_IMAGES, '--keep-images', 0),
      ...count('expiryIntervalMs', values['expiry-interval-ms'] ?? env.BRANCHBOX_EXPIRY_INTERVAL_MS, '--expiry-interval-ms', 10),
      ...count('expiryWarningMs', values['expiry-warning-ms'] ?? env.BRANCHBOX_EXPIRY_WARNING_MS, '--expiry-warning-ms', 0),
      ...resourceLimits(values['sandbox-cpus'] ?? env.BRANCHBOX_SANDBOX_CPUS, values['sandbox-memory'] ?? env.BRANCHBOX_SANDBOX_MEMORY, values['host-memory-threshold'] ?? env.BRANCHBOX_HOST_MEMORY_THRESHOLD),
    },
  };
}

function resourceLimits(cpusText: string | undefined, memoryText: string | undefined, thresholdText: string | undefined): Pick<LifecycleTiming, 'sandboxNanoCpus' | 'sandboxMemoryBytes' | 'hostMemoryThreshold'> {
  const out: { sandboxNanoCpus?: number; sandboxMemoryBytes?: number; hostMemoryThreshold?: number } = {};
  if (cpusText !== undefined && cpusText.trim() !== '') {
    const cpus = Number(cpusText);
    if (!(cpus > 0)) throw new UsageError(`--sandbox-cpus: "${cpusText}" must be a number of CPUs > 0`);
    out.sandboxNanoCpus = cpusToNano(cpus);
  }
  if (memoryText !== undefined && memoryText.trim() !== '') {
    try {
      out.sandboxMemoryBytes = parseSize(memoryText.trim());
    } catch (e) {
      throw new UsageError(`--sandbox-memory: ${(e as Error).message}`);
    }
  }
  const threshold = thresholdText === undefined || thresholdText.trim() === '' ? 0.95 : Number(thresholdText);
  if (!(threshold > 0 && threshold <= 1)) throw new UsageError(`--host-memory-threshold: "${thresholdText}" must be a fraction in (0, 1]`);
  if (threshold < 1) out.hostMemoryThreshold = threshold;
  return out;
}

/** An optional integer option of at least `min` (flag over environment). */
function count<K extends keyof LifecycleTiming>(key: K, text: string | undefined, source: string, min: number) {
  if (text === undefined || text.trim() === '') return {};
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${source}: "${text}" must be an integer >= ${min}`);
  return { [key]: n } as Pick<LifecycleTiming, K>;
}

function sharedGateway(text: string | undefined, source: string) {
  const value = text?.trim();
  if (value === undefined || value === '') {
    return { sharedGatewayPort: DEFAULT_SHARED_GATEWAY_PORT, sharedGatewayPortIsDefault: true };
  }
  if (value === 'off') return { sharedGatewayPort: null, sharedGatewayPortIsDefault: false };
  return { sharedGatewayPort: parsePort(value, source), sharedGatewayPortIsDefault: false };
}

function portRange(purpose: 'service' | 'gateway', text: string | undefined, source: string) {
  if (text === undefined || text.trim() === '') return {};
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  const [from, to] = [Number(match?.[1]), Number(match?.[2])];
  if (!match || from < 1 || to > 65535 || from > to) {
    throw new UsageError(`${source}: "${text}" is not a port range: write from-to, e.g. 42000-42999`);
  }
  return { [purpose]: { from, to } };
}

/** `k=v` entries → labels; empty entries are skipped, an entry without "=" is an error. */
function parseLabels(entries: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of entries.map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`label "${entry}" must be key=value`);
    labels[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return labels;
}
