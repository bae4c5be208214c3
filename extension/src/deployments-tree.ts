/**
 * The Deployments view: recent deployments by sandbox, newest first (`deploy/list` once per
 * connection), kept current by `deploy/progress`; a deployment not seen before, or one that
 * became final, is fetched with `deploy/get` for its exact record. Rows say how long ago each
 * was requested, worded again every 30 s while the view shows. A click opens the deployment.
 */
import * as vscode from 'vscode';
import type { DeployProgress } from '../../schemas/src/deploy';
import type { SandboxState } from '../../schemas/src/sandbox';
import type { Connected, DaemonConnection, Logger } from './connection';
import { DeploymentListModel, HISTORY_LIMIT } from './deployment-model';
import { RedrawDebounce, RelativeTimeRefresh, rowItem } from './tree-views';

export const DEPLOYMENTS_VIEW_ID = 'branchbox.deployments';
/** What a click on a deployment runs: the Deployment panel (panels/commands.ts takes `{ id }`). */
export const OPEN_DEPLOYMENT_COMMAND = 'branchbox.showDeployment';

export interface DeploymentNode {
  readonly kind: 'deployment';
  readonly id: string;
}
/** A sandbox's deployments. */
export interface DeploymentGroupNode {
  readonly kind: 'deploymentGroup';
  readonly sandbox: string;
}
export type DeploymentsNode = DeploymentNode | DeploymentGroupNode;

export function isDeploymentNode(value: unknown): value is DeploymentNode {
  return typeof value === 'object' && value !== null && (value as DeploymentNode).kind === 'deployment' && typeof (value as DeploymentNode).id === 'string';
}

export class DeploymentsTree implements vscode.TreeDataProvider<DeploymentsNode>, vscode.Disposable {
  readonly model = new DeploymentListModel();
  private readonly changed = new vscode.EventEmitter<DeploymentsNode | DeploymentsNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<DeploymentsNode>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly nodes = new Map<string, DeploymentNode>();
  private readonly groupNodes = new Map<string, DeploymentGroupNode>();
  private pendingRoot = false;
  private readonly pendingRows = new Set<string>();
  private readonly pendingGroups = new Set<string>();
  private readonly redraws = new RedrawDebounce(() => this.redraw());

  constructor(
    connection: DaemonConnection,
    private readonly log: Logger,
  ) {
    this.view = vscode.window.createTreeView(DEPLOYMENTS_VIEW_ID, { treeDataProvider: this });
    this.disposables.push(
      this.view,
      this.redraws,
      this.changed,
      new RelativeTimeRefresh(this.view as vscode.TreeView<unknown>, (now) => this.retime(now)),
      connection.whileConnected((c) => this.follow(c)),
    );
  }

  getChildren(node?: DeploymentsNode): DeploymentsNode[] {
    if (!node) return this.model.sandboxes().map((s) => this.groupNodeOf(s));
    if (node.kind === 'deploymentGroup') return this.model.list(node.sandbox).map((d) => this.nodeOf(d.id));
    return [];
  }

  getParent(node: DeploymentsNode): DeploymentsNode | undefined {
    if (node.kind === 'deploymentGroup') return undefined;
    const d = this.model.get(node.id);
    return d ? this.groupNodeOf(d.sandbox) : undefined;
  }

  getTreeItem(node: DeploymentsNode): vscode.TreeItem {
    if (node.kind === 'deploymentGroup') {
      return rowItem(`deployments:${node.sandbox}`, node.sandbox, vscode.TreeItemCollapsibleState.Expanded, this.model.group(node.sandbox));
    }
    const r = this.model.row(node.id);
    const item = rowItem(`deployment:${node.id}`, node.id, vscode.TreeItemCollapsibleState.None, r);
    if (!r) return item;
    item.command = { command: OPEN_DEPLOYMENT_COMMAND, title: 'Open Deployment', arguments: [node] };
    return item;
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private follow(c: Connected): void {
    if (!['deploy/subscribe', 'deploy/list', 'deploy/get'].every((m) => c.capabilities.methods.includes(m))) {
      this.view.message = `branchboxd ${c.serverInfo.version} does not serve deployments; use Restart Daemon.`;
      return;
    }
    let backlog: DeployProgress[] | undefined = [];
    const fetch = (id: string) =>
      void c.client.request('deploy/get', { id }).then(
        (d) => {
          if (c.scope.disposed) return;
          this.model.upsert(d);
          this.touch(id, false);
        },
        (e: unknown) => this.log.debug(`Deployments: deploy/get ${id} failed: ${(e as Error).message}`),
      );
    const apply = (items: DeployProgress[]) => {
      const { changed, added, fetch: toFetch } = this.model.applyProgress(items);
      for (const id of changed) this.touch(id, added);
      for (const id of toFetch) fetch(id);
    };
    void (async () => {
      try {
        const sub = await c.client.subscribe('deploy/subscribe', {}, 'deploy/progress', {
          onItems: (items) => (backlog ? backlog.push(...items) : apply(items)),
        });
        c.scope.defer(() => void sub.cancel().catch(() => undefined));
        const { deployments } = await c.client.request('deploy/list', { limit: HISTORY_LIMIT });
        if (c.scope.disposed) return;
        this.model.replaceAll(deployments);
        this.pendingRoot = true;
        this.redraws.schedule();
        const queued = backlog;
        backlog = undefined;
        apply(queued);
        this.view.message = undefined;
      } catch (e) {
        if (c.scope.disposed) return;
        this.log.error(`Deployments: could not follow deployments: ${(e as Error).message}`);
        this.view.message = `Could not list deployments: ${(e as Error).message}`;
      }
    })();
  }

  /** A deployment's row changed (its group's counts too), or one was added (`root`). */
  private touch(id: string, root: boolean): void {
    if (root) this.pendingRoot = true;
    else {
      this.pendingRows.add(id);
      const sandbox = this.model.get(id)?.sandbox;
      if (sandbox) this.pendingGroups.add(sandbox);
    }
    this.redraws.schedule();
  }

  /** What the Sandboxes view says of each sandbox's state: a suspended one's running deployments say so. */
  setSandboxStates(states: ReadonlyMap<string, SandboxState>): void {
    this.redrawChanged(this.model.setSandboxStates(states));
  }

  /** Redraws the rows whose "… ago" reads differently as of `now`. */
  private retime(now: number): void {
    this.redrawChanged(this.model.retime(now));
  }

  private redrawChanged({ deployments, sandboxes }: { deployments: Set<string>; sandboxes: Set<string> }): void {
    for (const id of deployments) this.pendingRows.add(id);
    for (const s of sandboxes) this.pendingGroups.add(s);
    if (deployments.size || sandboxes.size) this.redraws.schedule();
  }

  private redraw(): void {
    for (const id of [...this.nodes.keys()]) if (!this.model.get(id)) this.nodes.delete(id);
    const live = new Set(this.model.sandboxes());
    for (const s of [...this.groupNodes.keys()]) if (!live.has(s)) this.groupNodes.delete(s);
    const groups = [...this.pendingGroups].filter((s) => this.groupNodes.has(s));
    // A group redrawn redraws its rows: only rows of other groups are named.
    const rows = [...this.pendingRows].filter((id) => this.nodes.has(id) && !this.pendingGroups.has(this.model.get(id)!.sandbox));
    // A row VS Code never asked for has nothing to redraw; a group it does not know is new: the root.
    const root = this.pendingRoot || groups.length < this.pendingGroups.size;
    this.pendingRoot = false;
    this.pendingRows.clear();
    this.pendingGroups.clear();
    if (root) this.changed.fire(undefined);
    else if (groups.length || rows.length) this.changed.fire([...groups.map((s) => this.groupNodeOf(s)), ...rows.map((id) => this.nodeOf(id))]);
  }

  private groupNodeOf(sandbox: string): DeploymentGroupNode {
    let node = this.groupNodes.get(sandbox);
    if (!node) this.groupNodes.set(sandbox, (node = { kind: 'deploymentGroup', sandbox }));
    return node;
  }

  private nodeOf(id: string): DeploymentNode {
    let node = this.nodes.get(id);
    if (!node) this.nodes.set(id, (node = { kind: 'deployment', id }));
    return node;
  }
}
