/**
 * The Deployments view (extension/src/deployments-tree.ts) over a scripted daemon answering
 * from the recorded session and a recording `vscode`: deployments grouped by sandbox (the one
 * deployed to last first), each row's status and "… ago" first; a click opens the deployment;
 * while the view shows, the clock redraws only the rows whose "… ago" changed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BranchboxClient } from '../../../schemas/src/client';
import type { DeploymentRecord } from '../../../schemas/src/deploy';
import type { Connected, ConnectionState, DaemonConnection } from '../../../extension/src/connection';
import { DisposableStore, Emitter } from '../../../extension/src/lifetime';
import session from './fixtures/sandbox-session.json';
import * as fake from './fake-vscode';

vi.mock('vscode', () => import('./fake-vscode'));
const { DeploymentsTree } = await import('../../../extension/src/deployments-tree');
type Tree = InstanceType<typeof DeploymentsTree>;
type Node = ReturnType<Tree['getChildren']>[number];

const recorded = (session as { method: string; result?: unknown }[]).find((m) => m.method === 'deploy/list')!.result as { deployments: DeploymentRecord[] };
const [failed] = recorded.deployments;
const at = (min: number) => new Date(Date.parse(failed!.createdAt) + min * 60_000).toISOString();
/** Two sandboxes: rec-demo deployed to last. */
const DEPLOYMENTS: DeploymentRecord[] = [
  { ...failed!, id: 'd-old', sandbox: 'qa', service: 'web', createdAt: at(-30), status: 'running' },
  { ...failed!, id: 'd-new', createdAt: at(0) },
  { ...failed!, id: 'd-mid', service: 'payment', createdAt: at(-10), status: 'running' },
];

function connect(): void {
  const states = new Emitter<ConnectionState>();
  const client: BranchboxClient = new BranchboxClient((text) => {
    const r = JSON.parse(text) as { id: number; method: string };
    queueMicrotask(() => {
      const result = r.method === 'deploy/subscribe' ? { subscription: 'sub-1' } : r.method === 'deploy/list' ? { deployments: DEPLOYMENTS } : null;
      client.receive(JSON.stringify({ jsonrpc: '2.0', id: r.id, result }));
    });
  });
  const connected: Connected = {
    client,
    endpoint: { url: 'ws://fake', token: 't', pid: 1 },
    serverInfo: { name: 'branchboxd', version: '1' },
    protocolVersion: '1.0.0',
    capabilities: { methods: ['deploy/subscribe', 'deploy/list', 'deploy/get'], notifications: [], docker: true },
    scope: new DisposableStore(),
    generation: 1,
  };
  const connection = {
    whileConnected: (fn: (c: Connected) => void) => states.event((s) => s.kind === 'connected' && fn(s.connected)),
  } as unknown as DaemonConnection;
  tree = new DeploymentsTree(connection, { trace() {}, debug() {}, info() {}, warn() {}, error() {} });
  view = fake.created.treeViews.at(-1)!;
  changes = (tree as unknown as { changed: fake.EventEmitter<Node | Node[] | undefined> }).changed;
  states.fire({ kind: 'connected', connected });
}

let tree: Tree;
let view: fake.FakeTreeView;
let changes: fake.EventEmitter<Node | Node[] | undefined>;
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
const texts = (nodes: Node[]) => nodes.map((n) => `${String(tree.getTreeItem(n).label)} | ${String(tree.getTreeItem(n).description)}`);

afterEach(() => {
  tree?.dispose();
  vi.useRealTimers();
});

describe('DeploymentsTree', () => {
  it('groups by sandbox, deployed to last first, rows newest first with status and "… ago" leading; a click opens the deployment', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(Date.parse(at(2)));
    connect();
    await settle();
    await vi.advanceTimersByTimeAsync(50);
    const groups = tree.getChildren();
    expect(texts(groups)).toEqual(['rec-demo | latest 2 min ago · 2 deployments', 'qa | latest 32 min ago · 1 deployment']);
    expect(tree.getTreeItem(groups[0]!).collapsibleState).toBe(fake.TreeItemCollapsibleState.Expanded);
    const rows = tree.getChildren(groups[0]);
    expect(texts(rows)).toEqual([
      expect.stringMatching(/^account \| failed · 2 min ago · broken-build@38bd5c5 · 476 ms$/),
      expect.stringMatching(/^payment \| running · 12 min ago · broken-build@38bd5c5 · 476 ms$/),
    ]);
    expect(tree.getTreeItem(rows[0]!).command).toMatchObject({ command: 'branchbox.showDeployment', arguments: [{ kind: 'deployment', id: 'd-new' }] });
    expect(tree.getParent(rows[0]!)).toBe(groups[0]);
    expect(tree.getTreeItem(groups[0]!).command).toBeUndefined();
  });

  it('follows the sandboxes\' states: a suspended sandbox\'s running deployment is redrawn saying so', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // the redraw debounce, stepped past instead of slept through
    connect();
    await settle();
    await vi.advanceTimersByTimeAsync(60);
    const [recDemo] = tree.getChildren();
    const payment = tree.getChildren(recDemo).find((n) => tree.getTreeItem(n).label === 'payment')!;
    changes.fired.splice(0);
    tree.setSandboxStates(new Map([['rec-demo', 'suspended']]));
    await vi.advanceTimersByTimeAsync(60);
    expect(changes.fired).toEqual([[payment]]); // that row alone
    expect(String(tree.getTreeItem(payment).description)).toMatch(/^suspended · /);
    expect(String(tree.getTreeItem(tree.getChildren(recDemo)[0]!).description)).toMatch(/^failed · /);
  });

  it('while shown, words "… ago" again and redraws only what changed; hidden, not at all', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(Date.parse(at(0)) + 5_000);
    connect();
    await settle();
    await vi.advanceTimersByTimeAsync(50);
    const [recDemo] = tree.getChildren();
    const newest = () => String(tree.getTreeItem(tree.getChildren(recDemo)[0]!).description);
    expect(newest()).toMatch(/^failed · just now/);
    view.setVisible(true);
    changes.fired.splice(0);
    await vi.advanceTimersByTimeAsync(60_000 + 50);
    expect(newest()).toMatch(/^failed · 1 min ago/);
    const fired = changes.fired.splice(0);
    expect(fired.length).toBeGreaterThan(0);
    expect(fired.every((f) => Array.isArray(f))).toBe(true); // never the whole tree
    view.setVisible(false);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(changes.fired).toEqual([]);
  });
});
