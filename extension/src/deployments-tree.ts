/**
 * The Deployments view: recent deployments, newest first (`deploy/list` once per connection),
 * kept current by `deploy/progress`; a deployment not seen before, or one that became final,
 * is fetched with `deploy/get` for its exact record. A click opens the deployment.
 */
import * as vscode from 'vscode';
import type { DeployProgress } from '../../schemas/src/deploy';
import type { Connected, DaemonConnection, Logger } from './connection';
import { DeploymentListModel, HISTORY_LIMIT } from './deployment-model';
import { RedrawDebounce, rowItem } from './tree-views';

export const DEPLOYMENTS_VIEW_ID = 'branchbox.deployments';
/** What a click on a deployment runs: the Deployment panel (panels/commands.ts takes `{ id }`). */
export const OPEN_DEPLOYMENT_COMMAND = 'branchbox.showDeployment';

export interface DeploymentNode {
  readonly kind: 'deployment';
  readonly id: string;
}

export function isDeploymentNode(value: unknown): value is DeploymentNode {
  return typeof value === 'object' && value !== null && (value as DeploymentNode).kind === 'deployment' && typeof (value as DeploymentNode).id === 'string';
}

export class DeploymentsTree implements vscode.TreeDataProvider<DeploymentNode>, vscode.Disposable {
  readonly model = new DeploymentListModel();
  private readonly changed = new vscode.EventEmitter<DeploymentNode | DeploymentNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<DeploymentNode>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly nodes = new Map<string, DeploymentNode>();
  private pendingRoot = false;
  private readonly pendingRows = new Set<string>();
  private readonly redraws = new RedrawDebounce(() => this.redraw());

  constructor(
    connection: DaemonConnection,
    private readonly log: Logger,
  ) {
    this.view = vscode.window.createTreeView(DEPLOYMENTS_VIEW_ID, { treeDataProvider: this });
    this.disposables.push(this.view, this.redraws, this.changed, connection.whileConnected((c) => this.follow(c)));
  }

  getChildren(node?: DeploymentNode): DeploymentNode[] {
    if (node) return [];
    return this.model.list().map((d) => this.nodeOf(d.id));
  }

  getTreeItem(node: DeploymentNode): vscode.TreeItem {
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

  private touch(id: string, root: boolean): void {
    if (root) this.pendingRoot = true;
    else this.pendingRows.add(id);
    this.redraws.schedule();
  }

  private redraw(): void {
    for (const id of [...this.nodes.keys()]) if (!this.model.get(id)) this.nodes.delete(id);
    const rows = [...this.pendingRows].filter((id) => this.nodes.has(id)).map((id) => this.nodeOf(id));
    const root = this.pendingRoot || rows.length < this.pendingRows.size;
    this.pendingRoot = false;
    this.pendingRows.clear();
    if (root) this.changed.fire(undefined);
    else if (rows.length) this.changed.fire(rows);
  }

  private nodeOf(id: string): DeploymentNode {
    let node = this.nodes.get(id);
    if (!node) this.nodes.set(id, (node = { kind: 'deployment', id }));
    return node;
  }
}
