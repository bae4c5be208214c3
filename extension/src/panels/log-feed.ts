/**
 * The daemon side of a Logs panel: one `container/logs` follow subscription per source, their
 * lines through a `LogBatcher` into `logs/batch` messages, and the sources' states as
 * `logs/source` messages. Disposing cancels every subscription in the daemon.
 *
 * Flow control: the daemon paces a subscription by its connection, which the extension
 * shares with everything else, so a lagging panel must not stop reading the socket. Instead,
 * when the batcher has too many lines waiting, each source cancels its subscription and,
 * once the panel has caught up, subscribes again from the timestamp of the last line it got
 * (`since`, inclusive), skipping the lines at that instant it has already passed on. Nothing
 * is lost or repeated, and the daemon reads nothing while the panel is behind. The same holds
 * across a lost connection to the daemon: `handOver` gives the panel what waits and says where
 * each source stopped, and the next feed (`resumeFrom`) reads on from there.
 *
 * No `vscode`: the integration tests and the benchmark run it against a real daemon.
 */
import type { BranchboxClient } from '../../../schemas/src/client';
import type { LogRecord } from '../../../schemas/src/docker-streams';
import type { LogSourceRef, ToWebview } from '../../../schemas/src/webview';
import { systemClock } from '../restart-policy';
import { LogBatcher, type BatchClock, type BatcherOptions } from './log-batcher';

export type LogClient = Pick<BranchboxClient, 'subscribe' | 'request'>;

export interface LogFeedOptions {
  readonly client: LogClient;
  readonly sources: readonly LogSourceRef[];
  /** What the panel receives. */
  readonly post: (message: ToWebview) => void;
  /** Lines from the end of each log to start with (default 10 000). */
  readonly tail?: number | 'all';
  readonly batcher?: Partial<BatcherOptions>;
  readonly clock?: BatchClock;
  /** Told about subscriptions that fail (for the extension's log). */
  readonly onError?: (source: LogSourceRef, message: string) => void;
  /** Per source, where an earlier feed of the same panel stopped ({@link LogFeed.handOver}): read on right after it. */
  readonly resumeFrom?: readonly (LogPosition | undefined)[];
}

/** Where a source's log was read to: the engine timestamp of the last line passed on, and how many lines carried it. */
export interface LogPosition {
  readonly t: string;
  readonly atT: number;
}

export const DEFAULT_TAIL = 10_000;

export class LogFeed {
  readonly batcher: LogBatcher;
  private readonly followers: SourceFollower[];
  private disposed = false;

  constructor(private readonly options: LogFeedOptions) {
    this.batcher = new LogBatcher(
      options.sources.length,
      (batch) => options.post(batch),
      (throttle) => this.onPressure(throttle),
      options.batcher,
      options.clock ?? systemClock,
    );
    this.followers = options.sources.map(
      (source, src) => new SourceFollower(this, source, src, options.tail ?? DEFAULT_TAIL, options.resumeFrom?.[src]),
    );
  }

  /** Opens every source's subscription; resolves once all are open (or failed). */
  async start(): Promise<void> {
    await Promise.all(this.followers.map((f) => f.open()));
  }

  /** The webview applied batch `seq`. */
  ack(seq: number): void {
    this.batcher.ack(seq);
  }

  /** Cancels every subscription and drops what waits. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.batcher.dispose();
    await Promise.all(this.followers.map((f) => f.close()));
  }

  /**
   * Ends the feed for a successor on the same panel (the connection to the daemon was lost):
   * sends the panel every line still waiting, cancels the subscriptions, and answers where
   * each source stopped, for the successor's `resumeFrom`.
   */
  handOver(): (LogPosition | undefined)[] {
    if (!this.disposed) this.batcher.drain();
    const positions = this.followers.map((f) => f.position);
    void this.dispose();
    return positions;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** For SourceFollower. */
  get client(): LogClient {
    return this.options.client;
  }

  /** For SourceFollower. */
  status(src: number, state: 'following' | 'throttled' | 'ended' | 'failed', detail?: string): void {
    if (this.disposed) return;
    this.options.post({ type: 'logs/source', src, state, ...(detail !== undefined ? { detail } : {}) });
    if (state === 'failed') this.options.onError?.(this.options.sources[src]!, detail ?? 'failed');
    // A source that ended holds nothing back any more.
    if (state === 'ended' || state === 'failed') this.batcher.flush(this.followers.every((f) => !f.live));
  }

  private onPressure(throttle: boolean): void {
    if (this.disposed) return;
    for (const f of this.followers) {
      if (throttle) void f.pause();
      else void f.open();
    }
  }
}

/** One source: its subscription, and where to resume after a pause. */
class SourceFollower {
  private cancel: (() => Promise<void>) | undefined;
  /** The engine timestamp of the last line passed on, and how many lines carried it. */
  private lastT: string | undefined;
  private atLastT = 0;
  /** Lines at `lastT` still to skip after resuming. */
  private skip = 0;
  private opening = false;
  private paused = false;
  private ended = false;
  /** Bumped on each (re)subscription: batches of an older one are ignored. */
  private generation = 0;

  constructor(
    private readonly feed: LogFeed,
    private readonly source: LogSourceRef,
    private readonly src: number,
    private readonly tail: number | 'all',
    from: LogPosition | undefined,
  ) {
    this.lastT = from?.t;
    this.atLastT = from?.atT ?? 0;
  }

  get live(): boolean {
    return !this.ended;
  }

  get position(): LogPosition | undefined {
    return this.lastT === undefined ? undefined : { t: this.lastT, atT: this.atLastT };
  }

  async open(): Promise<void> {
    if (this.feed.isDisposed || this.ended || this.opening || this.cancel) return;
    this.opening = true;
    const generation = ++this.generation;
    const resuming = this.lastT !== undefined;
    this.skip = resuming ? this.atLastT : 0;
    this.paused = false;
    try {
      const sub = await this.feed.client.subscribe(
        'container/logs',
        { id: this.source.container, follow: true, timestamps: true, ...(resuming ? { since: this.lastT! } : { tail: this.tail }) },
        'container/logs/data',
        {
          onItems: (items) => {
            if (generation === this.generation) this.accept(items);
          },
          onEnd: (end) => {
            if (generation !== this.generation) return;
            this.cancel = undefined;
            if (end.reason === 'cancelled' && this.paused) return;
            this.ended = true;
            if (end.reason === 'failed') this.feed.status(this.src, 'failed', end.error?.message ?? 'the log stream failed');
            else this.feed.status(this.src, 'ended', end.reason === 'completed' ? 'the container was removed' : end.reason);
          },
        },
      );
      this.cancel = sub.cancel;
      if (this.feed.isDisposed || this.paused) {
        this.cancel = undefined;
        await sub.cancel().catch(() => undefined);
      } else {
        this.feed.status(this.src, 'following');
      }
    } catch (e) {
      this.ended = true;
      this.feed.status(this.src, 'failed', (e as Error).message);
    } finally {
      this.opening = false;
    }
  }

  async pause(): Promise<void> {
    if (this.ended || this.paused) return;
    this.paused = true;
    this.feed.status(this.src, 'throttled');
    const cancel = this.cancel;
    this.cancel = undefined;
    this.generation++; // lines still in flight from this subscription are dropped: the resume re-reads them
    await cancel?.().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.ended = true;
    this.generation++;
    const cancel = this.cancel;
    this.cancel = undefined;
    await cancel?.().catch(() => undefined);
  }

  private accept(items: readonly LogRecord[]): void {
    let start = 0;
    if (this.skip > 0) {
      // After a resume: `since` is inclusive, so lines at lastT we already passed on come again.
      while (start < items.length && this.skip > 0 && items[start]!.t === this.lastT) {
        start++;
        this.skip--;
      }
      if (start < items.length) this.skip = 0;
    }
    for (let i = start; i < items.length; i++) {
      const t = items[i]!.t;
      if (t === this.lastT) this.atLastT++;
      else {
        this.lastT = t;
        this.atLastT = 1;
      }
    }
    this.feed.batcher.push(this.src, start === 0 ? items : items.slice(start));
  }
}
