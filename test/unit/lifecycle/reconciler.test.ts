/**
 * The reconciler over a real SQLite state and a fake Docker: adoption of a labelled container
 * whose running deployment lost its serving record, orphans removed only after the grace
 * period (injected clock), objects of other scopes (`branchbox.test`) left alone, deployments'
 * own leftovers left to the deploy reaper, and a vanished container forgotten.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LifecycleDocker, ManagedContainer, ManagedNetwork } from '../../../daemon/src/lifecycle/lifecycle-docker';
import { Reconciler } from '../../../daemon/src/lifecycle/reconciler';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';

class FakeDocker implements LifecycleDocker {
  containers: ManagedContainer[] = [];
  networks: ManagedNetwork[] = [];
  removed: string[] = [];
  sandboxContainers = () => Promise.resolve([]);
  stop = () => Promise.resolve();
  start = () => Promise.resolve();
  restart = () => Promise.resolve();
  inspect = (id: string) =>
    Promise.resolve(this.containers.some((c) => c.id === id) ? { id, state: 'running', running: true, restartCount: 0, exitCode: 0, oomKilled: false } : undefined);
  managedContainers = (selectors: readonly string[]) =>
    Promise.resolve(this.containers.filter((c) => selectors.every((s) => c.labels[s.split('=')[0]!] === s.split('=')[1])));
  managedNetworks = () => Promise.resolve(this.networks);
  removeContainer = (id: string) => {
    this.removed.push(id);
    this.containers = this.containers.filter((c) => c.id !== id);
    return Promise.resolve();
  };
  removeNetwork = (id: string) => {
    this.removed.push(id);
    this.networks = this.networks.filter((n) => n.id !== id);
    return Promise.resolve();
  };
}

let dir: string;
let store: Store;
let sandboxes: SandboxStore;
let ports: PortAllocator;
let docker: FakeDocker;
let now: number;

const labels = (sandbox: string, extra: Record<string, string> = {}) => ({
  'branchbox.managed': 'true',
  'branchbox.sandbox': sandbox,
  'branchbox.service': 'account',
  ...extra,
});

function deployment(id: string, sandbox: string, status: string): void {
  store.db
    .prepare(
      `INSERT INTO deployments (id, sandbox, service, repo_path, ref, commit_sha, status, created_at) VALUES (?, ?, 'account', '/r', 'main', 'abc1234', ?, '2026-01-01T00:00:00Z')`,
    )
    .run(id, sandbox, status);
}

function reconciler(extraLabels?: Record<string, string>) {
  return new Reconciler({ store, sandboxes, ports, docker, graceMs: 1_000, now: () => now, ...(extraLabels ? { extraLabels } : {}) });
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-reconcile-'));
  store = openStore(path.join(dir, 'state.db'));
  sandboxes = new SandboxStore(store);
  ports = new PortAllocator(store, { hostCheck: { firstFree: (candidates) => candidates[0] } });
  docker = new FakeDocker();
  now = 0;
  sandboxes.insert({ name: 'qa', owner: 'me' });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Reconciler', () => {
  it('adopts a labelled container of a running deployment the sandbox lost track of', async () => {
    deployment('d1', 'qa', 'running');
    docker.containers.push({ id: 'c1', name: 'sandbox-qa-account', state: 'running', labels: labels('qa', { 'branchbox.deployment': 'd1', 'branchbox.commit': 'abc1234' }), hostPort: 42001 });
    sandboxes.setRoute('qa', 'account', 'sandbox');
    const report = await reconciler().reconcile();
    expect(report.adopted).toEqual(['sandbox-qa-account']);
    expect(sandboxes.require('qa').services[0]).toMatchObject({ service: 'account', containerId: 'c1', hostPort: 42001, commit: 'abc1234', deploymentId: 'd1' });
  });

  it('leaves containers of known deployments that are not running to the deploy reaper', async () => {
    deployment('d2', 'qa', 'failed');
    docker.containers.push({ id: 'c2', name: 'x', state: 'exited', labels: labels('qa', { 'branchbox.deployment': 'd2' }) });
    const r = reconciler();
    await r.reconcile();
    now = 5_000;
    const report = await r.reconcile();
    expect(report).toMatchObject({ adopted: [], removedContainers: [] });
    expect(docker.removed).toEqual([]);
  });

  it('removes a labelled container and network of no sandbox only after the grace period', async () => {
    docker.containers.push({ id: 'c3', name: 'sandbox-ghost-account', state: 'running', labels: labels('ghost') });
    docker.networks.push({ id: 'n3', name: 'sandbox-ghost', labels: labels('ghost') });
    const r = reconciler();
    expect(await r.reconcile()).toMatchObject({ removedContainers: [], pending: 1 });
    now = 999;
    expect((await r.reconcile()).removedContainers).toEqual([]);
    now = 1_000;
    const report = await r.reconcile();
    expect(report.removedContainers).toEqual(['sandbox-ghost-account']);
    // The network goes once nothing of its sandbox is left.
    now = 2_000;
    expect((await r.reconcile()).removedNetworks).toEqual(['sandbox-ghost']);
  });

  it("never touches objects of a test daemon's scope, nor, with extra labels, objects without them", async () => {
    docker.containers.push({ id: 'c4', name: 'a', state: 'running', labels: labels('ghost', { 'branchbox.test': 'run-1' }) });
    const plain = reconciler();
    await plain.reconcile();
    now = 10_000;
    expect((await plain.reconcile()).removedContainers).toEqual([]);
    docker.containers.push({ id: 'c5', name: 'b', state: 'running', labels: labels('ghost') });
    const scoped = reconciler({ 'branchbox.test': 'run-1' });
    await scoped.reconcile();
    now = 20_000;
    expect((await scoped.reconcile()).removedContainers).toEqual(['a']);
    expect(docker.containers.map((c) => c.id)).toEqual(['c5']);
  });

  it('forgets a serving container that vanished and releases its port; releases ports of no sandbox', async () => {
    deployment('d6', 'qa', 'running');
    const port = ports.allocate({ sandbox: 'qa', service: 'account', purpose: 'service', deploymentId: 'd6' });
    sandboxes.recordServing('qa', 'account', { deploymentId: 'd6', containerId: 'gone', hostPort: port, commit: 'abc1234' });
    store.db.prepare("INSERT INTO ports (port, sandbox, purpose, allocated_at) VALUES (7, 'nobody', 'gateway', '2026-01-01T00:00:00Z')").run();
    const report = await reconciler().reconcile();
    expect(report).toMatchObject({ vanished: ['qa/account'], releasedPorts: 1 });
    const after = sandboxes.require('qa');
    expect(after.services[0]!.containerId).toBeUndefined();
    expect(after.ports).toEqual([]);
  });
});
