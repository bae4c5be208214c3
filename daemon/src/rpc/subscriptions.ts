/**
 * Subscriptions: the one mechanism behind every stream a client can open (logs, stats,
 * events, deployment progress). Items are queued, sent in batches as one notification
 * `{subscription, items}`, and never faster than the connection drains: when the transport
 * holds more than `HIGH_WATER_BYTES` unsent, batches wait. Producers learn to slow down from
 * `push()` returning false and resume after `waitForDrain()`; lossy streams (stats) drop
 * their oldest items instead and report how many in `dropped`.
 */
import { randomUUID } from 'node:crypto';
import type { NotificationName, NotificationParams, StreamItem } from '../../../schemas/src/index';
import type { Connection } from './transport';
import type { RpcError } from './errors';

export const HIGH_WATER_BYTES = 1 << 20;
/**
 * The items of one notification stay within this many bytes of JSON (an item larger than it
 * goes alone), so a batch of long log lines never outgrows the 4 MiB a client accepts in one
 * message (PROTOCOL_LIMITS.maxMessageBytes).
 */
export const MAX_BATCH_BYTES = 1 << 20;

export interface SubscriptionOptions {
  /** Drop the oldest items when the client cannot keep up, instead of asking the producer to wait. */
  readonly lossy?: boolean;
  /** Items held before `push` says "slow down" (or, when lossy, before the oldest is dropped). */
  readonly maxQueued?: number;
  /** Most items in one notification. */
  readonly maxBatch?: number;
  /** How long the first item of a batch may wait for company. */
  readonly batchMs?: number;
}

export type EndReason = 'cancelled' | 'completed' | 'failed' | 'shutdown';

interface Sink {
  readonly connection: Connection;
  notify(method: string, params: unknown): void;
  forget(id: string): void;
}

export class Subscription<T> {
  readonly id = randomUUID();
  private readonly controller = new AbortController();
  private queue: T[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  private drainWaiters: (() => void)[] = [];
  private endParams: NotificationParams<'subscription/end'> | undefined;
  private readonly opts: Required<SubscriptionOptions>;
  private resolveFinished!: () => void;
  /** Resolves once the end has been delivered (or the connection is gone). */
  readonly finished = new Promise<void>((resolve) => (this.resolveFinished = resolve));

  constructor(
    readonly notification: NotificationName,
    private readonly sink: Sink,
    opts: SubscriptionOptions = {},
  ) {
    this.opts = { lossy: false, maxQueued: 5000, maxBatch: 1000, batchMs: 10, ...opts };
  }

  /** Aborted when the subscription ends for any reason; producers stop on it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get ended(): boolean {
    return this.controller.signal.aborted;
  }

  /** Queues an item. Returns false when the producer should wait for `waitForDrain()`. */
  push(item: T): boolean {
    if (this.ended) return false;
    this.queue.push(item);
    if (this.queue.length > this.opts.maxQueued) {
      if (this.opts.lossy) {
        this.dropped += this.queue.length - this.opts.maxQueued;
        this.queue.splice(0, this.queue.length - this.opts.maxQueued);
      } else if (this.queue.length > this.opts.maxQueued * 4) {
        // The producer ignored the signal to slow down: protect the daemon's memory.
        this.end('failed', undefined, 'The client did not read fast enough; the stream was ended.');
        return false;
      }
    }
    this.schedule(this.opts.batchMs);
    return this.opts.lossy || this.queue.length < this.opts.maxQueued;
  }

  /** Resolves once the queue is below half its limit, or the subscription ended. */
  waitForDrain(): Promise<void> {
    if (this.ended || this.queue.length < this.opts.maxQueued / 2) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Ends the subscription: queued items are still delivered, then `subscription/end`.
   * Ending twice is harmless.
   */
  end(reason: EndReason, error?: RpcError, message?: string): void {
    if (this.ended) return;
    const errorObject = error
      ? { code: error.code, message: error.message }
      : message
        ? { code: -32603, message }
        : undefined;
    this.endParams = { subscription: this.id, reason, ...(errorObject ? { error: errorObject } : {}) };
    this.controller.abort();
    this.releaseWaiters();
    this.schedule(0);
  }

  /** Ends at once without delivering what is queued: the connection is gone. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
    if (!this.ended) this.controller.abort();
    this.releaseWaiters();
    this.sink.forget(this.id);
    this.resolveFinished();
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        if (this.sink.connection.bufferedAmount() > HIGH_WATER_BYTES) await this.sink.connection.whenDrained();
        const items = this.takeBatch();
        const dropped = this.dropped;
        this.dropped = 0;
        this.sink.notify(this.notification, { subscription: this.id, items, ...(dropped ? { dropped } : {}) });
        if (this.queue.length < this.opts.maxQueued / 2) this.releaseWaiters();
      }
      if (this.endParams) {
        this.sink.notify('subscription/end', this.endParams);
        this.endParams = undefined;
        this.sink.forget(this.id);
        this.resolveFinished();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The next batch: at most `maxBatch` items and MAX_BATCH_BYTES of them, at least one. */
  private takeBatch(): T[] {
    const most = Math.min(this.opts.maxBatch, this.queue.length);
    let bytes = 0;
    let n = 0;
    while (n < most) {
      const size = Buffer.byteLength(JSON.stringify(this.queue[n]) ?? '', 'utf8');
      if (n > 0 && bytes + size > MAX_BATCH_BYTES) break;
      bytes += size;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private releaseWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}


export type StreamItemOf<N extends NotificationName> = StreamItem<N>;
