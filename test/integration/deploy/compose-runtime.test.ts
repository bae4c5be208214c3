/**
 * The container runtime of compose services, in-process against the real engine: the
 * DeployPipeline with a project loader answering `ServiceConfig` values directly (the compose
 * loader is not involved), a real DeploymentStore, sandbox store and port allocator on a temp
 * SQLite file, a real git repository, and the real DeployDocker over the label-scoped client
 * (everything labelled `branchbox.test=<run>` and removed at the end, also on failure).
 *
 * Covered: every published port remapped to its own loopback port and reachable there, the
 * mapping in the sandbox view; entrypoint/command/workingDir/user/labels as `docker inspect`
 * shows them; a named volume (the sandbox's, owner-labelled) surviving a redeploy, a bind mount
 * from the deployed commit's export, tmpfs; a Docker healthcheck going healthy and one going
 * unhealthy with the probe's output as the cause; a job completing (its output in the
 * deployment log, its exited container kept serving) and one failing with its exit code.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { volumeName } from '../../../schemas/src/docker-names';
import { DockerodeDeployDocker } from '../../../daemon/src/deploy/deploy-docker';
import { DeploymentStore } from '../../../daemon/src/deploy/deployment-store';
import { DeployPipeline } from '../../../daemon/src/deploy/pipeline';
import type { DeployProgress, DeployServiceConfig } from '../../../daemon/src/deploy/types';
import { DockerEngine } from '../../../daemon/src/docker/engine';
import { Ownership } from '../../../daemon/src/docker/ownership';
import { ScopedDocker } from '../../../daemon/src/docker/scoped-docker';
import { EnvironmentStore } from '../../../daemon/src/sandbox/environment';
import { networkName, validateSandboxName } from '../../../daemon/src/sandbox/names';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { SecretBox } from '../../../daemon/src/sandbox/secrets';
import { Redactor } from '../../../daemon/src/runtime/log';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { TrustStore } from '../../../daemon/src/trust/trust-store';
import { BUSYBOX, docker as fixtureDocker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';

const run = testRun('bbcompose');
const engine = new DockerEngine();
const INSTANCE = run.runId.replace(/[^a-z0-9]/g, '').slice(-12);
const SANDBOX = `c15b-${INSTANCE.slice(-6)}`;
let stateDir: string;
let repoRoot: string;
let store: Store;
let sandboxes: SandboxStore;
let deployments: DeploymentStore;
let pipeline: DeployPipeline;
const progress: DeployProgress[] = [];
/** The services the project loader answers (tests set them before deploying). */
const services: Record<string, DeployServiceConfig> = {};

const base = (name: string, extra: Partial<DeployServiceConfig>): DeployServiceConfig => ({
  name,
  context: '.',
  build: { kind: 'image', image: BUSYBOX },
  http: false,
  env: {},
  resources: {},
  ...extra,
});

async function deploy(service: string, config: DeployServiceConfig) {
  services[service] = config;
  const [d] = pipeline.start({ repoPath: repoRoot, sandbox: SANDBOX, services: [service] }).deployments;
  const record = await pipeline.waitFinal(d!.id);
  const log = deployments.logs(d!.id, 0, 5000).lines.map((l) => l.line);
  return { record, log };
}

const servingOf = (service: string) => sandboxes.get(SANDBOX)!.services.find((s) => s.service === service)!;
const inspect = (id: string) => fixtureDocker.getContainer(id).inspect();

beforeAll(async () => {
  expect(await engine.start()).toMatchObject({ available: true });
  stateDir = mkdtempSync(join(tmpdir(), 'bb-compose-runtime-'));
  repoRoot = realpathSync(mkdtempSync(join(tmpdir(), 'bb-compose-repo-')));
  mkdirSync(join(repoRoot, 'conf'));
  writeFileSync(join(repoRoot, 'conf', 'hello.txt'), 'hello from the repository\n');
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repoRoot });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'init');

  store = openStore(join(stateDir, 'state.db'));
  sandboxes = new SandboxStore(store);
  sandboxes.insert({ name: SANDBOX, owner: 'tester' });
  deployments = new DeploymentStore(store);
  const redactor = new Redactor();
  const scoped = new ScopedDocker(() => engine.client(), new Ownership(INSTANCE, { [TEST_LABEL]: run.runId }));
  const deployDocker = new DockerodeDeployDocker(engine.dockerode(), scoped);
  pipeline = new DeployPipeline({
    store,
    docker: () => deployDocker,
    loadProject: (root) => ({ name: 'compose-runtime', root, services }),
    sandboxes,
    ports: new PortAllocator(store, { ranges: { service: { from: 47000, to: 47999 } } }),
    environments: new EnvironmentStore(store, new SecretBox(stateDir), redactor),
    validateSandboxName,
    stateDir,
    redactor,
    extraLabels: { [TEST_LABEL]: run.runId },
    ensureNetwork: async (sandbox) => {
      if (!(await scoped.inspectNetwork(networkName(sandbox)))) await scoped.createNetwork(networkName(sandbox), { sandbox });
    },
    trust: new TrustStore(store),
  });
  pipeline.on('progress', (p) => progress.push(p));
}, 60_000);

afterAll(async () => {
  await pipeline?.shutdown();
  await run.cleanup();
  engine.stop();
  store?.close();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(repoRoot, { recursive: true, force: true });
}, 60_000);

describe('compose services in the deploy pipeline (real engine)', () => {
  it('publishes every port on its own loopback port, and creates the container as configured', async () => {
    const script = 'mkdir -p /tmp/www && echo web > /tmp/www/index.html && (httpd -f -p 8080 -h /tmp/www &) && httpd -f -p 9090 -h /tmp/www';
    const { record, log } = await deploy(
      'web',
      base('web', {
        port: 8080,
        ports: [
          { container: 8080, protocol: 'tcp', published: 80 },
          { container: 9090, protocol: 'tcp', published: 19090 },
        ],
        expose: [7000],
        entrypoint: ['sh', '-c'],
        command: [script],
        workingDir: '/tmp',
        labels: { 'com.example.team': 'web', 'branchbox.sandbox': 'forged' },
        security: { user: '1000:1000' },
      }),
    );
    expect(record.status, log.join('\n')).toBe('running');
    const serving = servingOf('web');
    expect(serving.ports).toHaveLength(2);
    const [p8080, p9090] = serving.ports!;
    expect(p8080).toMatchObject({ container: 8080, protocol: 'tcp', hostPort: serving.hostPort, published: 80 });
    expect(p9090).toMatchObject({ container: 9090, protocol: 'tcp', published: 19090 });
    expect(p9090!.hostPort).not.toBe(p8080!.hostPort);
    for (const p of serving.ports!) expect(await (await fetch(`http://127.0.0.1:${p.hostPort}/`)).text()).toBe('web\n');

    const c = await inspect(serving.containerId!);
    expect(c.Config.Entrypoint).toEqual(['sh', '-c']);
    expect(c.Config.Cmd).toEqual([script]);
    expect(c.Config.WorkingDir).toBe('/tmp');
    expect(c.Config.User).toBe('1000:1000');
    expect(c.Config.Labels).toMatchObject({ 'com.example.team': 'web', 'branchbox.sandbox': SANDBOX });
    expect(Object.keys(c.Config.ExposedPorts ?? {}).sort()).toEqual(['7000/tcp', '8080/tcp', '9090/tcp']);
    expect(c.HostConfig.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(p8080!.hostPort) }],
      '9090/tcp': [{ HostIp: '127.0.0.1', HostPort: String(p9090!.hostPort) }],
    });
  }, 60_000);

  it('runs a job to completion: a named volume survives the redeploy, a bind mount reads the export, tmpfs is tmpfs', async () => {
    const job = base('migrate', {
      job: true,
      command: [
        'sh',
        '-c',
        'n=$(( $(cat /data/count 2>/dev/null || echo 0) + 1 )); echo $n > /data/count; echo "count=$n"; cat /conf/hello.txt; ' +
          'grep -q " /scratch tmpfs " /proc/mounts && echo "scratch is tmpfs"; grep -q " /run2 tmpfs " /proc/mounts && echo "run2 is tmpfs"',
      ],
      volumes: [
        { type: 'volume', source: 'data', target: '/data', readOnly: false },
        { type: 'bind', source: 'conf', target: '/conf', readOnly: true },
        { type: 'tmpfs', target: '/scratch', readOnly: false },
      ],
      tmpfs: ['/run2:size=1m'],
    });
    const first = await deploy('migrate', job);
    expect(first.record.status, first.log.join('\n')).toBe('completed');
    expect(first.log).toEqual(expect.arrayContaining(['count=1', 'hello from the repository', 'scratch is tmpfs', 'run2 is tmpfs']));
    const statuses = progress.filter((p) => p.deployment === first.record.id && p.kind === 'status').map((p) => (p as { status: string }).status);
    expect(statuses.slice(-3)).toEqual(['starting', 'health-checking', 'completed']);

    const volume = await fixtureDocker.getVolume(volumeName(SANDBOX, 'data')).inspect();
    expect(volume.Labels).toMatchObject({ 'branchbox.sandbox': SANDBOX, 'branchbox.instance': INSTANCE, 'branchbox.managed': 'true' });

    const second = await deploy('migrate', job);
    expect(second.record.status, second.log.join('\n')).toBe('completed');
    expect(second.log).toContain('count=2');
    // The completed job's exited container serves its service, logs readable; the first one is superseded.
    const serving = servingOf('migrate');
    expect(serving).toMatchObject({ job: true, deploymentId: second.record.id });
    expect((await inspect(serving.containerId!)).State.Status).toBe('exited');
    expect(deployments.get(first.record.id)?.status).toBe('superseded');
  }, 90_000);

  it('never runs two containers of a service on one named volume: the serving one stops before its replacement starts', async () => {
    // Each container marks the volume while it runs and says whether it found it marked (another writer running).
    const writer = base('store', {
      command: [
        'sh',
        '-c',
        'if [ -e /data/running ]; then echo "writer: overlap"; else echo "writer: alone"; fi; touch /data/running; ' +
          "trap 'rm -f /data/running; exit 0' TERM; sleep 600 & wait",
      ],
      volumes: [{ type: 'volume', source: 'store', target: '/data', readOnly: false }],
    });
    const first = await deploy('store', writer);
    expect(first.record.status, first.log.join('\n')).toBe('running');
    const second = await deploy('store', writer);
    expect(second.record.status, second.log.join('\n')).toBe('running');
    expect(second.log).toContain('writer: alone');
    expect(second.log.some((l) => l.startsWith(`Stopped the serving container ${first.record.containerId!.slice(0, 12)} first`))).toBe(true);
  }, 90_000);

  it('fails a job that exits non-zero with its exit code and last lines', async () => {
    const { record } = await deploy('seed', base('seed', { job: true, command: ['sh', '-c', 'echo seeding; echo "table missing" >&2; exit 3'] }));
    expect(record.status).toBe('failed');
    expect(record.diagnosis).toMatch(/^health-check failed: the job exited with code 3; last lines: .*table missing/);
  }, 60_000);

  it('runs the command health check in the container until it exits 0, and fails with its last output', async () => {
    const timing = { intervalMs: 200, timeoutMs: 2000, retries: 3, startPeriodMs: 1000 };
    const ok = await deploy(
      'worker',
      base('worker', { command: ['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 600'], health: { command: ['test', '-f', '/tmp/ready'], ...timing } }),
    );
    expect(ok.record.status, ok.log.join('\n')).toBe('running');
    expect(ok.log.some((l) => /^Probe \d+: test -f \/tmp\/ready exited 0$/.test(l))).toBe(true);
    const bad = await deploy('broken', base('broken', { command: ['sleep', '600'], health: { command: ['sh', '-c', 'echo not ready; exit 4'], ...timing } }));
    expect(bad.record.status).toBe('failed');
    expect(bad.record.diagnosis).toMatch(/^health-check failed: sh -c echo not ready; exit 4 exited 4: not ready — still failing after \d+ probes/);
  }, 90_000);

  it("waits for Docker's healthcheck: healthy deploys, unhealthy fails quoting the probe's output", async () => {
    const healthy = await deploy(
      'cache',
      base('cache', {
        command: ['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 600'],
        healthcheck: { test: ['CMD-SHELL', 'test -f /tmp/ready'], intervalMs: 200, timeoutMs: 1000, retries: 20 },
      }),
    );
    expect(healthy.record.status, healthy.log.join('\n')).toBe('running');
    expect(healthy.log).toContain('Docker says healthy');
    expect((await inspect(servingOf('cache').containerId!)).State.Health?.Status).toBe('healthy');

    const sick = await deploy(
      'db',
      base('db', {
        command: ['sleep', '600'],
        healthcheck: { test: ['CMD-SHELL', 'echo /var/run/postgresql:5432 - no response; exit 2'], intervalMs: 200, timeoutMs: 1000, retries: 2 },
      }),
    );
    expect(sick.record.status).toBe('failed');
    expect(sick.record.diagnosis).toBe(
      'health-check failed: unhealthy: echo /var/run/postgresql:5432 - no response; exit 2 exited 2: /var/run/postgresql:5432 - no response',
    );
  }, 90_000);
});
