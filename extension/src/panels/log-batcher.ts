/**
 * Lines from one or more log sources into batches for the Logs webview: merged by timestamp,
 * at most one flush per `intervalMs`, at most `maxBatchLines` per message, and at most
 * `maxInFlight` batches the webview has not acknowledged yet. What cannot be sent waits here;
 * past `highWater` waiting lines the batcher asks its sources to stop (`onPressure(true)`)
 * and lets them go again below `lowWater` — so a lagging panel slows the daemon down instead
 * of drowning.
 *
 * Merge order: each source's lines keep their order; across sources a line is released only
 * once no other source with waiting lines can still deliver an earlier one (a watermark: the
 * smallest latest timestamp among sources that have lines waiting). A source with nothing
 * waiting is caught up and holds nothing back, so a line waits at most one extra flush.
 *
 * Pure: no `vscode`, no I/O; the clock is injectable.
 */
import type { LogRecord } from '../../../schemas/src/docker-streams';
import { timestampMs, type LogLine, type LogsBatch } from '../../../schemas/src/webview';
import { systemClock, type Clock } from '../restart-policy';

/** The part of the extension's clock a batcher uses: its flush timer. */
export type BatchClock = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

export interface BatcherOptions {
  readonly intervalMs: number;
  readonly maxBatchLines: number;
  readonly maxInFlight: number;
  readonly highWater: number;
  readonly lowWater: number;
}

export const DEFAULT_BATCHER: BatcherOptions = {
  intervalMs: 50,
  maxBatchLines: 20_000,
  maxInFlight: 3,
  highWater: 200_000,
  lowWater: 50_000,
};

/** A FIFO of lines with O(1) shift (an array and a head index, compacted now and then). */
class LineQueue {
  private items: LogLine[] = [];
  private head = 0;
  /** The latest timestamp ever queued here (never decreases, even if a source's clock does). */
  maxTs = -Infinity;

  get length(): number {
    return this.items.length - this.head;
  }
  peek(): LogLine | undefined {
    return this.items[this.head];
  }
  push(line: LogLine): void {
    this.items.push(line);
    if (line.ts > this.maxTs) this.maxTs = line.ts;
  }
  shift(): LogLine | undefined {
    const line = this.items[this.head++];
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return line;
  }
}

export class LogBatcher {
  private readonly queues: LineQueue[];
  private waiting = 0;
  private seq = 0;
  private readonly inFlight = new Set<number>();
  private timer: unknown;
  private throttled = false;
  private disposed = false;
  private readonly options: BatcherOptions;

  constructor(
    sourceCount: number,
    private readonly send: (batch: LogsBatch) => void,
    private readonly onPressure: (throttle: boolean) => void = () => undefined,
    options: Partial<BatcherOptions> = {},
    private readonly clock: BatchClock = systemClock,
  ) {
    this.queues = Array.from({ length: sourceCount }, () => new LineQueue());
    this.options = { ...DEFAULT_BATCHER, ...options };
  }

  /** Lines waiting to be sent. */
  get pending(): number {
    return this.waiting;
  }

  /** Batches sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.inFlight.size;
  }

  get isThrottled(): boolean {
    return this.throttled;
  }

  /** Records of source `src`, in the order the daemon sent them. */
  push(src: number, records: readonly LogRecord[]): void {
    const queue = this.queues[src];
    if (!queue || this.disposed || records.length === 0) return;
    for (const r of records) queue.push({ src, err: r.stream === 'stderr', ts: timestampMs(r.t), text: r.line });
    this.waiting += records.length;
    if (!this.throttled && this.waiting > this.options.highWater) {
      this.throttled = true;
      this.onPressure(true);
    }
    this.schedule();
  }

  /**
   * A line of the extension's own in source `src`'s order (a redeploy marker), at `ts` (ms since
   * the epoch): after every line pushed before it, before every line pushed after it.
   */
  mark(src: number, text: string, ts: number): void {
    const queue = this.queues[src];
    if (!queue || this.disposed) return;
    queue.push({ src, err: false, ts, text, marker: true });
    this.waiting += 1;
    this.schedule();
  }

  /** The webview applied batch `seq`. */
  ack(seq: number): void {
    if (!this.inFlight.delete(seq)) return;
    if (this.waiting > 0) this.schedule();
  }

  /**
   * Sends what may be sent now: as many batches as the in-flight window allows. With `all`,
   * also lines the watermark holds back (the sources are done or paused).
   */
  flush(all = false): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    // The watermark, once per flush: no source with lines waiting may still send one earlier.
    let horizon = Infinity;
    if (!all && this.queues.length > 1) for (const q of this.queues) if (q.length > 0) horizon = Math.min(horizon, q.maxTs);
    while (!this.disposed && this.waiting > 0 && this.inFlight.size < this.options.maxInFlight) {
      const lines = this.take(horizon);
      if (lines.length === 0) break;
      const seq = ++this.seq;
      this.inFlight.add(seq);
      this.send({ type: 'logs/batch', seq, lines });
    }
    if (this.throttled && this.waiting < this.options.lowWater) {
      this.throttled = false;
      this.onPressure(false);
    }
    // Held back by the watermark: try again next interval.
    if (this.waiting > 0 && this.inFlight.size < this.options.maxInFlight) this.schedule();
  }

  /**
   * Sends every line still waiting, whatever the in-flight window, then stops: for a feed
   * handing over to the next one, so the panel has every line the sources passed on.
   */
  drain(): void {
    while (!this.disposed && this.waiting > 0) {
      const lines = this.take(Infinity);
      if (lines.length === 0) break;
      this.send({ type: 'logs/batch', seq: ++this.seq, lines });
    }
    this.dispose();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.disposed) return;
    if (this.inFlight.size >= this.options.maxInFlight) return; // the next ack schedules
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.options.intervalMs);
  }

  /** The next batch in merge order, up to `maxBatchLines`. */
  private take(horizon: number): LogLine[] {
    const max = this.options.maxBatchLines;
    const out: LogLine[] = [];
    const queues = this.queues;
    if (queues.length === 1) {
      const q = queues[0]!;
      while (out.length < max && q.length > 0) out.push(q.shift()!);
      this.waiting -= out.length;
      return out;
    }
    while (out.length < max) {
      let best: LineQueue | undefined;
      let bestTs = Infinity;
      for (const q of queues) {
        const head = q.peek();
        if (head !== undefined && head.ts <= horizon && (best === undefined || head.ts < bestTs)) {
          best = q;
          bestTs = head.ts;
        }
      }
      if (!best) break;
      out.push(best.shift()!);
    }
    this.waiting -= out.length;
    return out;
  }
}
