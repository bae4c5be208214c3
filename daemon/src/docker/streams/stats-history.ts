/**
 * The stats history of one container: a ring of the last `capacity` samples (an hour at the
 * engine's one sample a second by default) in one Float64Array allocated at once, so memory per
 * container is bounded (3600 × 8 × 8 bytes ≈ 225 KiB) however long it is collected — though the
 * process's resident memory grows into that bound over the first hour, as the ring's pages are
 * first written (the kernel maps them on first touch). The sum of
 * several containers' histories for a sandbox is the shared rule of `schemas/src/stats-sums.ts`.
 */
import type { StatsPoint } from './stats-math';

/** One hour of samples at one a second. */
export const DEFAULT_HISTORY_SAMPLES = 3600;

const FIELDS = 8;

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

export { sumBySecond, type SummedPoint } from '../../../../schemas/src/stats-sums';
