/**
 * The Sandboxes view: sandbox → services → container, live. On each connection: subscribe to
 * `sandbox/subscribe` and `deploy/subscribe`, then list the sandboxes (and the deployments in
 * flight) once; from then on only notifications change the model. Container state and health
 * come from the Containers view's model (its `events/subscribe` stream). Redraws are
 * debounced and limited to the rows that changed; row ids are stable across redeploys.
 */
import * as vscode from 'vscode';
import type { DeployProgress } from '../../schemas/src/deploy';
import type { SandboxHealth } from '../../schemas/src/health';
import type { SandboxEvent } from '../../schemas/src/sandbox';
import type { WatchEvent } from '../../schemas/src/watch';
import type { Connected, DaemonConnection, Logger } from './connection';
import type { ContainersTree } from './containers-tree';
import { Emitter } from './lifetime';
import { RedrawDebounce, RelativeTimeRefresh, rowItem } from './tree-views';
import { NO_SANDBOX_CHANGE, SandboxTreeModel, isEmptySandboxChange, mergeSandboxChanges, type SandboxChange, type SandboxRow } from './sandbox-model';

export const SANDBOXES_VIEW_ID = 'branchbox.sandboxes';
/** Set once the sandboxes are listed: the welcome content (Create Sandbox) shows only then. */
export const SANDBOXES_LOADED_CONTEXT = 'branchbox.sandboxesLoaded';
const IN_FLIGHT = ['queued', 'preparing', 'building', 'starting', 'health-checking'] as const;

/** `sandbox` (and `services` for a service) are what Show Logs / Show Stats take (panels/commands.ts). */
export interface SandboxNode {
  readonly kind: 'sandbox';
  readonly key: string;
  readonly name: string;
  readonly sandbox: string;
}
export interface ServiceNode {
  readonly kind: 'service';
  readonly key: string;
  readonly sandbox: string;
  readonly service: string;
  readonly services: readonly string[];
}
/**
 * Shaped like the Containers view's node (`kind`, `id`), so the container commands take it
 * too. The same object stays for a service across redeploys; `id` follows the new container.
 */
export interface SandboxContainerNode {
  readonly kind: 'container';
  readonly key: string;
  id: string;
  readonly sandbox: string;
  readonly service: string;
}
export type SandboxesNode = SandboxNode | ServiceNode | SandboxContainerNode;

export function isSandboxNode(value: unknown): value is SandboxNode {
  return typeof value === 'object' && value !== null && (value as SandboxNode).kind === 'sandbox' && typeof (value as SandboxNode).name === 'string';
}
export function isServiceNode(value: unknown): value is ServiceNode {
  return typeof value === 'object' && value !== null && (value as ServiceNode).kind === 'service' && typeof (value as ServiceNode).service === 'string';
}

export class SandboxesTree implements vscode.TreeDataProvider<SandboxesNode>, vscode.Disposable {
  readonly model = new SandboxTreeModel();
  private readonly changed = new vscode.EventEmitter<SandboxesNode | SandboxesNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly modelChanged = new Emitter<void>();
  /** Fires after each redraw (the status bar follows the model from here). */
  readonly onDidChangeModel = this.modelChanged.event;
  private readonly progressEmitter = new Emitter<DeployProgress[]>();
  /** Every `deploy/progress` batch, as received. */
  readonly onDidProgress = this.progressEmitter.event;
  private readonly watchEmitter = new Emitter<WatchEvent[]>();
  /** Every `watch/event` batch, as received (after the model took it). */
  readonly onDidWatchEvent = this.watchEmitter.event;
  readonly view: vscode.TreeView<SandboxesNode>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly nodes = new Map<string, SandboxesNode>();
  private pending: SandboxChange = NO_SANDBOX_CHANGE;
  private readonly redraws = new RedrawDebounce(() => this.redraw());

  constructor(
    connection: DaemonConnection,
    private readonly log: Logger,
    private readonly containers: ContainersTree,
  ) {
    this.view = vscode.window.createTreeView(SANDBOXES_VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.redraws,
      this.changed,
      this.modelChanged,
      this.progressEmitter,
      this.watchEmitter,
      new RelativeTimeRefresh(this.view as vscode.TreeView<unknown>, (now) => this.update(this.model.retime(now))),
      connection.whileConnected((c) => this.follow(c)),
      containers.onDidChangeContainers(() => this.update(this.model.setContainers(containers.model.all()))),
      connection.onDidChangeState((s) => {
        if (s.kind === 'disconnected') this.setMessage(`Not connected to branchboxd (${s.reason}); retrying…`);
        else if (s.kind === 'failed') this.setMessage(`branchboxd is unavailable: ${s.reason}`);
      }),
    );
    if (!connection.connected) this.setMessage('Connecting to branchboxd…');
  }

  // --- TreeDataProvider ---------------------------------------------------------------------

  getChildren(node?: SandboxesNode): SandboxesNode[] {
    return this.model.children(node?.key).map((r) => this.nodeOf(r));
  }

  getParent(node: SandboxesNode): SandboxesNode | undefined {
    const parent = this.model.row(node.key)?.parent;
    const row = parent ? this.model.row(parent) : undefined;
    return row ? this.nodeOf(row) : undefined;
  }

  getTreeItem(node: SandboxesNode): vscode.TreeItem {
    const r = this.model.row(node.key);
    const collapsible = !r || r.children.length === 0 ? vscode.TreeItemCollapsibleState.None
      : r.kind === 'sandbox' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    return rowItem(node.key, node.key, collapsible, r);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  // --- Following the daemon -----------------------------------------------------------------

  private follow(c: Connected): void {
    const needed = ['sandbox/subscribe', 'sandbox/list', 'deploy/subscribe', 'deploy/list'];
    const missing = needed.filter((m) => !c.capabilities.methods.includes(m));
    if (missing.length) {
      this.update(this.model.clear());
      this.setMessage(`branchboxd ${c.serverInfo.version} does not serve sandboxes (no ${missing.join(', ')}); use Restart Daemon to run the version bundled with the extension.`);
      return;
    }
    // Events that arrive while the list is in flight wait for it.
    let backlog: { sandboxes: SandboxEvent[]; progress: DeployProgress[]; health: SandboxHealth[]; watches: WatchEvent[] } | undefined = {
      sandboxes: [],
      progress: [],
      health: [],
      watches: [],
    };
    const onSandboxes = (items: SandboxEvent[]) => {
      if (backlog) backlog.sandboxes.push(...items);
      else this.update(this.model.applySandboxEvents(items));
    };
    const onHealth = (items: SandboxHealth[]) => {
      if (backlog) backlog.health.push(...items);
      else this.update(this.model.applyHealth(items));
    };
    const onProgress = (items: DeployProgress[]) => {
      this.progressEmitter.fire(items);
      if (backlog) backlog.progress.push(...items);
      else this.update(this.model.applyProgress(items));
    };
    const onWatches = (items: WatchEvent[]) => {
      if (backlog) backlog.watches.push(...items);
      else this.update(this.model.applyWatchEvents(items));
      this.watchEmitter.fire(items);
    };
    // Watch mode came with a later daemon than the sandbox views: without it, no watch shows.
    const watching = c.capabilities.methods.includes('watch/subscribe');
    const ended = (what: string) => (end: { reason: string; error?: { message: string } }) => {
      if (c.scope.disposed || end.reason === 'shutdown') return;
      this.log.warn(`Sandboxes: the ${what} stream ended (${end.reason}${end.error ? `: ${end.error.message}` : ''})`);
      this.setMessage(`The ${what} stream ended; use Refresh to reconnect.`);
    };
    if (this.model.size === 0) this.setMessage('Loading sandboxes…');
    void (async () => {
      try {
        const subs = await Promise.all([
          c.client.subscribe('sandbox/subscribe', {}, 'sandbox/event', { onItems: onSandboxes, onEnd: ended('sandbox') }),
          c.client.subscribe('deploy/subscribe', {}, 'deploy/progress', { onItems: onProgress, onEnd: ended('deployment') }),
          // The daemon's health verdicts (older daemons without it: health from the containers alone).
          ...(c.capabilities.methods.includes('sandbox/watchHealth')
            ? [c.client.subscribe('sandbox/watchHealth', {}, 'sandbox/health', { onItems: onHealth, onEnd: ended('health') })]
            : []),
          ...(watching ? [c.client.subscribe('watch/subscribe', {}, 'watch/event', { onItems: onWatches, onEnd: ended('watch') })] : []),
        ]);
        for (const sub of subs) c.scope.defer(() => void sub.cancel().catch(() => undefined));
        const [{ sandboxes }, { deployments }, { watches }] = await Promise.all([
          c.client.request('sandbox/list', {}),
          c.client.request('deploy/list', { status: [...IN_FLIGHT], limit: 200 }),
          watching ? c.client.request('watch/list', {}) : { watches: [] },
        ]);
        if (c.scope.disposed) return;
        this.log.debug(`Sandboxes: listed ${sandboxes.length}, ${deployments.length} deployments in flight`);
        let change = this.model.replaceSandboxes(sandboxes);
        change = mergeSandboxChanges(change, this.model.setContainers(this.containers.model.all()));
        const inFlight: DeployProgress[] = deployments.map((d) => ({ deployment: d.id, sandbox: d.sandbox, service: d.service, kind: 'status', status: d.status, t: d.createdAt }));
        change = mergeSandboxChanges(change, this.model.applyProgress(inFlight));
        const queued = backlog!;
        backlog = undefined;
        change = mergeSandboxChanges(change, this.model.applySandboxEvents(queued.sandboxes));
        change = mergeSandboxChanges(change, this.model.applyProgress(queued.progress));
        change = mergeSandboxChanges(change, this.model.applyHealth(queued.health));
        change = mergeSandboxChanges(change, this.model.replaceWatches(watches));
        change = mergeSandboxChanges(change, this.model.applyWatchEvents(queued.watches));
        this.update(change);
        this.setMessage(undefined);
        this.modelChanged.fire();
        void vscode.commands.executeCommand('setContext', SANDBOXES_LOADED_CONTEXT, true);
      } catch (e) {
        if (c.scope.disposed) return;
        this.log.error(`Sandboxes: could not follow the sandboxes: ${(e as Error).message}`);
        this.setMessage(`Could not list sandboxes: ${(e as Error).message}`);
      }
    })();
  }

  // --- Redrawing ----------------------------------------------------------------------------

  private update(change: SandboxChange): void {
    if (isEmptySandboxChange(change)) return;
    this.pending = mergeSandboxChanges(this.pending, change);
    this.redraws.schedule();
  }

  private redraw(): void {
    const change = this.pending;
    this.pending = NO_SANDBOX_CHANGE;
    for (const key of [...this.nodes.keys()]) if (!this.model.row(key)) this.nodes.delete(key);
    if (change.root) this.changed.fire(undefined);
    else {
      const nodes = [...change.rows].map((k) => this.model.row(k)).filter((r): r is SandboxRow => r !== undefined).map((r) => this.nodeOf(r));
      if (nodes.length) this.changed.fire(nodes);
    }
    this.modelChanged.fire();
    // The Containers view words this daemon's containers by their sandbox's state and verdicts.
    this.containers.setSandboxes(this.model.sandboxFacts());
  }

  private nodeOf(r: SandboxRow): SandboxesNode {
    const existing = this.nodes.get(r.key);
    if (existing) {
      if (existing.kind === 'container') existing.id = r.containerId!;
      return existing;
    }
    let node: SandboxesNode;
    if (r.kind === 'sandbox') node = { kind: 'sandbox', key: r.key, name: r.sandbox, sandbox: r.sandbox };
    else if (r.kind === 'service') node = { kind: 'service', key: r.key, sandbox: r.sandbox, service: r.service!, services: [r.service!] };
    else node = { kind: 'container', key: r.key, id: r.containerId!, sandbox: r.sandbox, service: r.service! };
    this.nodes.set(r.key, node);
    return node;
  }

  private setMessage(message: string | undefined): void {
    this.view.message = message;
  }
}
