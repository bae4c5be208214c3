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
 * A source that is a service (`sandbox` + `service`) follows the service: the feed watches its
 * sandbox (sandbox-watch.ts) and reads whichever container serves it (targets.ts). After a
 * redeploy, the old container's stream is read to its end (its removal; at most
 * `switchGraceMs`), then a marker line ("— redeployed: now container … —") and the new
 * container's whole log follow in the same panel. When the sandbox is deleted, the sources stop,
 * the panel keeps its lines and shows a banner.
 *
 * No `vscode`: the integration tests and the benchmark run it against a real daemon.
 */
import type { BranchboxClient } from '../../../schemas/src/client';
import type { LogRecord } from '../../../schemas/src/docker-streams';
import type { LogSourceRef, ToWebview } from '../../../schemas/src/webview';
import { systemClock } from '../restart-policy';
import { LogBatcher, type BatchClock, type BatcherOptions } from './log-batcher';
import { SandboxWatch } from './sandbox-watch';
import { LogTargets, deletedBanner, redeployMarker, type SourceTarget } from './targets';

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
  /** How long a redeployed service's old container is read on before the switch to the new one (default 5 s). */
  readonly switchGraceMs?: number;
  /** The time of a marker line (default Date.now). */
  readonly now?: () => number;
}

/** Where a source's log was read to: the container, the engine timestamp of the last line passed on, and how many lines carried it. */
export interface LogPosition {
  readonly container: string;
  readonly t: string;
  readonly atT: number;
}

export const DEFAULT_TAIL = 10_000;
export const SWITCH_GRACE_MS = 5_000;

export class LogFeed {
  readonly batcher: LogBatcher;
  private readonly followers: SourceFollower[];
  private readonly targets: LogTargets;
  private watch: SandboxWatch | undefined;
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
    this.targets = new LogTargets(options.sources);
  }

  /**
   * Finds the container serving each service source (watching their sandboxes from then on),
   * then opens every source's subscription; resolves once all are open (or failed).
   */
  async start(): Promise<void> {
    const sandboxes = this.targets.sandboxes;
    if (sandboxes.length > 0) {
      const watch = await SandboxWatch.start(this.options.client, sandboxes, (name, sandbox) => this.retarget(name, sandbox === undefined, this.targets.update(name, sandbox), true));
      if (this.disposed) return void watch.dispose();
      this.watch = watch;
      for (const name of sandboxes) {
        const now = watch.sandbox(name);
        this.retarget(name, now === undefined, this.targets.update(name, now), false);
      }
    }
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
    const watch = this.watch;
    this.watch = undefined;
    await Promise.all([...this.followers.map((f) => f.close()), watch?.dispose()]);
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

  /** The sources with the containers they read now (a service's after its redeploys). */
  get currentSources(): LogSourceRef[] {
    return this.options.sources.map((s, src) => ({ ...s, container: this.followers[src]!.current }));
  }

  /** For SourceFollower. */
  get client(): LogClient {
    return this.options.client;
  }

  /** For SourceFollower. */
  get clock(): BatchClock {
    return this.options.clock ?? systemClock;
  }

  /** For SourceFollower. */
  get switchGraceMs(): number {
    return this.options.switchGraceMs ?? SWITCH_GRACE_MS;
  }

  /** For SourceFollower: a marker line in `src`'s log, now. */
  marker(src: number, text: string): void {
    if (!this.disposed) this.batcher.mark(src, text, (this.options.now ?? Date.now)());
  }

  /** Sources of sandbox `name` switch (`live`: while the panel follows them, so say so with a marker). */
  private retarget(name: string, deleted: boolean, switches: readonly { src: number; to: SourceTarget }[], live: boolean): void {
    if (this.disposed) return;
    for (const { src, to } of switches) this.followers[src]!.switchTo(to, live);
    if (deleted) this.options.post({ type: 'banner', kind: 'deleted', text: deletedBanner(name) });
  }

  /** For SourceFollower. */
  status(src: number, state: 'following' | 'throttled' | 'waiting' | 'ended' | 'failed', detail?: string): void {
    if (this.disposed) return;
    this.options.post({ type: 'logs/source', src, state, ...(detail !== undefined ? { detail } : {}) });
    if (state === 'failed') this.options.onError?.(this.options.sources[src]!, detail ?? 'failed');
    // A source that ended holds nothing back any more.
    if (state === 'ended' || state === 'failed' || state === 'waiting') this.batcher.flush(this.followers.every((f) => !f.live));
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
  /** The container read now (a service source's changes on redeploys). */
  private container: string;
  private cancel: (() => Promise<void>) | undefined;
  /** The engine timestamp of the last line passed on, and how many lines carried it. */
  private lastT: string | undefined;
  private atLastT = 0;
  /** Lines at `lastT` still to skip after resuming. */
  private skip = 0;
  private opening = false;
  private paused = false;
  private ended = false;
  /** A service no container serves: nothing to read until the next deployment. */
  private waiting = false;
  /** Bumped on each (re)subscription: batches of an older one are ignored. */
  private generation = 0;
  /** A switch waiting for the old container's stream to end, and its deadline. */
  private next: { to: SourceTarget; marker: boolean } | undefined;
  private nextTimer: unknown;
  /** Lines from the end to start with; a container switched to live is read whole. */
  private tail: number | 'all';
  /** The panel holds lines of an earlier feed (a resume after a lost connection). */
  private readonly continuing: boolean;

  constructor(
    private readonly feed: LogFeed,
    private readonly source: LogSourceRef,
    private readonly src: number,
    tail: number | 'all',
    from: LogPosition | undefined,
  ) {
    // Resuming: on the container the earlier feed read (a service's, after its redeploys).
    this.container = from?.container ?? source.container;
    this.tail = tail;
    this.continuing = from !== undefined;
    if (from) {
      this.lastT = from.t;
      this.atLastT = from.atT;
    }
  }

  get live(): boolean {
    return !this.ended && !this.waiting;
  }

  /** The container read now. */
  get current(): string {
    return this.container;
  }

  get position(): LogPosition | undefined {
    return this.lastT === undefined ? undefined : { container: this.container, t: this.lastT, atT: this.atLastT };
  }

  /**
   * Reads `to` from now on. A container switched to while another streams: that one is read to
   * its end first (or for the grace period). `marker`: say so in the log with a marker line.
   */
  switchTo(to: SourceTarget, marker: boolean): void {
    if (to.kind === 'container' && to.container === this.container && !this.ended && !this.waiting) {
      this.next = undefined;
      return;
    }
    this.next = { to, marker };
    if (to.kind === 'container' && (this.cancel || this.opening)) {
      this.nextTimer ??= this.feed.clock.setTimeout(() => this.switchNow(), this.feed.switchGraceMs);
      return;
    }
    this.switchNow();
  }

  private switchNow(): void {
    if (this.nextTimer !== undefined) this.feed.clock.clearTimeout(this.nextTimer);
    this.nextTimer = undefined;
    const next = this.next;
    this.next = undefined;
    if (!next || this.feed.isDisposed) return;
    const old = this.cancel;
    this.cancel = undefined;
    this.generation++;
    void old?.().catch(() => undefined);
    const { to } = next;
    const resumable = to.kind === 'container' && to.container === this.container;
    if (!resumable) {
      this.lastT = undefined;
      this.atLastT = 0;
    }
    this.skip = 0;
    switch (to.kind) {
      case 'container':
        this.ended = false;
        this.waiting = false;
        if (!resumable && (next.marker || this.continuing)) {
          this.feed.marker(this.src, redeployMarker(to));
          this.tail = 'all';
        }
        this.container = to.container;
        void this.open();
        return;
      case 'waiting':
        this.waiting = true;
        this.feed.status(this.src, 'waiting', `no container serves ${this.source.service ?? this.source.label} now; its next deployment is followed`);
        return;
      case 'deleted':
        this.ended = true;
        this.feed.status(this.src, 'ended', `sandbox ${to.sandbox} was deleted`);
        return;
    }
  }

  async open(): Promise<void> {
    if (this.feed.isDisposed || this.ended || this.waiting || this.opening || this.cancel) return;
    this.opening = true;
    const generation = ++this.generation;
    const resuming = this.lastT !== undefined;
    this.skip = resuming ? this.atLastT : 0;
    this.paused = false;
    try {
      const sub = await this.feed.client.subscribe(
        'container/logs',
        { id: this.container, follow: true, timestamps: true, ...(resuming ? { since: this.lastT! } : { tail: this.tail }) },
        'container/logs/data',
        {
          onItems: (items) => {
            if (generation === this.generation) this.accept(items);
          },
          onEnd: (end) => {
            if (generation !== this.generation) return;
            this.cancel = undefined;
            if (end.reason === 'cancelled' && this.paused) return;
            // The old container of a redeployed service ended: on to the new one.
            if (this.next) return this.switchNow();
            this.ended = true;
            if (end.reason === 'failed') this.feed.status(this.src, 'failed', end.error?.message ?? 'the log stream failed');
            else this.feed.status(this.src, 'ended', end.reason === 'completed' ? 'the container was removed' : end.reason);
          },
        },
      );
      this.cancel = sub.cancel;
      if (this.feed.isDisposed || this.paused || generation !== this.generation) {
        if (this.cancel === sub.cancel) this.cancel = undefined;
        await sub.cancel().catch(() => undefined);
      } else {
        this.feed.status(this.src, 'following');
      }
    } catch (e) {
      if (generation === this.generation && this.next) this.switchNow();
      else if (generation === this.generation) {
        this.ended = true;
        this.feed.status(this.src, 'failed', (e as Error).message);
      }
    } finally {
      this.opening = false;
    }
    // Switched while this subscription was being opened: open the new target.
    if (generation !== this.generation && !this.paused) void this.open();
  }

  async pause(): Promise<void> {
    if (this.ended || this.waiting || this.paused) return;
    this.paused = true;
    this.feed.status(this.src, 'throttled');
    const cancel = this.cancel;
    this.cancel = undefined;
    this.generation++; // lines still in flight from this subscription are dropped: the resume re-reads them
    await cancel?.().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.ended = true;
    this.next = undefined;
    if (this.nextTimer !== undefined) this.feed.clock.clearTimeout(this.nextTimer);
    this.nextTimer = undefined;
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
