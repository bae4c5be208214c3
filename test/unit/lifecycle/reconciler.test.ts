/**
 * The reconciler over a real SQLite state and a fake Docker: adoption of a labelled container
 * whose running deployment lost its serving record, orphans removed only after the grace
 * period (injected clock), objects of other daemons (another `branchbox.instance`) left alone,
 * deployments' own leftovers left to the deploy reaper, a vanished container forgotten, and
 * images no deployment of an existing sandbox needs removed after the grace period.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LifecycleDocker, ManagedContainer, ManagedImage, ManagedNetwork, ManagedVolume } from '../../../daemon/src/lifecycle/lifecycle-docker';
import { DeploymentStore } from '../../../daemon/src/deploy/deployment-store';
import { Reconciler } from '../../../daemon/src/lifecycle/reconciler';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';

const selected = (labels: Readonly<Record<string, string>>, selectors: readonly string[]) =>
  selectors.every((s) => labels[s.split('=')[0]!] === s.split('=')[1]);

class FakeDocker implements LifecycleDocker {
  containers: ManagedContainer[] = [];
  networks: ManagedNetwork[] = [];
  volumes: ManagedVolume[] = [];
  images: ManagedImage[] = [];
  /** Size (parents' layers included) and parent of images, intermediate ones too; absent: 0 bytes, no parent. */
  layers = new Map<string, { size: number; parentId?: string }>();
  /** Image ids some container uses. */
  used = new Set<string>();
  removed: string[] = [];
  sandboxContainers = () => Promise.resolve([]);
  stop = () => Promise.resolve();
  start = () => Promise.resolve();
  restart = () => Promise.resolve();
  inspect = (id: string) =>
    Promise.resolve(this.containers.some((c) => c.id === id) ? { id, state: 'running', running: true, restartCount: 0, exitCode: 0, oomKilled: false } : undefined);
  managedContainers = (selectors: readonly string[]) => Promise.resolve(this.containers.filter((c) => selected(c.labels, selectors)));
  managedNetworks = (selectors: readonly string[]) => Promise.resolve(this.networks.filter((n) => selected(n.labels, selectors)));
  managedVolumes = (selectors: readonly string[]) => Promise.resolve(this.volumes.filter((v) => selected(v.labels, selectors)));
  managedImages = (selectors: readonly string[]) =>
    Promise.resolve(this.images.filter((i) => selected(i.labels, selectors) && i.labels['branchbox.base'] !== 'true'));
  imagesInUse = () => Promise.resolve(new Set(this.used));
  imageGraph = () => {
    const ids = new Set([...this.images.map((i) => i.id), ...this.layers.keys()]);
    const labelsOf = (id: string) => this.images.find((i) => i.id === id)?.labels ?? imageLabels('layer');
    return Promise.resolve([...ids].map((id) => ({ id, labels: labelsOf(id), size: 0, ...this.layers.get(id) })));
  };
  removeImage = (image: ManagedImage) => {
    if (this.used.has(image.id)) return Promise.resolve('in-use' as const);
    this.removed.push(image.id);
    this.images = this.images.filter((i) => i.id !== image.id);
    return Promise.resolve('removed' as const);
  };
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
  removeVolume = (name: string) => {
    this.removed.push(name);
    this.volumes = this.volumes.filter((v) => v.name !== name);
    return Promise.resolve();
  };
}

let dir: string;
let store: Store;
let sandboxes: SandboxStore;
let ports: PortAllocator;
let docker: FakeDocker;
let now: number;

const OURS = { 'branchbox.instance': 'aaaaaaaaaaaa' };

const labels = (sandbox: string, extra: Record<string, string> = {}) => ({
  'branchbox.managed': 'true',
  ...OURS,
  'branchbox.sandbox': sandbox,
  'branchbox.service': 'account',
  ...extra,
});

const imageLabels = (commit: string, extra: Record<string, string> = {}) => ({
  'branchbox.managed': 'true',
  ...OURS,
  'branchbox.project': 'shop',
  'branchbox.service': 'account',
  'branchbox.commit': commit,
  ...extra,
});

function deployment(id: string, sandbox: string, status: string, image: string | null = null, createdAt = '2026-01-01T00:00:00Z'): void {
  store.db
    .prepare(
      `INSERT INTO deployments (id, sandbox, service, repo_path, ref, commit_sha, status, image, created_at) VALUES (?, ?, 'account', '/r', 'main', 'abc1234', ?, ?, ?)`,
    )
    .run(id, sandbox, status, image, createdAt);
}

function reconciler(extraLabels: Record<string, string> = OURS, keepImagesPerService?: number) {
  return new Reconciler({
    deployments: new DeploymentStore(store),
    sandboxes,
    ports,
    docker,
    graceMs: 1_000,
    now: () => now,
    extraLabels,
    ...(keepImagesPerService !== undefined ? { keepImagesPerService } : {}),
  });
}

/** Five deployments of qa/account, one image each (c1 oldest … c5 serving), each image 10 MB over a shared 100 MB layer on a base. */
function fiveCommits(): void {
  docker.layers.set('sha256:base', { size: 50_000_000 });
  docker.images.push({ id: 'sha256:base', tags: ['branchbox/node:20'], labels: { 'branchbox.base': 'true' } });
  docker.layers.set('sha256:deps', { size: 150_000_000, parentId: 'sha256:base' });
  for (let i = 1; i <= 5; i++) {
    const tag = `branchbox/shop-account:c${i}`;
    deployment(`c${i}`, 'qa', i === 5 ? 'running' : 'superseded', tag, `2026-01-01T00:0${i}:00Z`);
    docker.images.push({ id: `sha256:c${i}`, tags: [tag], labels: imageLabels(`c${i}`) });
    docker.layers.set(`sha256:c${i}`, { size: 160_000_000, parentId: 'sha256:deps' });
  }
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

  it("keeps an existing sandbox's volumes (suspended or not); removes those of a deleted sandbox after the grace period", async () => {
    const volume = (name: string, sandbox: string) => ({ name, labels: { 'branchbox.managed': 'true', ...OURS, 'branchbox.sandbox': sandbox } });
    docker.volumes.push(volume('sandbox-qa_pgdata', 'qa'), volume('sandbox-ghost_pgdata', 'ghost'));
    docker.containers.push({ id: 'c6', name: 'sandbox-ghost-db', state: 'exited', labels: labels('ghost') });
    const r = reconciler();
    await r.reconcile();
    now = 1_000;
    // Its container goes first; the volume waits until nothing of its sandbox is left.
    expect(await r.reconcile()).toMatchObject({ removedContainers: ['sandbox-ghost-db'], removedVolumes: [] });
    now = 1_999;
    expect((await r.reconcile()).removedVolumes).toEqual([]);
    now = 2_000;
    expect((await r.reconcile()).removedVolumes).toEqual(['sandbox-ghost_pgdata']);
    now = 100_000;
    expect((await r.reconcile()).removedVolumes).toEqual([]);
    expect(docker.volumes.map((v) => v.name)).toEqual(['sandbox-qa_pgdata']);
    // Another daemon's volume of a sandbox this one does not know is left alone.
    docker.volumes.push({ name: 'sandbox-x_data', labels: { ...volume('', 'x').labels, 'branchbox.instance': 'bbbbbbbbbbbb' } });
    await r.reconcile();
    now = 200_000;
    expect((await r.reconcile()).removedVolumes).toEqual([]);
  });

  it("never touches objects of another daemon (another instance), nor, with extra labels, objects without them", async () => {
    docker.containers.push({ id: 'c4', name: 'a', state: 'running', labels: labels('ghost', { 'branchbox.instance': 'bbbbbbbbbbbb' }) });
    docker.networks.push({ id: 'n4', name: 'sandbox-ghost', labels: labels('ghost', { 'branchbox.instance': 'bbbbbbbbbbbb' }) });
    docker.images.push({ id: 'sha256:i4', tags: ['branchbox/shop-account:other'], labels: imageLabels('other', { 'branchbox.instance': 'bbbbbbbbbbbb' }) });
    const ours = reconciler();
    await ours.reconcile();
    now = 10_000;
    expect(await ours.reconcile()).toMatchObject({ removedContainers: [], removedNetworks: [], removedImages: [], pending: 0 });
    docker.containers.push({ id: 'c5', name: 'b', state: 'running', labels: labels('ghost') });
    const scoped = reconciler({ ...OURS, 'branchbox.test': 'run-1' });
    await scoped.reconcile();
    now = 20_000;
    expect((await scoped.reconcile()).removedContainers).toEqual([]);
    expect(docker.removed).toEqual([]);
  });

  it('removes an image no deployment of an existing sandbox references after the grace period; keeps the rest', async () => {
    sandboxes.insert({ name: 'gone', owner: 'me' });
    deployment('d7', 'qa', 'running', 'branchbox/shop-account:live');
    deployment('d8', 'gone', 'running', 'branchbox/shop-account:history');
    store.db.prepare("DELETE FROM sandboxes WHERE name = 'gone'").run(); // its deployments stay, as history
    docker.images.push(
      { id: 'sha256:live', tags: ['branchbox/shop-account:live'], labels: imageLabels('live') },
      { id: 'sha256:history', tags: ['branchbox/shop-account:history'], labels: imageLabels('history') },
      { id: 'sha256:used', tags: ['branchbox/shop-account:used'], labels: imageLabels('used') },
      { id: 'sha256:base', tags: ['branchbox/busybox:1'], labels: { 'branchbox.managed': 'true', ...OURS, 'branchbox.base': 'true' } },
    );
    docker.used.add('sha256:used');
    const r = reconciler();
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 1 });
    now = 999;
    expect((await r.reconcile()).removedImages).toEqual([]);
    now = 1_000;
    expect((await r.reconcile()).removedImages).toEqual(['branchbox/shop-account:history']);
    now = 5_000;
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 0 });
    expect(docker.images.map((i) => i.id)).toEqual(['sha256:live', 'sha256:used', 'sha256:base']);
  });

  it('never removes an image a deployment in flight references, or may still pick', async () => {
    docker.images.push({ id: 'sha256:old', tags: ['branchbox/shop-account:old'], labels: imageLabels('old') });
    // Building: the image is recorded before the build starts, whatever its sandbox.
    deployment('d9', 'elsewhere', 'building', 'branchbox/shop-account:old');
    const r = reconciler();
    await r.reconcile();
    now = 5_000;
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 0 });
    // Preparing, image not yet chosen: it may reuse any image of its service.
    store.db.prepare("UPDATE deployments SET status = 'failed' WHERE id = 'd9'").run();
    deployment('d10', 'elsewhere', 'preparing');
    await r.reconcile();
    now = 10_000;
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 0 });
    // Once nothing in flight may need it, the grace period starts.
    store.db.prepare("UPDATE deployments SET status = 'failed' WHERE id = 'd10'").run();
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 1 });
    now = 11_000;
    expect((await r.reconcile()).removedImages).toEqual(['branchbox/shop-account:old']);
  });

  it('removes no image at all while a build runs (a build may be reusing the layers under any image)', async () => {
    docker.images.push({ id: 'sha256:old', tags: ['branchbox/shop-account:old'], labels: imageLabels('old') });
    deployment('d11', 'qa', 'building', 'branchbox/shop-payment:new');
    const r = reconciler();
    await r.reconcile();
    now = 5_000;
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 0 });
    store.db.prepare("UPDATE deployments SET status = 'running' WHERE id = 'd11'").run();
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 1 });
    now = 6_000;
    expect((await r.reconcile()).removedImages).toEqual(['branchbox/shop-account:old']);
  });

  it("keeps each service's newest images of an existing sandbox and reaps older ones after the grace period", async () => {
    fiveCommits();
    // A later deployment that failed (its image never built) takes no place among the newest.
    deployment('f6', 'qa', 'failed', 'branchbox/shop-account:f6', '2026-01-01T00:06:00Z');
    const r = reconciler(OURS, 2);
    expect(r.imageRetention()).toBeUndefined();
    expect(await r.reconcile()).toMatchObject({ removedImages: [], pending: 3 });
    // The shared layer counts once, with the images kept; the base not at all.
    expect(r.imageRetention()).toMatchObject({ keepPerService: 2, kept: { count: 2, bytes: 120_000_000 }, reclaimable: { count: 3, bytes: 30_000_000 } });
    now = 1_000;
    expect((await r.reconcile()).removedImages).toEqual(['branchbox/shop-account:c1', 'branchbox/shop-account:c2', 'branchbox/shop-account:c3']);
    expect(r.imageRetention()).toMatchObject({ kept: { count: 2, bytes: 120_000_000 }, reclaimable: { count: 0, bytes: 0 } });
    // Once the sandbox is gone, nothing keeps them.
    store.db.prepare("DELETE FROM sandboxes WHERE name = 'qa'").run();
    store.db.prepare("UPDATE deployments SET status = 'stopped' WHERE id = 'c5'").run();
    await r.reconcile();
    now = 2_000;
    expect((await r.reconcile()).removedImages).toEqual(['branchbox/shop-account:c4', 'branchbox/shop-account:c5']);
    expect(docker.images.map((i) => i.id)).toEqual(['sha256:base']);
  });

  it('reclaims at once what the retention does not keep; with dryRun says what it would; nothing while a build runs', async () => {
    fiveCommits();
    docker.used.add('sha256:c1'); // a container (any) still uses it
    const r = reconciler(OURS, 1);
    expect(await r.reclaimImages({ dryRun: true })).toMatchObject({
      removed: ['branchbox/shop-account:c2', 'branchbox/shop-account:c3', 'branchbox/shop-account:c4'],
      spaceReclaimed: 30_000_000,
      buildsRunning: 0,
    });
    expect(docker.removed).toEqual([]);
    deployment('b1', 'qa', 'building', 'branchbox/shop-payment:new', '2026-01-01T00:09:00Z');
    expect(await r.reclaimImages()).toMatchObject({ removed: [], spaceReclaimed: 0, buildsRunning: 1 });
    store.db.prepare("UPDATE deployments SET status = 'failed' WHERE id = 'b1'").run();
    const reclaimed = await r.reclaimImages();
    expect(reclaimed).toMatchObject({ removed: ['branchbox/shop-account:c2', 'branchbox/shop-account:c3', 'branchbox/shop-account:c4'], spaceReclaimed: 30_000_000 });
    expect(reclaimed.retention).toMatchObject({ kept: { count: 2, bytes: 120_000_000 }, reclaimable: { count: 0, bytes: 0 } });
    expect(docker.images.map((i) => i.id)).toEqual(['sha256:base', 'sha256:c1', 'sha256:c5']);
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
