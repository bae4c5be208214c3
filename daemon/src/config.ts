/**
 * branchboxd's options: command-line flags over environment variables over defaults. The
 * flags themselves, with their help, are the one table of `flags.ts`.
 */
import { parseArgs } from 'node:util';
import { resolveStateDir } from '../../schemas/node/state-dir';
import { cpusToNano, parseSize } from './project/units';
import { isLogLevel, type LogLevel } from './runtime/log';
import { DAEMON_FLAGS, DEFAULT_HEARTBEAT_MS, DEFAULT_PORT, DEFAULT_SHARED_GATEWAY_PORT, usage } from './flags';

export { DEFAULT_HEARTBEAT_MS, DEFAULT_PORT, DEFAULT_SHARED_GATEWAY_PORT };

export const DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024;

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

/** `--help`: written from the flags' table (flags.ts). */
export const USAGE = usage();

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
      options: DAEMON_FLAGS,
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
