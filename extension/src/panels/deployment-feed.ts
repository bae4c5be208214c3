/**
 * The daemon side of a Deployment panel: the record (`deploy/get`), its stored log
 * (`deploy/logs`, the last pages), the service's recent deployments (`deploy/list`), then live
 * `deploy/progress` until the deployment is final. Disposing cancels the subscription. No `vscode`.
 *
 * It also watches the deployment's sandbox (sandbox-watch.ts): when another deployment takes
 * the service over (the sandbox names another deployment serving it, or this one's status
 * becomes superseded), a banner says so and links to that one; when the sandbox is deleted, a
 * banner says that. The record shown stays.
 */
import type { BranchboxClient } from '../../../schemas/src/client';
import type { DeployLogLine } from '../../../schemas/src/deploy';
import type { DeploymentRecord } from '../../../schemas/src/deploy';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { DeploymentTarget, ToWebview } from '../../../schemas/src/webview';
import { SandboxWatch } from './sandbox-watch';
import { deletedBanner, replacedBanner } from './targets';

export type DeploymentClient = Pick<BranchboxClient, 'subscribe' | 'request'>;

/** Log lines kept for the tail shown on open. */
export const LOG_TAIL = 5_000;

export class DeploymentFeed {
  private cancel: (() => Promise<void>) | undefined;
  private watch: SandboxWatch | undefined;
  private disposed = false;
  /** A banner is shown (replaced or deleted): nothing more to say. */
  private told = false;

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
    await this.watchSandbox(record);
    if (this.disposed) return;
    // The subscription replays what is recorded, then goes live. Log lines the snapshot has
    // are not sent again (the replay holds the whole log); the webview skips stages and
    // statuses it already has.
    const shownSeq = log.length > 0 ? log[log.length - 1]!.seq : 0;
    const sub = await this.client.subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', {
      onItems: (batch) => {
        if (this.disposed) return;
        const items = batch.filter((i) => i.kind !== 'log' || (i.seq ?? Infinity) > shownSeq);
        if (items.length > 0) this.post({ type: 'deploy/progress', items });
        if (items.some((i) => i.kind === 'status' && i.status === 'superseded')) void this.checkReplaced();
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
    const watch = this.watch;
    this.watch = undefined;
    await Promise.all([cancel?.().catch(() => undefined), watch?.dispose()]);
  }

  /** Banners for what happened before the panel opened, then a watch for what happens next. */
  private async watchSandbox(record: DeploymentRecord): Promise<void> {
    const watch = await SandboxWatch.start(this.client, [record.sandbox], (_, sandbox) => this.sandboxChanged(record, sandbox));
    if (this.disposed) return void watch.dispose();
    this.watch = watch;
    const now = watch.sandbox(record.sandbox);
    if (!now) this.tellDeleted(record.sandbox);
    else if (record.status === 'superseded') this.tellReplaced(record);
  }

  private sandboxChanged(record: DeploymentRecord, sandbox: Sandbox | undefined): void {
    if (!sandbox) return this.tellDeleted(record.sandbox);
    const serving = sandbox.services.find((s) => s.service === record.service)?.deploymentId;
    if (serving !== undefined && serving !== record.id) void this.checkReplaced();
  }

  /** Re-reads the record: superseded, it names the deployment that replaced it. */
  private async checkReplaced(): Promise<void> {
    if (this.told || this.disposed) return;
    const record = await this.client.request('deploy/get', { id: this.target.deployment }).catch(() => undefined);
    if (record?.status === 'superseded') await this.tellReplaced(record);
  }

  private async tellReplaced(record: DeploymentRecord): Promise<void> {
    if (this.told) return;
    this.told = true;
    const by = record.supersededBy ? await this.client.request('deploy/get', { id: record.supersededBy }).catch(() => undefined) : undefined;
    if (this.disposed) return;
    this.post({ type: 'banner', kind: 'replaced', ...replacedBanner(record, by) });
  }

  private tellDeleted(sandbox: string): void {
    if (this.disposed) return;
    this.told = true;
    this.post({ type: 'banner', kind: 'deleted', text: deletedBanner(sandbox) });
    const cancel = this.cancel;
    this.cancel = undefined;
    void cancel?.().catch(() => undefined);
  }
}
