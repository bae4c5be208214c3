/**
 * From the engine's raw stats documents to the numbers people read, computed the way the
 * docker CLI computes them (cli/command/container/stats_helpers.go, 20.10):
 *
 * - CPU % = (cpu total delta / system delta) × online CPUs × 100, online CPUs falling back to
 *   the length of `percpu_usage`; 0 when either delta is not positive.
 * - memory used = usage − inactive page cache: `total_inactive_file` on cgroup v1,
 *   `inactive_file` on cgroup v2 (older CLIs subtracted `cache`; 20.10 and later do this, so
 *   the figure matches `docker stats` on this engine), and % of the limit.
 * - network and block I/O as bytes per second between two consecutive documents.
 */
import type { SummablePoint } from '../../../../schemas/src/stats-sums';

/** The parts of an engine stats document used here; every field may be missing. */
export interface RawStats {
  readonly read?: string;
  readonly cpu_stats?: RawCpuStats;
  readonly precpu_stats?: RawCpuStats;
  readonly memory_stats?: {
    readonly usage?: number;
    readonly limit?: number;
    readonly stats?: Readonly<Record<string, number>>;
  };
  readonly networks?: Readonly<Record<string, { readonly rx_bytes?: number; readonly tx_bytes?: number }>>;
  readonly blkio_stats?: {
    readonly io_service_bytes_recursive?: readonly { readonly op?: string; readonly value?: number }[] | null;
  };
}

interface RawCpuStats {
  readonly cpu_usage?: { readonly total_usage?: number; readonly percpu_usage?: readonly number[] | null };
  readonly system_cpu_usage?: number;
  readonly online_cpus?: number;
}

/** Cumulative I/O counters of one document, and when it was read. */
export interface IoCounters {
  /** Milliseconds since the epoch. */
  readonly t: number;
  readonly netRx: number;
  readonly netTx: number;
  readonly blockRead: number;
  readonly blockWrite: number;
}

/** One computed sample (rates in bytes per second; `t` in ms since the epoch): what stats sums add up. */
export type StatsPoint = SummablePoint;

/** Milliseconds since the epoch of the document, or undefined for the zero time the engine sends for a stopped container. */
export function readTime(raw: RawStats): number | undefined {
  if (!raw.read || raw.read.startsWith('0001-')) return undefined;
  const t = Date.parse(raw.read);
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

/** Whether the document carries a previous CPU reading to compute a CPU % from (the first one does not). */
export function hasCpuBaseline(raw: RawStats): boolean {
  return (raw.precpu_stats?.system_cpu_usage ?? 0) > 0;
}

/** CPU % of one document against its own previous reading (`precpu_stats`), as the docker CLI computes it. */
export function cpuPercent(raw: RawStats): number {
  const cpu = raw.cpu_stats;
  const pre = raw.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  let online = cpu?.online_cpus ?? 0;
  if (online === 0) online = cpu?.cpu_usage?.percpu_usage?.length ?? 0;
  if (systemDelta > 0 && cpuDelta > 0) return (cpuDelta / systemDelta) * online * 100;
  return 0;
}

/** Memory used without the reclaimable page cache, as the docker CLI shows it. */
export function memoryUsed(raw: RawStats): number {
  const usage = raw.memory_stats?.usage ?? 0;
  const stats = raw.memory_stats?.stats ?? {};
  const v1 = stats['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = stats['inactive_file'] ?? 0;
  return v2 < usage ? usage - v2 : usage;
}

/** The memory limit in bytes (the host's memory for a container without one). */
export function memoryLimit(raw: RawStats): number {
  return raw.memory_stats?.limit ?? 0;
}

/** Memory used as a % of the limit; 0 without a limit. */
export function memoryPercent(used: number, limit: number): number {
  return limit > 0 ? (used / limit) * 100 : 0;
}

/** The cumulative counters of a document read at `t`. */
export function ioCounters(raw: RawStats, t: number): IoCounters {
  let netRx = 0;
  let netTx = 0;
  for (const net of Object.values(raw.networks ?? {})) {
    netRx += net.rx_bytes ?? 0;
    netTx += net.tx_bytes ?? 0;
  }
  let blockRead = 0;
  let blockWrite = 0;
  for (const entry of raw.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op?.toLowerCase();
    if (op === 'read') blockRead += entry.value ?? 0;
    else if (op === 'write') blockWrite += entry.value ?? 0;
  }
  return { t, netRx, netTx, blockRead, blockWrite };
}

/** Bytes per second between two readings of a counter; 0 when it went backwards (a restart) or no time passed. */
export function rate(now: number, before: number, seconds: number): number {
  if (!(seconds > 0) || now < before) return 0;
  return (now - before) / seconds;
}

/**
 * What a document gives: undefined when the container is not running (the engine sends a
 * zero read time), else its counters (for the next document's rates) and its sample — absent
 * for a document without a CPU baseline (the first one of a stream, or after a restart).
 * `previous` are the counters of the document before it.
 */
export function toPoint(
  raw: RawStats,
  previous: IoCounters | undefined,
): { point: StatsPoint | undefined; counters: IoCounters } | undefined {
  const t = readTime(raw);
  if (t === undefined) return undefined;
  const counters = ioCounters(raw, t);
  if (!hasCpuBaseline(raw)) return { point: undefined, counters };
  const seconds = previous ? (t - previous.t) / 1000 : 0;
  const used = memoryUsed(raw);
  return {
    counters,
    point: {
      t,
      cpuPercent: cpuPercent(raw),
      memoryUsed: used,
      memoryLimit: memoryLimit(raw),
      netRxRate: previous ? rate(counters.netRx, previous.netRx, seconds) : 0,
      netTxRate: previous ? rate(counters.netTx, previous.netTx, seconds) : 0,
      blockReadRate: previous ? rate(counters.blockRead, previous.blockRead, seconds) : 0,
      blockWriteRate: previous ? rate(counters.blockWrite, previous.blockWrite, seconds) : 0,
    },
  };
}
