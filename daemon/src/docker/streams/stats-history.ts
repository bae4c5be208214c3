/**
 * The stats history of one container: a ring of the last `capacity` samples (an hour at the
 * engine's one sample a second by default) in one preallocated Float64Array, so memory per
 * container is fixed (3600 × 8 × 8 bytes ≈ 225 KiB) however long it is collected. And the sum of
 * several containers' histories, aligned to whole seconds, for a sandbox.
 */
import type { StatsPoint } from './stats-math';

/** One hour of samples at one a second. */
export const DEFAULT_HISTORY_SAMPLES = 3600;

const FIELDS = 8;
/** How long a container's last sample still counts in a sum when its next one is late. */
const CARRY_SECONDS = 2;

/** A fixed-size ring of one container's samples, oldest overwritten first. */
export class StatsHistory {
  private readonly data: Float64Array;
  /** Index of the oldest sample. */
  private head = 0;
  private count = 0;

  constructor(readonly capacity = DEFAULT_HISTORY_SAMPLES) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`history capacity must be a positive integer, not ${capacity}`);
    this.data = new Float64Array(capacity * FIELDS);
  }

  get size(): number {
    return this.count;
  }

  /** Appends a sample, overwriting the oldest once full. */
  push(p: StatsPoint): void {
    const slot = (this.head + this.count) % this.capacity;
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
    const o = slot * FIELDS;
    const d = this.data;
    d[o] = p.t;
    d[o + 1] = p.cpuPercent;
    d[o + 2] = p.memoryUsed;
    d[o + 3] = p.memoryLimit;
    d[o + 4] = p.netRxRate;
    d[o + 5] = p.netTxRate;
    d[o + 6] = p.blockReadRate;
    d[o + 7] = p.blockWriteRate;
  }

  /** Samples taken at or after `sinceMs` (all when omitted), oldest first. */
  since(sinceMs = -Infinity): StatsPoint[] {
    // Samples are in time order: binary search for the first one at or after `sinceMs`.
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) < sinceMs) lo = mid + 1;
      else hi = mid;
    }
    const out: StatsPoint[] = [];
    for (let i = lo; i < this.count; i++) out.push(this.at(i));
    return out;
  }

  /** The newest sample. */
  latest(): StatsPoint | undefined {
    return this.count === 0 ? undefined : this.at(this.count - 1);
  }

  private timeAt(i: number): number {
    return this.data[((this.head + i) % this.capacity) * FIELDS] ?? 0;
  }

  private at(i: number): StatsPoint {
    const o = ((this.head + i) % this.capacity) * FIELDS;
    const d = this.data;
    return {
      t: d[o] ?? 0,
      cpuPercent: d[o + 1] ?? 0,
      memoryUsed: d[o + 2] ?? 0,
      memoryLimit: d[o + 3] ?? 0,
      netRxRate: d[o + 4] ?? 0,
      netTxRate: d[o + 5] ?? 0,
      blockReadRate: d[o + 6] ?? 0,
      blockWriteRate: d[o + 7] ?? 0,
    };
  }
}

/** A sum of several containers' samples at one second. */
export interface SummedPoint extends StatsPoint {
  /** How many containers contributed. */
  readonly containers: number;
}

/**
 * Sums several containers' series (each oldest first) second by second. Each container's
 * samples are placed on the nearest whole second; a second where a container has no sample
 * (the engine's ticks drift) uses its previous one if at most 2 s old.
 */
export function sumBySecond(series: readonly (readonly StatsPoint[])[]): SummedPoint[] {
  const bySecond = series.map((points) => {
    const m = new Map<number, StatsPoint>();
    for (const p of points) m.set(Math.round(p.t / 1000), p);
    return m;
  });
  const seconds = [...new Set(bySecond.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const last: ({ second: number; point: StatsPoint } | undefined)[] = series.map(() => undefined);
  const out: SummedPoint[] = [];
  for (const second of seconds) {
    const sum = {
      cpuPercent: 0,
      memoryUsed: 0,
      memoryLimit: 0,
      netRxRate: 0,
      netTxRate: 0,
      blockReadRate: 0,
      blockWriteRate: 0,
    };
    let containers = 0;
    bySecond.forEach((m, i) => {
      const exact = m.get(second);
      if (exact) last[i] = { second, point: exact };
      const use = last[i];
      if (!use || second - use.second > CARRY_SECONDS) return;
      containers++;
      sum.cpuPercent += use.point.cpuPercent;
      sum.memoryUsed += use.point.memoryUsed;
      sum.memoryLimit += use.point.memoryLimit;
      sum.netRxRate += use.point.netRxRate;
      sum.netTxRate += use.point.netTxRate;
      sum.blockReadRate += use.point.blockReadRate;
      sum.blockWriteRate += use.point.blockWriteRate;
    });
    if (containers > 0) out.push({ t: second * 1000, containers, ...sum });
  }
  return out;
}
