/**
 * The sandbox lifecycle against a real SQLite state, a fake Docker and a recording deploy
 * pipeline (the real pipeline and engine are exercised by test/integration/sandbox/).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Project } from '../../../schemas/src/project';
import type { SandboxEvent } from '../../../schemas/src/sandbox';
import { loadProject } from '../../../daemon/src/project/load';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { Redactor } from '../../../daemon/src/runtime/log';
import type { DeployControl, DeployRequest, FinalDeployment } from '../../../daemon/src/sandbox/deploy-control';
import { EnvironmentStore } from '../../../daemon/src/sandbox/environment';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import type { RemovedObjects, SandboxDockerObjects } from '../../../daemon/src/sandbox/sandbox-docker';
import { SandboxService } from '../../../daemon/src/sandbox/sandbox-service';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { SecretBox } from '../../../daemon/src/sandbox/secrets';
import { SnapshotFiles } from '../../../daemon/src/sandbox/snapshot-files';
import { SnapshotStore } from '../../../daemon/src/sandbox/snapshots';
import { TemplateStore } from '../../../daemon/src/sandbox/templates';
import type { SandboxVolume, VolumeDataOps } from '../../../daemon/src/sandbox/volume-data';
import { openStore, type Store } from '../../../daemon/src/state/store';

const SHOP = path.resolve(__dirname, '../../fixtures/projects/shop');
const me = { osUser: 'alice', client: 'vitest' };

/** Docker as a set of sandboxes that have a network and a number of containers. */
class FakeDocker implements SandboxDockerObjects {
  readonly networks = new Set<string>();
  readonly containers = new Map<string, number>();
  failRemoval = false;
  async ensureNetwork(sandbox: string): Promise<string> {
    this.networks.add(sandbox);
    return `net-${sandbox}`;
  }
  async removeAll(sandbox: string): Promise<RemovedObjects> {
    if (this.failRemoval) throw new RpcError('DockerUnavailable', 'engine went away');
    const removed = { containers: this.containers.get(sandbox) ?? 0, networks: this.networks.has(sandbox) ? 1 : 0 };
    this.containers.delete(sandbox);
    this.networks.delete(sandbox);
    return removed;
  }
  async remaining(sandbox: string): Promise<RemovedObjects> {
    return { containers: this.containers.get(sandbox) ?? 0, networks: this.networks.has(sandbox) ? 1 : 0 };
  }
}

/** Volumes as text per sandbox and name; a tar file holds the text; containers mounting a volume by name. */
class FakeVolumes implements VolumeDataOps {
  readonly data = new Map<string, Map<string, string>>();
  readonly mountedBy = new Map<string, string[]>();
  failFill: string | undefined;
  private of(sandbox: string): Map<string, string> {
    const m = this.data.get(sandbox) ?? new Map<string, string>();
    this.data.set(sandbox, m);
    return m;
  }
  async list(sandbox: string): Promise<SandboxVolume[]> {
    return [...this.of(sandbox).keys()].sort().map((name) => ({ name, dockerName: `sandbox-${sandbox}_${name}` }));
  }
  async capture(sandbox: string, volume: string, file: string): Promise<number> {
    fs.writeFileSync(file, this.of(sandbox).get(volume)!, { mode: 0o600 });
    return fs.statSync(file).size;
  }
  async fill(sandbox: string, volume: string, file: string | undefined): Promise<void> {
    if (this.failFill === volume) throw new RpcError('DockerError', `cannot fill ${volume}`);
    this.of(sandbox).set(volume, file === undefined ? '' : fs.readFileSync(file, 'utf8'));
  }
  async copy(from: string, to: string, volume: string): Promise<void> {
    if (this.failFill === volume) throw new RpcError('DockerError', `cannot fill ${volume}`);
    this.of(to).set(volume, this.of(from).get(volume)!);
  }
  async users(sandbox: string, volumes: readonly string[]): Promise<Map<string, string[]>> {
    return new Map(volumes.filter((v) => this.mountedBy.has(`${sandbox}/${v}`)).map((v) => [v, this.mountedBy.get(`${sandbox}/${v}`)!]));
  }
  async removeAll(sandbox: string): Promise<string[]> {
    const names = [...this.of(sandbox).keys()].sort();
    this.data.delete(sandbox);
    return names;
  }
}

/** Records requests; each deployment "runs" and records serving as the real pipeline would. */
class RecordingDeploys implements DeployControl {
  readonly requests: DeployRequest[] = [];
  readonly cancelled: string[] = [];
  private next = 1;
  private readonly finals = new Map<string, FinalDeployment>();
  failService: string | undefined;
  refuse: string | undefined;
  constructor(private readonly sandboxes: SandboxStore) {}
  start(req: DeployRequest) {
    if (this.refuse) throw new RpcError('GitError', this.refuse);
    this.requests.push(req);
    const deployments = req.services.map((service) => {
      const id = `d${this.next++}`;
      const commit = req.commit ?? `${(req.ref ?? 'head').replace(/\W/g, '')}0000000`.slice(0, 40);
      if (service === this.failService) {
        this.finals.set(id, { id, status: 'failed', diagnosis: 'health-check failed: GET /healthz answered 500' });
      } else {
        this.sandboxes.recordServing(req.sandbox, service, {
          deploymentId: id,
          branch: req.ref ?? null,
          commit,
          containerId: `c-${id}`,
          hostPort: 42000 + this.next,
        });
        this.finals.set(id, { id, status: 'running', commit });
      }
      return { id, service };
    });
    return { deployments };
  }
  async waitFinal(id: string): Promise<FinalDeployment> {
    return this.finals.get(id)!;
  }
  async stopSandbox(sandbox: string): Promise<void> {
    this.cancelled.push(sandbox);
  }
}

let dir: string;
let store: Store;
let sandboxes: SandboxStore;
let env: EnvironmentStore;
let templates: TemplateStore;
let snapshots: SnapshotStore;
let ports: PortAllocator;
let docker: FakeDocker;
let volumes: FakeVolumes;
let deploys: RecordingDeploys;
let service: SandboxService;
let events: SandboxEvent[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-sandbox-'));
  store = openStore(path.join(dir, 'state.db'));
  sandboxes = new SandboxStore(store);
  env = new EnvironmentStore(store, new SecretBox(dir), new Redactor());
  templates = new TemplateStore(store);
  snapshots = new SnapshotStore(store);
  ports = new PortAllocator(store, { hostCheck: { firstFree: (c) => c[0] }, onChange: (s) => sandboxes.changed(s) });
  docker = new FakeDocker();
  volumes = new FakeVolumes();
  deploys = new RecordingDeploys(sandboxes);
  service = new SandboxService({
    sandboxes,
    ports,
    environments: env,
    templates,
    snapshots,
    docker,
    volumes,
    snapshotFiles: new SnapshotFiles(dir),
    deploys,
    loadProject,
  });
  events = [];
  sandboxes.onChange((e) => events.push(e));
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const flush = () => new Promise<void>((r) => queueMicrotask(r));

describe('SandboxService', () => {
  it('creates an empty sandbox with its network, owned by the caller', async () => {
    const { sandbox, deployments } = await service.create({ name: 'qa1' }, me);
    expect(sandbox).toMatchObject({
      name: 'qa1',
      state: 'active',
      owner: 'alice',
      network: 'sandbox-qa1',
      services: [],
      ports: [],
    });
    expect(deployments).toEqual([]);
    expect(docker.networks.has('qa1')).toBe(true);
    await expect(service.create({ name: 'qa1' }, me)).rejects.toMatchObject({ errorName: 'NameTaken' });
    await expect(service.create({ name: 'QA' }, me)).rejects.toMatchObject({ errorName: 'InvalidName' });
  });

  it('does not keep the row when the network cannot be created', async () => {
    docker.ensureNetwork = async () => {
      throw new RpcError('DockerUnavailable', 'no engine');
    };
    await expect(service.create({ name: 'qa1' }, me)).rejects.toMatchObject({ errorName: 'DockerUnavailable' });
    expect(sandboxes.get('qa1')).toBeUndefined();
  });

  it('creates from a project template: routes, env, ttl, resources and one deploy per branch', async () => {
    const { sandbox, deployments } = await service.create({ name: 'full', repoPath: SHOP, fromTemplate: 'full' }, me);
    expect(sandbox).toMatchObject({
      project: 'shop',
      repoPath: SHOP,
      template: 'full',
      resources: { memoryBytes: 1024 ** 3 },
    });
    const routes = Object.fromEntries(
      sandbox.services.map((s) => [s.service, [s.route, s.routeUrl, s.branch, s.commit]]),
    );
    expect(routes).toEqual({
      account: ['sandbox', undefined, 'feature/x', 'featurex0000000'],
      catalog: ['url', 'http://127.0.0.1:9200', undefined, undefined],
      payment: ['baseline', 'http://127.0.0.1:9100', undefined, undefined],
      worker: ['sandbox', undefined, undefined, 'a1b2c3d'],
    });
    expect(deploys.requests).toEqual([
      { repoPath: SHOP, sandbox: 'full', services: ['account'], ref: 'feature/x', requestedBy: 'vitest' },
      { repoPath: SHOP, sandbox: 'full', services: ['worker'], commit: 'a1b2c3d', requestedBy: 'vitest' },
    ]);
    expect(deployments.map((d) => [d.service, d.status])).toEqual([
      ['account', 'running'],
      ['worker', 'running'],
    ]);
    expect(env.list('full').map((e) => [e.key, e.value])).toEqual([['FEATURE_FLAGS', 'all']]);
    const qa = await service.create({ name: 'qa', repoPath: SHOP, fromTemplate: 'qa-default' }, me);
    expect(qa.sandbox.ttl).toEqual({ idle: '3d' });
    expect(qa.sandbox.services.find((s) => s.service === 'payment')).toMatchObject({
      route: 'baseline',
      routeUrl: 'http://127.0.0.1:9100',
    });
  });

  it('reports failed and unstartable deployments in the result and keeps the sandbox', async () => {
    deploys.failService = 'account';
    const failed = await service.create({ name: 'f1', repoPath: SHOP, fromTemplate: 'qa-default' }, me);
    expect(failed.deployments).toEqual([
      {
        service: 'account',
        branch: 'develop',
        deploymentId: expect.any(String),
        status: 'failed',
        diagnosis: 'health-check failed: GET /healthz answered 500',
      },
    ]);
    deploys.refuse = 'unknown branch develop';
    const refused = await service.create({ name: 'f2', repoPath: SHOP, fromTemplate: 'qa-default' }, me);
    expect(refused.deployments).toEqual([
      { service: 'account', branch: 'develop', status: 'skipped', diagnosis: 'unknown branch develop' },
    ]);
    expect(sandboxes.get('f1')).toBeDefined();
    expect(sandboxes.get('f2')).toBeDefined();
  });

  it('answers at once without waiting when asked', async () => {
    deploys.waitFinal = () => new Promise(() => undefined);
    const { deployments } = await service.create(
      { name: 'nw', repoPath: SHOP, fromTemplate: 'qa-default', wait: false },
      me,
    );
    expect(deployments).toEqual([
      { service: 'account', branch: 'develop', deploymentId: expect.any(String), status: 'started' },
    ]);
  });

  it('uses saved templates, and the project template of the same name first', async () => {
    templates.save('qa-default', { services: {}, ttl: '1h' });
    templates.save('mine', { services: {}, env: { A: '1' }, ttl: '2h' });
    expect((await service.create({ name: 's1', fromTemplate: 'mine' }, me)).sandbox).toMatchObject({
      template: 'mine',
      ttl: { idle: '2h' },
    });
    expect((await service.create({ name: 's2', repoPath: SHOP, fromTemplate: 'qa-default' }, me)).sandbox.ttl).toEqual({
      idle: '3d',
    });
    templates.save('fixed', { services: {}, ttl: '4h', ttlFrom: 'created' });
    expect((await service.create({ name: 's4', fromTemplate: 'fixed' }, me)).sandbox.ttl).toEqual({ idle: '4h', from: 'created' });
    expect(service.update('s4', { ttl: { idle: '1h', retain: '1d', from: 'request' } }).ttl).toEqual({
      idle: '1h',
      retain: '1d',
      from: 'request',
    });
    expect(() => templates.save('no-ttl', { services: {}, ttlFrom: 'created' })).toThrow(
      expect.objectContaining({ errorName: 'InvalidParams' }),
    );
    await expect(service.create({ name: 's3', fromTemplate: 'nope' }, me)).rejects.toMatchObject({
      errorName: 'TemplateNotFound',
    });
    expect(sandboxes.get('s3')).toBeUndefined();
  });

  it('deletes: cancels deploys, removes Docker objects, releases ports, forgets rows; resumes after a failure', async () => {
    await service.create({ name: 'gone', repoPath: SHOP, fromTemplate: 'qa-default' }, me);
    env.set('gone', undefined, 'K', 'v', true);
    ports.allocate({ sandbox: 'gone', service: 'account', purpose: 'service' });
    ports.allocate({ sandbox: 'gone', purpose: 'gateway' });
    docker.containers.set('gone', 2);

    docker.failRemoval = true;
    await expect(service.delete('gone')).rejects.toMatchObject({ errorName: 'DockerUnavailable' });
    expect(sandboxes.get('gone')?.state).toBe('deleting');
    expect(() => service.update('gone', { owner: 'bob' })).toThrow(expect.objectContaining({ errorName: 'Conflict' }));

    docker.failRemoval = false;
    expect(await service.delete('gone')).toEqual({ containers: 2, networks: 1, ports: 2, volumes: [] });
    expect(deploys.cancelled).toEqual(['gone', 'gone']);
    expect(sandboxes.get('gone')).toBeUndefined();
    expect(ports.heldBy('gone')).toEqual([]);
    expect(store.db.prepare("SELECT count(*) AS n FROM env_vars WHERE sandbox = 'gone'").get()).toEqual({ n: 0 });
    expect(store.db.prepare("SELECT count(*) AS n FROM sandbox_services WHERE sandbox = 'gone'").get()).toEqual({
      n: 0,
    });
    await expect(service.delete('gone')).rejects.toMatchObject({ errorName: 'SandboxNotFound' });
  });

  it('cleans up Docker objects of a sandbox that has no row any more', async () => {
    docker.networks.add('orphan');
    docker.containers.set('orphan', 1);
    expect(await service.delete('orphan')).toEqual({ containers: 1, networks: 1, ports: 0, volumes: [] });
    expect(await docker.remaining('orphan')).toEqual({ containers: 0, networks: 0 });
  });

  it('clones branches, commits, env (secrets still encrypted) and routes onto new ports', async () => {
    await service.create({ name: 'src', repoPath: SHOP, fromTemplate: 'full' }, me);
    env.set('src', 'account', 'API_TOKEN', 's3cr3t-value', true);
    deploys.requests.length = 0;
    const { sandbox, deployments } = await service.clone('src', 'copy', true, { osUser: 'bob' });
    expect(sandbox).toMatchObject({ name: 'copy', owner: 'bob', project: 'shop', repoPath: SHOP, template: 'full' });
    // The TTL policy, with its basis from the template's ttlFrom, comes along.
    expect(sandbox.ttl).toEqual({ idle: '12h', from: 'deploy' });
    expect(deploys.requests).toEqual([
      { repoPath: SHOP, sandbox: 'copy', services: ['account'], ref: 'feature/x', commit: 'featurex0000000' },
      { repoPath: SHOP, sandbox: 'copy', services: ['worker'], commit: 'a1b2c3d' },
    ]);
    expect(deployments.every((d) => d.status === 'running')).toBe(true);
    const src = sandboxes.require('src');
    expect(sandbox.services.map((s) => [s.service, s.route, s.routeUrl, s.commit])).toEqual(
      src.services.map((s) => [s.service, s.route, s.routeUrl, s.commit]),
    );
    expect(sandbox.services.find((s) => s.service === 'account')!.hostPort).not.toBe(
      src.services.find((s) => s.service === 'account')!.hostPort,
    );
    expect(env.resolve('copy', 'account')).toEqual(env.resolve('src', 'account'));
    await expect(service.clone('src', 'copy', true, me)).rejects.toMatchObject({ errorName: 'NameTaken' });
    await expect(service.clone('nope', 'x', true, me)).rejects.toMatchObject({ errorName: 'SandboxNotFound' });
  });

  it('snapshots exact commits, env and routes, and restores them into the same or a new sandbox', async () => {
    await service.create({ name: 'live', repoPath: SHOP, fromTemplate: 'full' }, me);
    env.set('live', undefined, 'MODE', 'a', false);
    env.set('live', undefined, 'TOKEN', 'tok-123456', true);
    const summary = await service.snapshot('live', 'before');
    expect(summary).toMatchObject({ name: 'before', sandbox: 'live', project: 'shop', envKeys: 3 });
    expect(JSON.stringify(store.db.prepare('SELECT spec FROM snapshots').all())).not.toContain('tok-123456');
    await expect(service.snapshot('live', 'before')).rejects.toMatchObject({ errorName: 'NameTaken' });

    // Things change after the snapshot...
    env.set('live', undefined, 'MODE', 'b', false);
    env.set('live', undefined, 'EXTRA', 'x', false);
    deploys.requests.length = 0;

    // ...restore into the same sandbox: env replaced, the exact commits redeployed.
    const same = await service.restore('before', undefined, true, me);
    expect(same.sandbox.name).toBe('live');
    expect(deploys.requests).toEqual([
      {
        repoPath: SHOP,
        sandbox: 'live',
        services: ['account'],
        ref: 'feature/x',
        commit: 'featurex0000000',
        requestedBy: 'vitest',
      },
      { repoPath: SHOP, sandbox: 'live', services: ['worker'], commit: 'a1b2c3d', requestedBy: 'vitest' },
    ]);
    expect(env.resolve('live', 'account')).toEqual({ FEATURE_FLAGS: 'all', MODE: 'a', TOKEN: 'tok-123456' });

    // ...and into a new one, after the original is gone.
    await service.delete('live');
    const fresh = await service.restore('before', 'reborn', true, me);
    expect(fresh.sandbox).toMatchObject({ name: 'reborn', project: 'shop', template: 'full', ttl: { idle: '12h', from: 'deploy' } });
    expect(fresh.sandbox.services.map((s) => [s.service, s.route, s.commit])).toEqual([
      ['account', 'sandbox', 'featurex0000000'],
      ['catalog', 'url', undefined],
      ['payment', 'baseline', undefined],
      ['worker', 'sandbox', 'a1b2c3d'],
    ]);
    expect(snapshots.list().map((s) => s.name)).toEqual(['before']);
    await expect(service.restore('nope', undefined, true, me)).rejects.toMatchObject({ errorName: 'SnapshotNotFound' });
  });

  it('carries named volumes: deleted with the sandbox, copied by clone, captured by snapshot, put back by restore and seed', async () => {
    await service.create({ name: 'db', repoPath: SHOP }, me);
    volumes.data.set('db', new Map([['pgdata', 'rows v1'], ['cache', 'warm']]));

    const { sandbox: copy } = await service.clone('db', 'db2', true, me);
    expect(copy.name).toBe('db2');
    expect(Object.fromEntries(volumes.data.get('db2')!)).toEqual({ pgdata: 'rows v1', cache: 'warm' });
    expect(await service.volumes('db2')).toEqual({
      volumes: [
        { name: 'cache', dockerName: 'sandbox-db2_cache' },
        { name: 'pgdata', dockerName: 'sandbox-db2_pgdata' },
      ],
    });

    const summary = await service.snapshot('db', 'seeded');
    expect(summary.volumes).toEqual([
      { name: 'cache', bytes: 4 },
      { name: 'pgdata', bytes: 7 },
    ]);
    const tar = path.join(dir, 'snapshots', 'seeded', 'pgdata.tar');
    expect(fs.readFileSync(tar, 'utf8')).toBe('rows v1');
    expect(fs.statSync(tar).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.join(dir, 'snapshots'))).toEqual(['seeded']);

    // Seeding: only the data comes from the snapshot.
    const seeded = await service.create({ name: 'fresh', fromSnapshot: 'seeded' }, me);
    expect(seeded.sandbox.services).toEqual([]);
    expect(Object.fromEntries(volumes.data.get('fresh')!)).toEqual({ pgdata: 'rows v1', cache: 'warm' });
    await expect(service.create({ name: 'nope', fromSnapshot: 'missing' }, me)).rejects.toMatchObject({ errorName: 'SnapshotNotFound' });
    expect(sandboxes.get('nope')).toBeUndefined();

    // Restore into the running sandbox is refused while its containers mount the volumes...
    volumes.data.get('db')!.set('pgdata', 'rows v2');
    volumes.data.get('db')!.set('extra', 'later');
    volumes.mountedBy.set('db/pgdata', ['sandbox-db_postgres']);
    await expect(service.restore('seeded', undefined, true, me)).rejects.toMatchObject({
      errorName: 'Conflict',
      message: expect.stringContaining('pgdata (sandbox-db_postgres)'),
    });
    expect(volumes.data.get('db')!.get('pgdata')).toBe('rows v2');
    // ...and once nothing mounts them, each is made afresh: the snapshot's data, empty for one it has none of.
    volumes.mountedBy.clear();
    await service.restore('seeded', undefined, true, me);
    expect(Object.fromEntries(volumes.data.get('db')!)).toEqual({ pgdata: 'rows v1', cache: 'warm', extra: '' });

    expect(await service.delete('db2')).toMatchObject({ volumes: ['cache', 'pgdata'] });
    expect(volumes.data.get('db2')).toBeUndefined();

    await service.deleteSnapshot('seeded');
    expect(fs.existsSync(path.join(dir, 'snapshots', 'seeded'))).toBe(false);
  });

  it('undoes a clone, seed or restore-into-new whose volume data cannot be put in place; a failed capture saves no snapshot', async () => {
    await service.create({ name: 'db', repoPath: SHOP }, me);
    volumes.data.set('db', new Map([['pgdata', 'rows']]));
    await service.snapshot('db', 'snap');

    volumes.failFill = 'pgdata';
    await expect(service.clone('db', 'db2', true, me)).rejects.toMatchObject({ message: 'cannot fill pgdata' });
    expect(sandboxes.get('db2')).toBeUndefined();
    expect(docker.networks.has('db2')).toBe(false);
    await expect(service.create({ name: 'db3', fromSnapshot: 'snap' }, me)).rejects.toMatchObject({ errorName: 'DockerError' });
    expect(sandboxes.get('db3')).toBeUndefined();
    await expect(service.restore('snap', 'db4', true, me)).rejects.toMatchObject({ errorName: 'DockerError' });
    expect(sandboxes.get('db4')).toBeUndefined();
    volumes.failFill = undefined;

    volumes.capture = async () => {
      throw new RpcError('DockerError', 'engine refused');
    };
    await expect(service.snapshot('db', 'broken')).rejects.toMatchObject({ errorName: 'DockerError' });
    expect(snapshots.get('broken')).toBeUndefined();
    expect(fs.readdirSync(path.join(dir, 'snapshots'))).toEqual(['snap']);
  });

  it('reports deploys as skipped without a pipeline', async () => {
    const bare = new SandboxService({
      sandboxes,
      ports,
      environments: env,
      templates,
      snapshots,
      docker,
      volumes,
      snapshotFiles: new SnapshotFiles(dir),
      loadProject: (p: string): Project => loadProject(p),
    });
    const { deployments } = await bare.create({ name: 'np', repoPath: SHOP, fromTemplate: 'qa-default' }, me);
    expect(deployments).toEqual([
      {
        service: 'account',
        branch: 'develop',
        status: 'skipped',
        diagnosis: 'The deploy pipeline is not available in this daemon.',
      },
    ]);
  });
});

describe('SandboxStore events', () => {
  it("announces created, updated (also for the pipeline's recordServing and port changes) and deleted, after the transaction", async () => {
    await service.create({ name: 'ev', owner: 'carol' }, me);
    await flush();
    expect(events.map((e) => [e.kind, e.name])).toEqual([['created', 'ev']]);
    expect(events[0]!.sandbox).toMatchObject({ name: 'ev', owner: 'carol' });

    events.length = 0;
    store.transaction(() => {
      sandboxes.recordServing('ev', 'web', {
        deploymentId: 'd9',
        branch: 'main',
        commit: 'abc1234',
        containerId: 'c9',
        hostPort: 42555,
      });
      expect(events).toEqual([]); // not inside the transaction
    });
    await flush();
    expect(events).toHaveLength(1);
    expect(events[0]!.sandbox!.services).toEqual([
      {
        service: 'web',
        route: 'sandbox',
        branch: 'main',
        commit: 'abc1234',
        containerId: 'c9',
        hostPort: 42555,
        url: 'http://127.0.0.1:42555',
        deploymentId: 'd9',
      },
    ]);

    events.length = 0;
    ports.allocate({ sandbox: 'ev', purpose: 'gateway' });
    await flush();
    expect(events.map((e) => [e.kind, e.sandbox?.ports.length])).toEqual([['updated', 1]]);

    events.length = 0;
    sandboxes.clearServing('ev', 'web');
    service.update('ev', { ttl: { idle: '1h', retain: '1d' } });
    await flush();
    expect(events).toHaveLength(1); // coalesced
    expect(events[0]!.sandbox).toMatchObject({ ttl: { idle: '1h', retain: '1d' } });
    expect(events[0]!.sandbox!.services[0]).toEqual({ service: 'web', route: 'sandbox' });

    events.length = 0;
    await service.delete('ev');
    await flush();
    expect(events.map((e) => e.kind)).toEqual(['updated', 'deleted']);
    expect(events[1]).toEqual({ kind: 'deleted', name: 'ev' });
  });

  it('refuses to record serving for a sandbox that is gone', () => {
    expect(() =>
      sandboxes.recordServing('ghost', 'web', {
        deploymentId: 'd',
        branch: null,
        commit: 'a',
        containerId: 'c',
        hostPort: 1,
      }),
    ).toThrow(expect.objectContaining({ errorName: 'SandboxNotFound' }));
  });
});
