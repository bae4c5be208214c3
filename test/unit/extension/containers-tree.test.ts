/**
 * The Containers view (extension/src/containers-tree.ts) over a scripted daemon and a
 * recording `vscode`: subscribe then list, items with stable ids, redraws debounced and
 * limited to the nodes that changed (the same node objects VS Code was given), refetch on
 * resync, and what the view says while Docker or the daemon is missing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BranchboxClient } from '../../../schemas/src/client';
import type { Connected, ConnectionState, DaemonConnection } from '../../../extension/src/connection';
import { DisposableStore, Emitter } from '../../../extension/src/lifetime';
import listMessage from './fixtures/container-list.json';
import eventMessages from './fixtures/events.json';
import * as fake from './fake-vscode';

vi.mock('vscode', () => import('./fake-vscode'));
const { ContainersTree } = await import('../../../extension/src/containers-tree');
type Tree = InstanceType<typeof ContainersTree>;
type Node = ReturnType<Tree['getChildren']>[number];

interface Request {
  id: number;
  method: string;
  params: Record<string, unknown>;
}

/** A connection whose daemon answers from the fixtures; `listError` makes container/list fail. */
function scriptedConnection() {
  const requests: Request[] = [];
  const states = new Emitter<ConnectionState>();
  let listError: { code: number; message: string } | undefined;
  let containers = listMessage.result.containers;
  const client: BranchboxClient = new BranchboxClient((text) => {
    const r = JSON.parse(text) as Request;
    requests.push(r);
    queueMicrotask(() => {
      const reply = (body: object) => client.receive(JSON.stringify({ jsonrpc: '2.0', id: r.id, ...body }));
      if (r.method === 'events/subscribe') reply({ result: { subscription: 'sub-1' } });
      else if (r.method === 'container/list') reply(listError ? { error: listError } : { result: { containers } });
      else if (r.method === 'system/info') reply({ result: { instance: '0123456789ab' } });
      else reply({ result: null });
    });
  });
  const connected: Connected = {
    client,
    endpoint: { url: 'ws://fake', token: 't', pid: 1 },
    serverInfo: { name: 'branchboxd', version: '1' },
    protocolVersion: '1.0.0',
    capabilities: { methods: ['events/subscribe', 'container/list', 'system/info'], notifications: [], docker: true },
    scope: new DisposableStore(),
    generation: 1,
  };
  let current: ConnectionState = { kind: 'connecting', attempt: 1 };
  const connection = {
    get connected() {
      return current.kind === 'connected' ? current.connected : undefined;
    },
    onDidChangeState: states.event,
    whileConnected: (fn: (c: Connected) => void) =>
      states.event((s) => {
        if (s.kind === 'connected') fn(s.connected);
      }),
  } as unknown as DaemonConnection;
  return {
    connection,
    requests,
    connect: (oldDaemon = false) =>
      states.fire((current = { kind: 'connected', connected: oldDaemon ? { ...connected, capabilities: { ...connected.capabilities, methods: [] } } : connected })),
    disconnect: (reason: string) => {
      connected.scope.dispose();
      states.fire((current = { kind: 'disconnected', reason, retryInMs: 250 }));
    },
    events: (batch: number) => client.receive(JSON.stringify(eventMessages[batch])),
    setListError: (e: typeof listError) => (listError = e),
    setContainers: (list: typeof containers) => (containers = list),
  };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
const quietLog = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

let tree: Tree;
let changes: fake.EventEmitter<Node | Node[] | undefined>;
let view: fake.FakeTreeView;
const fired = () => changes.fired.splice(0);

async function loadedTree() {
  const d = scriptedConnection();
  tree = new ContainersTree(d.connection, quietLog);
  view = fake.created.treeViews.at(-1)!;
  changes = (tree as unknown as { changed: fake.EventEmitter<Node | Node[] | undefined> }).changed;
  d.connect();
  await settle();
  await vi.advanceTimersByTimeAsync(50);
  return d;
}

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
afterEach(() => {
  tree?.dispose();
  vi.useRealTimers();
});

describe('ContainersTree', () => {
  it('subscribes to events before listing, then shows the groups with stable ids', async () => {
    const d = await loadedTree();
    expect(d.requests.map((r) => r.method)).toEqual(['events/subscribe', 'container/list', 'system/info']);
    expect(d.requests[0]!.params).toEqual({ types: ['container'] });
    expect(d.requests[1]!.params).toEqual({ all: true });
    expect(fired()).toEqual([undefined]); // the first list redraws everything, once
    expect(view.message).toBeUndefined();

    // This daemon's sandboxes (by its instance, from system/info), expanded; Other collapsed.
    const groups = tree.getChildren();
    expect(groups.map((g) => tree.getTreeItem(g).id)).toEqual(['group:sandbox:qa', 'group:sandbox:shop', 'group:other']);
    expect(groups.map((g) => tree.getTreeItem(g).collapsibleState)).toEqual([2, 2, 1]);
    expect(tree.getChildren(groups[2]).map((n) => tree.getTreeItem(n).label)).toContain('sandbox-shop-web');
    const shop = tree.getTreeItem(groups[1]!);
    expect(shop).toMatchObject({ label: 'shop', description: 'sandbox · 2/2 running, 1 unhealthy', contextValue: 'group.sandbox' });
    const [account] = tree.getChildren(groups[1]);
    const item = tree.getTreeItem(account!);
    expect(item).toMatchObject({ id: `container:${'a1'.repeat(32)}`, label: 'sandbox-shop-account', description: '32768→8080', contextValue: 'container.running' });
    expect(item.iconPath).toEqual(new fake.ThemeIcon('pass-filled', new fake.ThemeColor('charts.green')));
    expect((item.tooltip as fake.MarkdownString).value).toContain('| Id | `a1a1a1a1a1a1` |');
    expect(tree.getParent(account!)).toBe(groups[1]);
    expect(tree.containerOf(account)?.name).toBe('sandbox-shop-account');
    expect(tree.containerOf({ kind: 'group', key: 'other' })).toBeUndefined();
  });

  it('redraws only what changed, after 50 ms, with the node objects VS Code already has', async () => {
    const d = await loadedTree();
    fired();
    const groups = tree.getChildren();
    d.events(0); // qa-web starts, payment turns healthy
    await vi.advanceTimersByTimeAsync(49);
    expect(fired()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    const [nodes] = fired() as Node[][];
    expect(nodes).toHaveLength(2);
    expect(nodes![0]).toBe(groups[0]); // sandbox:qa, the same object
    expect(nodes![1]).toBe(groups[1]); // sandbox:shop

    // Health alone: only the row.
    const dnsNode = tree.getChildren(groups[2]).find((n) => tree.getTreeItem(n).label === 'dns')!;
    d.events(1); // new container in shop: the group
    const dns = listMessage.result.containers.find((c) => c.name === 'dns')!;
    tree['connection'].connected!.client.receive(
      JSON.stringify({
        jsonrpc: '2.0',
        method: 'events/event',
        params: { subscription: 'sub-1', items: [{ type: 'container', action: 'health_status', id: dns.id, time: '2025-11-20T10:00:00Z', container: { ...dns, health: 'healthy' } }] },
      }),
    );
    await vi.advanceTimersByTimeAsync(50);
    const [coalesced, ...more] = fired() as Node[][];
    expect(more).toEqual([]); // two batches, one redraw
    expect(coalesced).toEqual([groups[1], dnsNode]);
    expect(coalesced![1]).toBe(dnsNode);
  });

  it('redraws the root when a group appears or goes away, and forgets removed nodes', async () => {
    await loadedTree();
    fired();
    const qa = listMessage.result.containers.find((c) => c.name === 'sandbox-qa-web')!;
    tree['connection'].connected!.client.receive(
      JSON.stringify({ jsonrpc: '2.0', method: 'events/event', params: { subscription: 'sub-1', items: [{ type: 'container', action: 'destroy', id: qa.id, time: '2025-11-20T10:00:00Z' }] } }),
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(fired()).toEqual([undefined]);
    expect(tree.getChildren().map((g) => tree.getTreeItem(g).id)).toEqual(['group:sandbox:shop', 'group:other']);
  });

  it('words the suspended sandbox\'s containers as the Sandboxes view says, redrawing only that group', async () => {
    await loadedTree();
    fired();
    const qa = tree.getChildren()[0]!;
    tree.setSandboxes(new Map([['qa', { state: 'suspended', services: new Map() }]]));
    await vi.advanceTimersByTimeAsync(50);
    expect(fired()).toEqual([[qa]]);
    const [web] = tree.getChildren(qa);
    expect(tree.getTreeItem(web!)).toMatchObject({ description: 'suspended', iconPath: new fake.ThemeIcon('debug-pause', new fake.ThemeColor('disabledForeground')) });
  });

  it('words time-relative tooltips again while the view shows, and stops with it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(Date.parse('2025-11-20T09:00:02Z'));
    await loadedTree();
    const shop = tree.getChildren()[1]!;
    const account = () => tree.getChildren(shop).find((n) => tree.getTreeItem(n).label === 'sandbox-shop-account')!;
    const status = () => /\| Status \| ([^|]*) \|/.exec((tree.getTreeItem(account()).tooltip as fake.MarkdownString).value)![1];
    expect(status()).toBe('Up Less than a second \\(healthy\\)');
    view.setVisible(true);
    fired();
    await vi.advanceTimersByTimeAsync(7 * 60_000);
    expect(status()).toBe('Up 7 minutes \\(healthy\\)');
    // Only the rows whose words changed were redrawn, never the root.
    expect(fired().every((f) => Array.isArray(f))).toBe(true);
    view.setVisible(false);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(status()).toBe('Up 7 minutes \\(healthy\\)');
  });

  it('refetches the list on a resync item and redraws only the difference', async () => {
    const d = await loadedTree();
    fired();
    const changed = listMessage.result.containers.map((c) => (c.name === 'builder' ? { ...c, state: 'running', status: 'Up 1 second' } : c));
    d.setContainers(changed);
    d.events(4);
    await settle();
    await vi.advanceTimersByTimeAsync(50);
    expect(d.requests.filter((r) => r.method === 'container/list')).toHaveLength(2);
    const other = tree.getChildren()[2];
    expect(fired()).toEqual([[other]]);
  });

  it('says when Docker is unavailable, and lists again once the daemon says it is back', async () => {
    const d = scriptedConnection();
    d.setListError({ code: 1201, message: 'connect ENOENT /var/run/docker.sock' });
    tree = new ContainersTree(d.connection, quietLog);
    view = fake.created.treeViews.at(-1)!;
    d.connect();
    await settle();
    expect(view.message).toBe('Docker is unavailable: connect ENOENT /var/run/docker.sock');
    d.setListError(undefined);
    d.events(4); // resync: the engine is back
    await settle();
    expect(view.message).toBeUndefined();
    expect(tree.model.size).toBe(listMessage.result.containers.length - 1); // not the build step's container
  });

  it('says so when the daemon does not serve containers (an older daemon still running)', async () => {
    const d = scriptedConnection();
    tree = new ContainersTree(d.connection, quietLog);
    view = fake.created.treeViews.at(-1)!;
    d.connect(true);
    await settle();
    expect(d.requests).toEqual([]);
    expect(view.message).toBe(
      'branchboxd 1 does not serve containers (no events/subscribe, container/list); use Restart Daemon to run the version bundled with the extension.',
    );
  });

  it('keeps the last containers while reconnecting, and says so', async () => {
    const d = await loadedTree();
    d.disconnect('socket closed (1006)');
    expect(view.message).toBe('Not connected to branchboxd (socket closed (1006)); retrying…');
    expect(tree.getChildren()).toHaveLength(3);
  });
});
