/**
 * One {@link RefWatcher} per repository that has an active following sandbox, shared by the
 * sandboxes of that repository: {@link RepositoryWatches.track} is given the repositories that
 * should be watched now, starts the missing watchers and stops those no longer needed.
 */
import type { GitSource } from '../deploy/git-source';
import type { Logger } from '../runtime/log';
import { RefWatcher } from './ref-watcher';

export interface RepositoryWatchesOptions {
  readonly git: GitSource;
  readonly log: Logger;
  /** A head of `repoPath` may have moved. */
  readonly onMove: (repoPath: string) => void;
  readonly quietMs?: number;
}

interface Entry {
  ready: Promise<RefWatcher | undefined>;
}

export class RepositoryWatches {
  /** By repository path as the sandboxes hold it; undefined once the watcher failed to start or failed. */
  private readonly watchers = new Map<string, Entry>();
  private stopped = false;

  constructor(private readonly opts: RepositoryWatchesOptions) {}

  /** Watches exactly `repoPaths`. */
  track(repoPaths: ReadonlySet<string>): void {
    if (this.stopped) return;
    for (const repoPath of repoPaths) {
      if (this.watchers.has(repoPath)) continue;
      const entry = {} as Entry;
      this.watchers.set(repoPath, entry);
      entry.ready = this.open(repoPath, entry);
    }
    for (const [repoPath, entry] of this.watchers) {
      if (repoPaths.has(repoPath)) continue;
      this.watchers.delete(repoPath);
      void entry.ready.then((w) => w?.stop());
      this.opts.log.info(`Stopped watching the branches of ${repoPath}: no active sandbox of it follows`, { repoPath });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(all.map(async (e) => (await e.ready)?.stop()));
  }

  private async open(repoPath: string, entry: Entry): Promise<RefWatcher | undefined> {
    const forget = (why: string) => {
      this.opts.log.warn(`Cannot watch the branches of ${repoPath}: ${why}; following sandboxes of it are redeployed on follow/check and at daemon start`, {
        repoPath,
      });
      // Tried again at the next change of its sandboxes.
      if (this.watchers.get(repoPath) === entry) this.watchers.delete(repoPath);
    };
    const pending = RefWatcher.start(repoPath, this.opts.git, {
      ...(this.opts.quietMs !== undefined ? { quietMs: this.opts.quietMs } : {}),
      onMove: () => this.opts.onMove(repoPath),
      onError: (e) => {
        forget(e.message);
        void pending.then((w) => w.stop());
      },
    });
    try {
      const watcher = await pending;
      if (this.stopped || this.watchers.get(repoPath) !== entry) {
        await watcher.stop();
        return undefined;
      }
      this.opts.log.info(`Watching the branches of ${repoPath} for following sandboxes`, { repoPath });
      return watcher;
    } catch (e) {
      forget((e as Error).message);
      return undefined;
    }
  }
}
