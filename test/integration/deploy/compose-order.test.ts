/**
 * Dependency order in the deploy pipeline, in process against the real engine: a
 * DeployPipeline with an injected ProjectLoader returning services with `dependsOn` (as the
 * compose loader normalizes them), a real git repository, real SQLite, real containers
 * (branchbox/busybox:1 images whose CMD sleeps, serves or exits). Shown from the deployments'
 * own stage timestamps: a dependant builds at once but starts only once its dependency is
 * healthy (or its job completed); a failing dependency fails it with a diagnosis naming it and
 * nothing of it starts; a deployment waiting for its dependencies is cancelled or superseded.
 * Everything created carries this run's `branchbox.test` label.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DependencyCondition, ServiceConfig } from '../../../schemas/src/project';
import { DeployPipeline, deployDockerOf } from '../../../daemon/src/deploy/pipeline';
import type { DeploymentRecord, DeployProgress } from '../../../daemon/src/deploy/types';
import { DockerEngine } from '../../../daemon/src/docker/engine';
import { Ownership } from '../../../daemon/src/docker/ownership';
import { ScopedDocker } from '../../../daemon/src/docker/scoped-docker';
import { Redactor } from '../../../daemon/src/runtime/log';
import { EnvironmentStore } from '../../../daemon/src/sandbox/environment';
import { validateSandboxName } from '../../../daemon/src/sandbox/names';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import { SandboxDocker } from '../../../daemon/src/sandbox/sandbox-docker';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { SecretBox } from '../../../daemon/src/sandbox/secrets';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { TrustStore } from '../../../daemon/src/trust/trust-store';
import { BUSYBOX, docker as fixtureDocker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';

const run = testRun('bbord');
const suffix = run.runId.slice(-8);
const engine = new DockerEngine();

/** Images of the fixture repository, one folder each: what the container does once started. */
const IMAGES: Record<string, string> = {
  // Serves after 2 s: healthy late.
  'db-late': 'sleep 2; exec httpd -f -p 8080 -h /www',
  serve: 'exec httpd -f -p 8080 -h /www',
  broken: 'echo db broken; exit 3',
  // Never healthy within a test.
  'db-stuck': 'sleep 600',
};

let repoRoot: string;
let stateDir: string;
let store: Store;
let sandboxes: SandboxStore;
let pipeline: DeployPipeline;
let services: Record<string, ServiceConfig>;
let progress: DeployProgress[];
let sandbox: string;
let counter = 0;

function service(name: string, image: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name,
    context: image,
    build: { kind: 'dockerfile', dockerfile: 'Dockerfile', args: {} },
    port: 8080,
    http: false,
    health: { path: '/', intervalMs: 200, timeoutMs: 1_000, retries: 100, startPeriodMs: 0 },
    env: {},
    resources: {},
    ...extra,
  };
}

const dependsOn = (deps: Record<string, DependencyCondition>) =>
  Object.fromEntries(Object.entries(deps).map(([k, condition]) => [k, { condition, required: true, restart: false }]));

function createRepo(): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-order-')));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: root, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  git('init', '--quiet', '--initial-branch=main');
  for (const [k, v] of [['user.name', 'Order Fixture'], ['user.email', 'order@branchbox.invalid'], ['commit.gpgsign', 'false'], ['core.hooksPath', '/dev/null']] as const) git('config', '--local', k, v);
  const nonce = randomBytes(6).toString('hex');
  for (const [dir, cmd] of Object.entries(IMAGES)) {
    write(
      `${dir}/Dockerfile`,
      `FROM ${BUSYBOX}\nRUN mkdir -p /www && echo ${nonce} > /www/index.html\nCMD ["sh", "-c", ${JSON.stringify(cmd)}]\n`,
    );
  }
  write('job/Dockerfile', `FROM ${BUSYBOX}\nCMD ["sh", "-c", "sleep 1; echo migrated ${nonce}"]\n`);
  git('add', '--all');
  git('commit', '--quiet', '--no-verify', '-m', 'order fixture');
  return root;
}

beforeAll(async () => {
  expect(await engine.start()).toMatchObject({ available: true });
  repoRoot = createRepo();
});

afterAll(async () => {
  engine.stop();
  await run.cleanup();
  rmSync(repoRoot, { recursive: true, force: true });
});

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'bb-order-state-'));
  store = openStore(join(stateDir, 'state.db'));
  const redactor = new Redactor();
  sandboxes = new SandboxStore(store);
  const ownership = new Ownership(randomBytes(6).toString('hex'), { [TEST_LABEL]: run.runId });
  const scoped = new ScopedDocker(() => engine.client(), ownership);
  const sandboxDocker = new SandboxDocker(scoped);
  sandbox = `o${suffix}-${++counter}`;
  sandboxes.insert({ name: sandbox, owner: 'tester' });
  progress = [];
  pipeline = new DeployPipeline({
    store,
    docker: deployDockerOf(() => engine.dockerode(), scoped),
    loadProject: (root) => ({ name: 'order', root, services }),
    sandboxes,
    ports: new PortAllocator(store, { ranges: { service: { from: 47000, to: 47999 } } }),
    environments: new EnvironmentStore(store, new SecretBox(stateDir), redactor),
    validateSandboxName,
    stateDir,
    redactor,
    extraLabels: ownership.labels(),
    ensureNetwork: (name) => sandboxDocker.ensureNetwork(name),
    trust: new TrustStore(store),
  });
  pipeline.on('progress', (item) => progress.push(item));
});

afterEach(async () => {
  await pipeline.stopSandbox(sandbox);
  await pipeline.shutdown();
  store.close();
  rmSync(stateDir, { recursive: true, force: true });
  await run.cleanup();
});

const start = (req: { services?: string[]; profiles?: string[] } = {}) => pipeline.start({ repoPath: repoRoot, sandbox, ...req });
const final = (id: string) => pipeline.waitFinal(id);
const stageOf = (d: DeploymentRecord, name: string) => d.stages.find((s) => s.stage === name);
const logOf = (id: string) => pipeline.logs(id, 0, 1000).lines.map((l) => l.line);
const containersOf = async (deployment: string) =>
  fixtureDocker.listContainers({ all: true, filters: JSON.stringify({ label: [`branchbox.deployment=${deployment}`] }) });

/** Resolves once the deployment logged a line starting with `prefix`. */
function logged(id: string, prefix: string): Promise<void> {
  if (logOf(id).some((l) => l.startsWith(prefix))) return Promise.resolve();
  return new Promise((resolve) => {
    const off = pipeline.on('progress', (item) => {
      if (item.deployment === id && item.kind === 'log' && item.line?.startsWith(prefix)) {
        off();
        resolve();
      }
    });
  });
}

describe('dependency order', () => {
  it('adds the missing dependency, builds both at once and starts api only once db is healthy', async () => {
    services = { db: service('db', 'db-late'), api: service('api', 'serve', { dependsOn: dependsOn({ db: 'service_healthy' }) }) };
    const answer = start({ services: ['api'] });
    expect(answer.addedDependencies).toEqual(['db']);
    expect(answer.deployments.map((d) => d.service)).toEqual(['db', 'api']);
    const [db, api] = await Promise.all(answer.deployments.map((d) => final(d.id)));
    expect(db!.status).toBe('running');
    expect(api!.status).toBe('running');

    const dbHealthy = stageOf(db!, 'health-check')!.finishedAt!;
    // The build of api did not wait; its start did.
    expect(stageOf(api!, 'build')!.startedAt < dbHealthy).toBe(true);
    expect(stageOf(api!, 'start')!.startedAt >= dbHealthy).toBe(true);
    expect(logOf(api!.id)).toEqual(expect.arrayContaining(['Waiting for db (healthy) before starting', 'db is healthy']));
    expect(logOf(db!.id)).toContain('Added to the request: a dependency the sandbox does not have yet');

    // db serves now: deploying api again adds nothing and reads db's container.
    const again = start({ services: ['api'] });
    expect(again.addedDependencies).toEqual([]);
    expect((await final(again.deployments[0]!.id)).status).toBe('running');
    expect(logOf(again.deployments[0]!.id)).toContain('db is healthy');
  });

  it('fails api, naming db and its diagnosis, when db fails; nothing of api is started', async () => {
    services = { db: service('db', 'broken'), api: service('api', 'serve', { dependsOn: dependsOn({ db: 'service_healthy' }) }) };
    const answer = start();
    expect(answer.deployments.map((d) => d.service)).toEqual(['db', 'api']);
    const [db, api] = await Promise.all(answer.deployments.map((d) => final(d.id)));
    expect(db!.status).toBe('failed');
    expect(api!.status).toBe('failed');
    expect(api!.diagnosis).toBe(`api waits for db: db unhealthy: ${db!.diagnosis}`);
    expect(api!.diagnosis).toMatch(/^api waits for db: db unhealthy: health-check failed: .*exited with code 3/);
    expect(stageOf(api!, 'start')!.outcome).toBe('failed');
    expect(api!.containerId).toBeUndefined();
    expect(await containersOf(api!.id)).toEqual([]);
  });

  it('cancels a deployment waiting for its dependency, and supersedes one by a newer deployment', async () => {
    services = { db: service('db', 'db-stuck'), api: service('api', 'serve', { dependsOn: dependsOn({ db: 'service_healthy' }) }) };
    const first = start({ services: ['api'] });
    const [db, api] = first.deployments;
    await logged(api!.id, 'Waiting for db');

    // A newer deployment of api replaces the waiting one (db is in flight: not added again).
    const second = start({ services: ['api'] });
    expect(second.addedDependencies).toEqual([]);
    const superseded = await final(api!.id);
    expect(superseded.status).toBe('superseded');
    expect(superseded.supersededBy).toBe(second.deployments[0]!.id);

    await logged(second.deployments[0]!.id, 'Waiting for db');
    expect(await pipeline.cancel(second.deployments[0]!.id)).toBe('cancelled');
    const cancelled = await final(second.deployments[0]!.id);
    expect(cancelled.diagnosis).toBe('start cancelled: by request');
    expect(stageOf(cancelled, 'start')!.outcome).toBe('cancelled');
    expect(await containersOf(cancelled.id)).toEqual([]);
    expect(pipeline.isActive(db!.id)).toBe(true); // the dependency goes on
    expect(await pipeline.cancel(db!.id)).toBe('cancelled');
  });

  it('runs the migration job to completion before api starts', async () => {
    const { port: _port, health: _health, ...job } = service('migrate', 'job', { job: true, dependsOn: dependsOn({ db: 'service_healthy' }) });
    services = {
      db: service('db', 'serve'),
      migrate: job,
      api: service('api', 'serve', { dependsOn: dependsOn({ db: 'service_healthy', migrate: 'service_completed_successfully' }) }),
    };
    const answer = start({ services: ['api'] });
    expect(answer.deployments.map((d) => d.service)).toEqual(['db', 'migrate', 'api']);
    const [db, migrate, api] = await Promise.all(answer.deployments.map((d) => final(d.id)));
    expect([db!.status, migrate!.status, api!.status]).toEqual(['running', 'completed', 'running']);
    expect(stageOf(migrate!, 'start')!.startedAt >= stageOf(db!, 'health-check')!.finishedAt!).toBe(true);
    expect(stageOf(api!, 'start')!.startedAt >= migrate!.finishedAt!).toBe(true);
    expect(logOf(api!.id)).toContain('migrate is completed successfully');
  });
});
