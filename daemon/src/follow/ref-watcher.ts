/**
 * The branch heads of one repository, watched: a native watcher (@parcel/watcher, as the
 * working tree's in daemon/src/watch/) over its git directory — the common one of a worktree,
 * which holds the branches —, reporting only `HEAD`, `packed-refs` and `refs/heads/**`, once
 * the refs have been quiet for {@link REF_QUIET_MS}. A commit, an amend, a pull, a reset or a
 * checkout writes a ref (through a `.lock` file renamed over it); git's objects and logs,
 * written by the same commands, are not watched.
 */
import * as watcher from '@parcel/watcher';
import { realpathSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import type { GitSource } from '../deploy/git-source';

/** A commit writes the ref, the reflog and HEAD's within milliseconds: one reconcile for all of it. */
export const REF_QUIET_MS = 200;

/** What is never reported, relative to the common git directory. */
const IGNORED = ['objects', 'logs', 'hooks', 'lfs', 'modules', 'info'];

export interface RefWatcherOptions {
  readonly quietMs?: number;
  /** A head may have moved. */
  readonly onMove: () => void;
  /** The native watcher failed: no more moves are reported. */
  readonly onError: (error: Error) => void;
}

export class RefWatcher {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private subscription: watcher.AsyncSubscription | undefined;

  private constructor(
    private readonly commonDir: string,
    private readonly gitDir: string,
    private readonly opts: RefWatcherOptions,
  ) {}

  /** Watches the refs of the repository at `root` until {@link stop}. Throws RpcError GitError when it is not one. */
  static async start(root: string, git: GitSource, opts: RefWatcherOptions): Promise<RefWatcher> {
    const [gitDir = '', commonDir = ''] = (await git.run(root, ['rev-parse', '--absolute-git-dir', '--git-common-dir'])).trim().split('\n');
    const refs = new RefWatcher(realpathSync(resolve(root, commonDir)), realpathSync(gitDir), opts);
    refs.subscription = await watcher.subscribe(
      refs.commonDir,
      (error, events) => {
        if (error) return refs.fail(error);
        if (events.some((e) => refs.isRef(e.path))) refs.schedule();
      },
      { ignore: IGNORED },
    );
    return refs;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.subscription?.unsubscribe().catch(() => undefined);
  }

  /** `HEAD` (of the worktree's git directory), `packed-refs`, or a branch; never a `.lock` file being written. */
  private isRef(path: string): boolean {
    if (path.endsWith('.lock')) return false;
    if (relative(this.gitDir, path) === 'HEAD') return true;
    const rel = relative(this.commonDir, path).split(sep).join('/');
    return rel === 'packed-refs' || rel === 'HEAD' || rel.startsWith('refs/heads/');
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped) this.opts.onMove();
    }, this.opts.quietMs ?? REF_QUIET_MS);
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.opts.onError(error);
  }
}
