/**
 * The Containers view: this daemon's sandboxes' containers by sandbox, every other container
 * of the engine under "Other" (collapsed); build step containers are not shown (see
 * container-model.ts). Whose a container is comes from `system/info`'s instance; what the
 * daemon says of its sandboxes (suspended, health verdicts) from the Sandboxes view's model
 * (`setSandboxes`). On each connection: subscribe to `events/subscribe`, fetch
 * `container/list` once, then keep the model current from the events alone (a `resync` item
 * refetches the list) — no polling. Redraws are debounced and limited to the groups and rows
 * that changed, so hundreds of containers stay responsive; ids are stable, so expansion and
 * selection survive updates and reconnects.
 */
import * as vscode from 'vscode';
import { ProtocolError } from '../../schemas/src/client';
import type { ContainerSummary } from '../../schemas/src/docker';
import type { Connected, DaemonConnection, Logger } from './connection';
import {
  ContainerTreeModel,
  NO_CHANGE,
  isEmptyChange,
  mergeChanges,
  type EventItem,
  type ModelChange,
  type SandboxFacts,
} from './container-model';
import { RedrawDebounce, RelativeTimeRefresh, rowItem } from './tree-views';

export const CONTAINERS_VIEW_ID = 'branchbox.containers';

export interface GroupNode {
  readonly kind: 'group';
  readonly key: string;
}
export interface ContainerNode {
  readonly kind: 'container';
  readonly id: string;
}
export type ContainersNode = GroupNode | ContainerNode;

export function isContainerNode(value: unknown): value is ContainerNode {
  return typeof value === 'object' && value !== null && (value as ContainerNode).kind === 'container' && typeof (value as ContainerNode).id === 'string';
}

export class ContainersTree implements vscode.TreeDataProvider<ContainersNode>, vscode.Disposable {
  readonly model = new ContainerTreeModel();
  private readonly changed = new vscode.EventEmitter<ContainersNode | ContainersNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly containersChanged = new vscode.EventEmitter<void>();
  /** Fires after the model changed (debounced with the redraws): the Sandboxes view follows container state from here. */
  readonly onDidChangeContainers = this.containersChanged.event;
  readonly view: vscode.TreeView<ContainersNode>;
  private readonly disposables: vscode.Disposable[] = [];
  /** The node objects handed to VS Code, reused so `fire(node)` finds them. */
  private readonly groupNodes = new Map<string, GroupNode>();
  private readonly containerNodes = new Map<string, ContainerNode>();
  private pending: ModelChange = NO_CHANGE;
  private readonly redraws = new RedrawDebounce(() => this.redraw());

  constructor(
    private readonly connection: DaemonConnection,
    private readonly log: Logger,
  ) {
    this.view = vscode.window.createTreeView(CONTAINERS_VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.redraws,
      this.changed,
      this.containersChanged,
      new RelativeTimeRefresh(this.view as vscode.TreeView<unknown>, (now) => this.update(this.model.setView({ now }))),
      connection.whileConnected((c) => this.follow(c)),
      connection.onDidChangeState((s) => {
        if (s.kind === 'connecting' && this.model.size === 0) this.setMessage('Connecting to branchboxd…');
        else if (s.kind === 'disconnected') this.setMessage(`Not connected to branchboxd (${s.reason}); retrying…`);
        else if (s.kind === 'failed') this.setMessage(`branchboxd is unavailable: ${s.reason}`);
      }),
    );
    if (!connection.connected) this.setMessage('Connecting to branchboxd…');
  }

  // --- TreeDataProvider ---------------------------------------------------------------------

  getChildren(node?: ContainersNode): ContainersNode[] {
    if (!node) return this.model.groups().map((g) => this.groupNode(g.key));
    if (node.kind === 'group') return this.model.rowsOf(node.key).map((r) => this.containerNode(r.id));
    return [];
  }

  getParent(node: ContainersNode): ContainersNode | undefined {
    if (node.kind === 'group') return undefined;
    const row = this.model.row(node.id);
    return row ? this.groupNode(row.groupKey) : undefined;
  }

  getTreeItem(node: ContainersNode): vscode.TreeItem {
    if (node.kind === 'group') {
      const group = this.model.group(node.key);
      const state = group?.collapsed ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded;
      return rowItem(`group:${node.key}`, node.key, state, group);
    }
    return rowItem(`container:${node.id}`, node.id, vscode.TreeItemCollapsibleState.None, this.model.row(node.id));
  }

  /** Resolves true once the container is seen not running (or gone), false if it still runs after `ms`. */
  stopsWithin(id: string, ms: number): Promise<boolean> {
    const stopped = () => this.model.get(id)?.state !== 'running';
    if (stopped()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        watch.dispose();
        resolve(result);
      };
      const timer = setTimeout(() => done(false), ms);
      const watch = this.onDidChangeContainers(() => stopped() && done(true));
    });
  }

  /** The container a command was given (a node) or undefined. */
  containerOf(node: unknown): ContainerSummary | undefined {
    return isContainerNode(node) ? this.model.get(node.id) : undefined;
  }

  /** What the daemon says of its sandboxes (state, health verdicts): the rows follow it. */
  setSandboxes(sandboxes: ReadonlyMap<string, SandboxFacts>): void {
    this.update(this.model.setView({ sandboxes }));
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  // --- Following the daemon -----------------------------------------------------------------

  /** Subscribes to events, then lists; events that arrive while a list is in flight wait for it. */
  private follow(c: Connected): void {
    const missing = ['events/subscribe', 'container/list'].filter((m) => !c.capabilities.methods.includes(m));
    if (missing.length) {
      // An older daemon still running after the extension was updated.
      this.update(this.model.clear());
      this.setMessage(`branchboxd ${c.serverInfo.version} does not serve containers (no ${missing.join(', ')}); use Restart Daemon to run the version bundled with the extension.`);
      return;
    }
    let listing = 0;
    let backlog: EventItem[] | undefined = [];
    const refetch = async (why: string) => {
      const generation = ++listing;
      backlog ??= [];
      try {
        const [{ containers }, instance] = await Promise.all([c.client.request('container/list', { all: true }), this.instanceOf(c)]);
        if (generation !== listing || c.scope.disposed) return;
        this.update(this.model.setView({ instance, now: Date.now() }));
        this.log.debug(`Containers: listed ${containers.length} (${why})`);
        this.update(this.model.replaceAll(containers));
        this.setMessage(undefined);
      } catch (e) {
        if (generation !== listing || c.scope.disposed) return;
        if (e instanceof ProtocolError && e.errorName === 'DockerUnavailable') {
          this.update(this.model.clear());
          this.setMessage(`Docker is unavailable: ${e.message}`);
          this.log.warn(`Containers: Docker is unavailable (${e.message}); waiting for the daemon to report it back`);
        } else {
          this.setMessage(`Could not list containers: ${(e as Error).message}`);
          this.log.error(`Containers: container/list failed: ${(e as Error).message}`);
        }
      }
      const queued = backlog ?? [];
      backlog = undefined;
      receive(queued);
    };
    const receive = (items: EventItem[]) => {
      if (backlog) {
        backlog.push(...items);
        return;
      }
      const { change, resync } = this.model.applyEvents(items);
      this.update(change);
      if (resync) void refetch('the daemon asked to resync');
    };

    if (this.model.size === 0) this.setMessage('Loading containers…');
    c.client
      .subscribe('events/subscribe', { types: ['container'] }, 'events/event', {
        onItems: (items) => receive(items),
        onEnd: (end) => {
          if (c.scope.disposed || end.reason === 'shutdown') return;
          this.log.warn(`Containers: the event stream ended (${end.reason}${end.error ? `: ${end.error.message}` : ''})`);
          this.setMessage('The container event stream ended; use Refresh to reconnect.');
        },
      })
      .then(
        (sub) => {
          c.scope.defer(() => void sub.cancel().catch(() => undefined));
          return refetch('connected');
        },
        (e: unknown) => {
          if (c.scope.disposed) return;
          this.log.error(`Containers: events/subscribe failed: ${(e as Error).message}`);
          this.setMessage(`Could not follow containers: ${(e as Error).message}`);
        },
      );
  }

  /** This daemon's instance id, which its containers are labelled with (unknown to a daemon without `system/info`). */
  private async instanceOf(c: Connected): Promise<string | undefined> {
    if (!c.capabilities.methods.includes('system/info')) return undefined;
    try {
      return (await c.client.request('system/info', {})).instance;
    } catch (e) {
      this.log.warn(`Containers: system/info failed (${(e as Error).message}); every Branchbox container is shown as this daemon's`);
      return undefined;
    }
  }

  // --- Redrawing ----------------------------------------------------------------------------

  private update(change: ModelChange): void {
    if (isEmptyChange(change)) return;
    this.pending = mergeChanges(this.pending, change);
    this.redraws.schedule();
  }

  private redraw(): void {
    const change = this.pending;
    this.pending = NO_CHANGE;
    this.forgetRemovedNodes();
    this.containersChanged.fire();
    if (change.root) return this.changed.fire(undefined);
    const nodes: ContainersNode[] = [];
    for (const key of change.groups) if (this.model.group(key)) nodes.push(this.groupNode(key));
    for (const id of change.containers) {
      const row = this.model.row(id);
      if (row && !change.groups.has(row.groupKey)) nodes.push(this.containerNode(id));
    }
    if (nodes.length) this.changed.fire(nodes);
  }

  private forgetRemovedNodes(): void {
    for (const key of this.groupNodes.keys()) if (!this.model.group(key)) this.groupNodes.delete(key);
    for (const id of this.containerNodes.keys()) if (!this.model.row(id)) this.containerNodes.delete(id);
  }

  private groupNode(key: string): GroupNode {
    let node = this.groupNodes.get(key);
    if (!node) this.groupNodes.set(key, (node = { kind: 'group', key }));
    return node;
  }

  private containerNode(id: string): ContainerNode {
    let node = this.containerNodes.get(id);
    if (!node) this.containerNodes.set(id, (node = { kind: 'container', id }));
    return node;
  }

  private setMessage(message: string | undefined): void {
    this.view.message = message;
  }
}
