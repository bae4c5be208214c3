/**
 * The working tree's changes, batched: a native recursive watcher (@parcel/watcher: inotify on
 * Linux, FSEvents on macOS, ReadDirectoryChangesW on Windows — the one VS Code and Parcel use)
 * over the repository root, `.git/` never reported, and the events of a burst gathered until
 * the tree has been quiet for {@link QUIET_PERIOD_MS}. Each path's last event wins (a file
 * written then removed is `deleted`; removed then written again, `changed`). Batches are
 * handed over one at a time: changes arriving while one is acted on wait for the next.
 */
import * as watcher from '@parcel/watcher';
import { relative, sep } from 'node:path';
import type { Change, FileChange } from './rule-match';

/**
 * How long the tree must be quiet before a batch is acted on. 200 ms, Tilt's value rather than
 * compose's 500 ms: an editor's save, a formatter rewriting a file, or `git checkout` writing
 * thousands of files land within tens of milliseconds of each other, so 200 ms gathers them
 * into one batch while keeping save-to-served well under a second (P8's goal); compose's
 * 500 ms would spend half of that budget waiting.
 */
export const QUIET_PERIOD_MS = 200;

/** A tree that never stops changing (a log written inside it) is still acted on this often. */
export const MAX_BATCH_DELAY_MS = 5_000;

export interface TreeWatcherOptions {
  readonly quietMs?: number;
  readonly maxDelayMs?: number;
  /** Acts on one batch; the next batch waits until it settles. */
  readonly onBatch: (changes: FileChange[]) => Promise<void>;
  /** The native watcher failed: no more batches come. */
  readonly onError: (error: Error) => void;
}

export class TreeWatcher {
  private readonly pending = new Map<string, Change>();
  private quietTimer: NodeJS.Timeout | undefined;
  private firstPendingAt = 0;
  private running: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly root: string,
    private readonly opts: TreeWatcherOptions,
    private subscription?: watcher.AsyncSubscription,
  ) {}

  /** Watches `root` (absolute) until {@link stop}. */
  static async start(root: string, opts: TreeWatcherOptions): Promise<TreeWatcher> {
    const tree = new TreeWatcher(root, opts);
    tree.subscription = await watcher.subscribe(
      root,
      (error, events) => {
        if (error) return tree.fail(error);
        for (const e of events) tree.add(e.path, e.type === 'delete' ? 'deleted' : 'changed');
      },
      { ignore: ['.git'] },
    );
    return tree;
  }

  /** Stops watching; a batch being acted on is waited for, changes not yet handed over are dropped. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.quietTimer);
    this.pending.clear();
    await this.subscription?.unsubscribe().catch(() => undefined);
    await this.running;
  }

  private add(absolute: string, change: Change): void {
    if (this.stopped) return;
    const path = relative(this.root, absolute).split(sep).join('/');
    if (path === '' || path.startsWith('..') || path === '.git' || path.startsWith('.git/')) return;
    if (this.pending.size === 0) this.firstPendingAt = Date.now();
    this.pending.set(path, change);
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.quietTimer);
    if (this.running) return; // flushed when the batch in hand settles
    const quiet = this.opts.quietMs ?? QUIET_PERIOD_MS;
    const overdue = this.firstPendingAt + (this.opts.maxDelayMs ?? MAX_BATCH_DELAY_MS) - Date.now();
    this.quietTimer = setTimeout(() => this.flush(), Math.max(0, Math.min(quiet, overdue)));
  }

  private flush(): void {
    if (this.stopped || this.pending.size === 0 || this.running) return;
    const batch = [...this.pending].map(([path, change]) => ({ path, change }));
    this.pending.clear();
    this.running = this.opts
      .onBatch(batch)
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.pending.size) this.schedule();
      });
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.opts.onError(error);
  }
}
