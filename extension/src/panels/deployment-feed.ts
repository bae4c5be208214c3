/**
 * The daemon side of a Deployment panel: the record (`deploy/get`), its stored log
 * (`deploy/logs`, the last pages), the service's recent deployments (`deploy/list`), then live
 * `deploy/progress` until the deployment is final. Disposing cancels the subscription. No `vscode`.
 */
import type { BranchboxClient } from '../../../schemas/src/client';
import type { DeployLogLine } from '../../../schemas/src/deploy';
import type { DeploymentTarget, ToWebview } from '../../../schemas/src/webview';

export type DeploymentClient = Pick<BranchboxClient, 'subscribe' | 'request'>;

/** Log lines kept for the tail shown on open. */
export const LOG_TAIL = 5_000;

export class DeploymentFeed {
  private cancel: (() => Promise<void>) | undefined;
  private disposed = false;

  constructor(
    private readonly client: DeploymentClient,
    private readonly target: DeploymentTarget,
    private readonly post: (message: ToWebview) => void,
  ) {}

  async start(): Promise<void> {
    const id = this.target.deployment;
    const record = await this.client.request('deploy/get', { id });
    const log: DeployLogLine[] = [];
    for (let afterSeq = 0; ; ) {
      const page = await this.client.request('deploy/logs', { id, afterSeq, limit: 10_000 });
      log.push(...page.lines);
      if (log.length > LOG_TAIL) log.splice(0, log.length - LOG_TAIL);
      const last = page.lines[page.lines.length - 1];
      if (!page.more || !last) break;
      afterSeq = last.seq;
    }
    const { deployments: history } = await this.client.request('deploy/list', { sandbox: record.sandbox, service: record.service, limit: 20 });
    if (this.disposed) return;
    this.post({ type: 'deploy/snapshot', record, log, history });
    // The subscription replays what is recorded, then goes live. Log lines the snapshot has
    // are not sent again (the replay holds the whole log); the webview skips stages and
    // statuses it already has.
    const shownSeq = log.length > 0 ? log[log.length - 1]!.seq : 0;
    const sub = await this.client.subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', {
      onItems: (batch) => {
        if (this.disposed) return;
        const items = batch.filter((i) => i.kind !== 'log' || (i.seq ?? Infinity) > shownSeq);
        if (items.length > 0) this.post({ type: 'deploy/progress', items });
      },
      onEnd: () => {
        this.cancel = undefined;
      },
    });
    this.cancel = sub.cancel;
    if (this.disposed) await this.dispose();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const cancel = this.cancel;
    this.cancel = undefined;
    await cancel?.().catch(() => undefined);
  }
}
