/**
 * The daemon side of a Stats panel: the last hour from `stats/history` on open, then live
 * `container/stats` samples (of a container, or of every container of a sandbox), passed on
 * as `stats/samples` messages. Disposing cancels the subscription in the daemon.
 *
 * For a sandbox the live samples come per container; the webview sums them second by second,
 * as `stats/history` does. No `vscode`.
 *
 * The sandbox shown (or the container's sandbox) is watched (sandbox-watch.ts): once it is
 * deleted, live samples stop, the charts keep what they show, and a banner says why. A panel
 * (re)opened after the deletion shows the banner and the history the daemon still has.
 */
import type { BranchboxClient } from '../../../schemas/src/client';
import type { StatsSample } from '../../../schemas/src/docker-streams';
import type { StatsTarget, ToWebview } from '../../../schemas/src/webview';
import { SandboxWatch } from './sandbox-watch';
import { deletedBanner } from './targets';

export type StatsClient = Pick<BranchboxClient, 'subscribe' | 'request'>;

export class StatsFeed {
  private cancel: (() => Promise<void>) | undefined;
  private watch: SandboxWatch | undefined;
  private disposed = false;
  /** The sandbox was deleted: the live samples stopped on purpose. */
  private deleted = false;

  constructor(
    private readonly client: StatsClient,
    private readonly target: StatsTarget,
    private readonly post: (message: ToWebview) => void,
  ) {}

  async start(): Promise<void> {
    const sandbox = this.target.sandbox ?? this.target.containerSandbox;
    if (sandbox !== undefined) {
      const watch = await SandboxWatch.start(this.client, [sandbox], (name, now) => {
        if (!now) this.sandboxDeleted(name);
      });
      if (this.disposed) return void watch.dispose();
      this.watch = watch;
      if (!watch.sandbox(sandbox)) {
        // Deleted before the panel (re)opened: the history it left, nothing live.
        this.sandboxDeleted(sandbox);
        const history = await this.client.request('stats/history', { ...this.which, since: Math.floor(Date.now() / 1000) - 3600 });
        if (!this.disposed) this.post({ type: 'stats/samples', history: true, samples: history });
        return;
      }
    }
    const which = this.which;
    const since = Math.floor(Date.now() / 1000) - 3600;
    // Subscribe first, so nothing falls between the history and the first live sample (and a
    // container only collected while watched has history at all). Live samples wait until the
    // history is posted, since the history replaces what the webview has; the webview drops
    // live samples the history already holds.
    let waiting: StatsSample[] | undefined = [];
    const sub = await this.client.subscribe('container/stats', which, 'container/stats/data', {
      onItems: (samples) => {
        if (this.disposed) return;
        if (waiting) waiting.push(...samples);
        else this.post({ type: 'stats/samples', history: false, samples });
      },
      onEnd: (end) => {
        this.cancel = undefined;
        if (this.disposed || this.deleted) return;
        const text = end.reason === 'failed' ? `Live stats failed: ${end.error?.message ?? 'unknown error'}` : `Live stats ended (${end.reason === 'completed' ? 'the container is gone' : end.reason}).`;
        this.post({ type: 'status', level: end.reason === 'failed' ? 'error' : 'info', text });
      },
    });
    this.cancel = sub.cancel;
    if (this.disposed) return this.dispose();
    let history: StatsSample[];
    try {
      history = await this.client.request('stats/history', { ...which, since });
    } catch (e) {
      await this.dispose();
      throw e;
    }
    if (this.disposed) return;
    this.post({ type: 'stats/samples', history: true, samples: history });
    const early = waiting;
    waiting = undefined;
    if (early.length > 0) this.post({ type: 'stats/samples', history: false, samples: early });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const cancel = this.cancel;
    this.cancel = undefined;
    const watch = this.watch;
    this.watch = undefined;
    await Promise.all([cancel?.().catch(() => undefined), watch?.dispose()]);
  }

  private get which(): { sandbox: string } | { id: string } {
    return this.target.sandbox !== undefined ? { sandbox: this.target.sandbox } : { id: this.target.container! };
  }

  private sandboxDeleted(name: string): void {
    if (this.disposed || this.deleted) return;
    this.deleted = true;
    this.post({ type: 'banner', kind: 'deleted', text: deletedBanner(name) });
    const cancel = this.cancel;
    this.cancel = undefined;
    void cancel?.().catch(() => undefined);
  }
}
