/**
 * The working tree's changes, batched: a native recursive watcher (@parcel/watcher: inotify on
 * Linux, FSEvents on macOS, ReadDirectoryChangesW on Windows — the one VS Code and Parcel use)
 * over the repository root, `.git/` never reported, and the events of a burst gathered until
 * the tree has been quiet for {@link QUIET_PERIOD_MS}. Each path's last event wins (a file
 * written then removed is `deleted`; removed then written again, `changed`). Batches are
 * handed over one at a time: changes arriving while one is acted on wait for the next.
 */
import * as watcher from '@parcel/watcher';
import { lstatSync, readdirSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import type { Change, FileChange } from './rule-match';

/**
 * How long the tree must be quiet before a batch is acted on. 200 ms, Tilt's value rather than
 * compose's 500 ms: an editor's save, a formatter rewriting a file, or `git checkout` writing
 * thousands of files land within tens of milliseconds of each other, so 200 ms gathers them
 * into one batch while keeping save-to-served well under a second (P8's goal); compose's
 * 500 ms would spend half of that budget waiting.
 */
export const QUIET_PERIOD_MS = 200;

/**
 * The native watcher can lose events: inotify's queue overflows while its reader is starved of
 * CPU, and @parcel/watcher drops the overflow notice (watcher issue #183). So before a batch
 * is handed over, each folder it touched is read again: a file there written within
 * {@link RESCAN_WINDOW_MS} before the oldest write of the batch (or after), and not handed over
 * since that write, joins it. A folder larger than {@link RESCAN_MAX_ENTRIES} is not read again.
 */
export const RESCAN_WINDOW_MS = 2_000;
export const RESCAN_MAX_ENTRIES = 5_000;
/** How many files' handed-over write times are remembered (then forgotten, all at once). */
const HANDED_MEMORY = 20_000;

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
  /** Each file handed over, with its write time then: a folder read again does not hand it over twice. */
  private readonly handed = new Map<string, number>();
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
    for (const path of writtenBesides(this.root, this.pending, this.handed)) this.pending.set(path, 'changed');
    const batch = [...this.pending].map(([path, change]) => ({ path, change }));
    this.pending.clear();
    if (this.handed.size > HANDED_MEMORY) this.handed.clear();
    for (const { path, change } of batch) if (change === 'changed') this.handed.set(path, mtimeOf(join(this.root, path)) ?? 0);
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

/**
 * Files of the folders a batch touched, written around the batch's own writes and not handed
 * over since: what the native watcher may have lost. Paths relative to `root`, with `/`; never
 * under `.git/`.
 */
export function writtenBesides(root: string, batch: ReadonlyMap<string, Change>, handed: ReadonlyMap<string, number>): string[] {
  const folders = new Set<string>();
  let oldest = Infinity;
  for (const [path, change] of batch) {
    if (change !== 'changed') continue;
    folders.add(posix.dirname(path));
    oldest = Math.min(oldest, mtimeOf(join(root, path)) ?? Infinity);
  }
  if (oldest === Infinity) return [];
  const since = oldest - RESCAN_WINDOW_MS;
  const found: string[] = [];
  for (const folder of folders) {
    if (folder === '.git' || folder.startsWith('.git/')) continue;
    let names: string[];
    try {
      names = readdirSync(join(root, folder));
    } catch {
      continue; // gone since: its deletion is in the batch or the next one
    }
    if (names.length > RESCAN_MAX_ENTRIES) continue;
    for (const name of names) {
      const path = folder === '.' ? name : `${folder}/${name}`;
      if (batch.has(path) || path === '.git') continue;
      try {
        // Files only: a folder's time moves with any change inside it, and a folder in a batch syncs all its files.
        const stat = lstatSync(join(root, path));
        if (!stat.isDirectory() && stat.mtimeMs >= since && handed.get(path) !== stat.mtimeMs) found.push(path);
      } catch {
        // removed meanwhile
      }
    }
  }
  return found;
}

function mtimeOf(file: string): number | undefined {
  try {
    return lstatSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}
