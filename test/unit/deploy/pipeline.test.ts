/**
 * The deploy pipeline's logic against a fake engine (./fake-docker.ts) and everything else
 * real: git on the fixture repository, SQLite, the sandbox store, port allocator and
 * environment store. Stages and their records, reuse, rollback, diagnoses, lanes (queue,
 * supersede, parallel), cancellation, secret masking, recovery and shutdown.
 */
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeployPipeline } from '../../../daemon/src/deploy/pipeline';
import type { DeployProgress, DeployServiceConfig } from '../../../daemon/src/deploy/types';
import { loadProject } from '../../../daemon/src/project/load';
import { EnvironmentStore } from '../../../daemon/src/sandbox/environment';
import { networkName, validateSandboxName } from '../../../daemon/src/sandbox/names';
import { hostPortCheck } from '../../../daemon/src/sandbox/port-probe';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { SecretBox } from '../../../daemon/src/sandbox/secrets';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { Redactor } from '../../../daemon/src/runtime/log';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { TrustStore } from '../../../daemon/src/trust/trust-store';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { FakeDocker } from './fake-docker';

let stateDir: string;
let store: Store;
let repo: FixtureRepo;
let docker: FakeDocker;
let sandboxes: SandboxStore;
let ports: PortAllocator;
let env: EnvironmentStore;
let redactor: Redactor;
let pipeline: DeployPipeline;
let trust: TrustStore;
let progress: DeployProgress[];

function makePipeline(): DeployPipeline {
  const p = new DeployPipeline({
    store,
    docker: () => docker,
    loadProject,
    sandboxes,
    ports,
    environments: env,
    validateSandboxName,
    stateDir,
    redactor,
    ensureNetwork: (sandbox) => docker.ensureNetwork(networkName(sandbox)),
    trust,
  });
  p.on('progress', (item) => progress.push(item));
  return p;
}

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'bb-pipeline-'));
  store = openStore(join(stateDir, 'state.db'));
  repo = createFixtureRepo({ health: { interval: '200ms', startPeriod: '0s' } });
  docker = new FakeDocker();
  redactor = new Redactor();
  sandboxes = new SandboxStore(store);
  ports = new PortAllocator(store, { ranges: { service: { from: 46000, to: 46999 } } });
  env = new EnvironmentStore(store, new SecretBox(stateDir), redactor);
  trust = new TrustStore(store);
  sandboxes.insert({ name: 'qa', owner: 'tester' });
  sandboxes.insert({ name: 'other', owner: 'tester' });
  progress = [];
  pipeline = makePipeline();
});

afterEach(async () => {
  await pipeline.shutdown();
  await docker.close();
  store.close();
  repo.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

const deploy = (ref: string | undefined, services: string[] = ['account'], extra: { sandbox?: string; includeUncommitted?: boolean; commit?: string } = {}) =>
  pipeline.start({ repoPath: repo.root, sandbox: extra.sandbox ?? 'qa', services, ...(ref ? { ref } : {}), ...extra }).deployments;

const finalOf = async (ref: string | undefined, services?: string[], extra?: Parameters<typeof deploy>[2]) =>
  Promise.all(deploy(ref, services, extra).map((d) => pipeline.waitFinal(d.id)));

const get = (url: string) => fetch(url).then(async (r) => ({ status: r.status, body: await r.text() }));
const heldPorts = () => (store.db.prepare('SELECT port, deployment_id AS d FROM ports ORDER BY port').all() as { port: number; d: string }[]);

describe('a deployment', () => {
  it('runs every stage, publishes the service on 127.0.0.1 and records what serves', async () => {
    const [account, payment] = await finalOf('feature/x', ['account', 'payment']);
    for (const [d, service] of [[account!, 'account'], [payment!, 'payment']] as const) {
      expect(d).toMatchObject({ status: 'running', service, ref: 'feature/x', commit: repo.commitOf('feature/x'), buildReused: false, containerName: `sandbox-qa_${service}` });
      expect(d.stages.map((s) => [s.stage, s.outcome])).toEqual([
        ['prepare', 'ok'],
        ['build', 'ok'],
        ['start', 'ok'],
        ['health-check', 'ok'],
        ['switch-over', 'ok'],
      ]);
      for (const s of d.stages) expect(s.durationMs).toBeGreaterThanOrEqual(0);
      expect(d.image).toBe(`branchbox/shop-${service}:${repo.commitOf('feature/x').slice(0, 12)}`);
      expect(await get(d.url!)).toEqual({ status: 200, body: 'feature/x' });
      expect(docker.byName(`sandbox-qa_${service}`)?.spec).toMatchObject({
        network: 'sandbox-qa',
        env: { SERVICE_NAME: service, LOG_LEVEL: 'debug' },
        owner: { sandbox: 'qa', service },
        labels: { 'branchbox.deployment': d.id, 'branchbox.commit': repo.commitOf('feature/x') },
        nanoCpus: 500_000_000,
        memoryBytes: 128 * 1024 * 1024,
      });
      // Siblings reach it by the service's name (and the hostname of earlier versions) once it serves.
      expect(docker.byName(`sandbox-qa_${service}`)?.aliases).toEqual({ 'sandbox-qa': [service, `sandbox-qa-${service}`] });
    }
    expect(sandboxes.require('qa').services).toEqual(
      expect.arrayContaining([expect.objectContaining({ service: 'account', deploymentId: account!.id, branch: 'feature/x', hostPort: account!.hostPort })]),
    );
    // Created without a repository, the sandbox now belongs to the one deployed (its routes, clones and snapshots follow it).
    expect(sandboxes.require('qa')).toMatchObject({ repoPath: realpathSync(repo.root), project: 'shop' });
    expect(heldPorts().map((p) => p.d).sort()).toEqual([account!.id, payment!.id].sort());
    expect(readdirSync(join(stateDir, 'deploy', 'src'))).toEqual([]);
    // Progress: queued, then each stage begins and ends, then running.
    const statuses = progress.filter((p) => p.deployment === account!.id && p.kind === 'status').map((p) => p.status);
    expect(statuses).toEqual(['queued', 'preparing', 'building', 'starting', 'health-checking', 'running']);
    const logs = pipeline.logs(account!.id).lines;
    expect(logs.map((l) => l.source)).toEqual(expect.arrayContaining(['git', 'build', 'runtime', 'daemon']));
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i + 1));
  });

  it('replaces the serving container, reuses the image of the same commit, and releases the old port', async () => {
    const [first] = await finalOf('main');
    const [second] = await finalOf('main');
    expect(second).toMatchObject({ status: 'running', buildReused: true });
    expect(second!.stages.find((s) => s.stage === 'build')?.outcome).toBe('reused');
    expect(docker.builds).toHaveLength(1);
    expect(pipeline.get(first!.id)).toMatchObject({ status: 'superseded', supersededBy: second!.id });
    expect(docker.containers.size).toBe(1);
    expect(docker.byName('sandbox-qa_account')?.labels['branchbox.deployment']).toBe(second!.id);
    expect(heldPorts()).toEqual([{ port: second!.hostPort, d: second!.id }]);
    expect(await get(second!.url!)).toEqual({ status: 200, body: 'main' });
  });

  it('takes other ports and starts anyway when a port checked free is taken before the engine binds it', async () => {
    // Another process binds each port the allocator hands out right after the check, as an
    // outgoing connection or another program can: the engine's bind then fails.
    const squatters: Server[] = [];
    const probe = hostPortCheck();
    let squat = 2;
    ports = new PortAllocator(store, {
      ranges: { service: { from: 46000, to: 46999 } },
      hostCheck: {
        firstFree: (candidates) => {
          const port = probe.firstFree(candidates);
          if (port !== undefined && squat-- > 0) squatters.push(createServer().listen(port, '127.0.0.1'));
          return port;
        },
      },
    });
    pipeline = makePipeline();
    try {
      await Promise.all(squatters.map((s) => new Promise((r) => (s.listening ? r(undefined) : s.once('listening', r)))));
      const [d] = await finalOf('main');
      const taken = squatters.map((s) => (s.address() as AddressInfo).port);
      expect(d).toMatchObject({ status: 'running' });
      expect(taken).toHaveLength(2);
      expect(taken).not.toContain(d!.hostPort);
      expect(await get(d!.url!)).toEqual({ status: 200, body: 'main' });
      // Only the port it serves on stays held; the containers of the refused starts are gone.
      expect(heldPorts()).toEqual([{ port: d!.hostPort, d: d!.id }]);
      expect(docker.containers.size).toBe(1);
      const tried = pipeline.logs(d!.id).lines.filter((l) => l.line.includes('was taken after it was checked free'));
      expect(tried.map((l) => l.line)).toEqual(taken.map((port) => expect.stringContaining(`127.0.0.1:${port}`)));
    } finally {
      await Promise.all(squatters.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('fails clearly, holding no port and leaving no container, when every try meets a port in use', async () => {
    const squatters: Server[] = [];
    const probe = hostPortCheck();
    ports = new PortAllocator(store, {
      ranges: { service: { from: 46000, to: 46999 } },
      hostCheck: {
        firstFree: (candidates) => {
          const port = probe.firstFree(candidates);
          if (port !== undefined) squatters.push(createServer().listen(port, '127.0.0.1'));
          return port;
        },
      },
    });
    pipeline = makePipeline();
    try {
      const [d] = await finalOf('main');
      expect(d).toMatchObject({ status: 'failed' });
      expect(d!.diagnosis).toMatch(/^start failed: a port of 127\.0\.0\.1:\d+ is in use: /);
      expect(squatters).toHaveLength(3);
      expect(heldPorts()).toEqual([]);
      expect(docker.containers.size).toBe(0);
    } finally {
      await Promise.all(squatters.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('replaces the container the serving record names, whatever its name (a container of an earlier version)', async () => {
    const [first] = await finalOf('main');
    const legacy = docker.byName('sandbox-qa_account')!;
    await docker.renameContainer(legacy.id, 'sandbox-qa-account');
    // Someone else's container that merely has an old-style name of this sandbox is not the one serving.
    const other = docker.adopt('sandbox-qa-x-account', { 'branchbox.managed': 'true', 'branchbox.sandbox': 'qa-x', 'branchbox.service': 'account' });
    const [second] = await finalOf('feature/x');
    expect(second).toMatchObject({ status: 'running', containerName: 'sandbox-qa_account' });
    expect(docker.containers.has(legacy.id)).toBe(false);
    expect(pipeline.get(first!.id)).toMatchObject({ status: 'superseded', supersededBy: second!.id });
    expect(docker.byName('sandbox-qa_account')?.labels['branchbox.deployment']).toBe(second!.id);
    expect(docker.containers.has(other)).toBe(true);
    expect(await get(second!.url!)).toEqual({ status: 200, body: 'feature/x' });
  });

  it('rolls back when the new container cannot take the service’s aliases: the old one keeps its name and serves', async () => {
    const [good] = await finalOf('main');
    docker.failReattach = 'Cannot connect a container to network "sandbox-qa": endpoint with name x already exists';
    const [bad] = await finalOf('feature/x');
    expect(bad).toMatchObject({ status: 'failed', diagnosis: expect.stringMatching(/^switch-over failed: Cannot connect a container to network/) });
    expect(bad!.stages.at(-1)).toMatchObject({ stage: 'switch-over', outcome: 'failed' });
    expect(docker.containers.size).toBe(1);
    expect(docker.byName('sandbox-qa_account')?.labels['branchbox.deployment']).toBe(good!.id);
    expect(pipeline.get(good!.id).status).toBe('running');
    expect(sandboxes.require('qa').services.find((s) => s.service === 'account')?.deploymentId).toBe(good!.id);
    expect(await get(good!.url!)).toEqual({ status: 200, body: 'main' });
  });

  it('rolls back when the health check fails: the old container keeps serving, the diagnosis names the probe', async () => {
    const [good] = await finalOf('main');
    const [bad] = await finalOf('broken-health');
    expect(bad).toMatchObject({ status: 'failed' });
    expect(bad!.diagnosis).toMatch(/^health-check failed: GET \/healthz answered 500: unhealthy on purpose — still failing after \d+ probes over \d+\.\d s$/);
    expect(bad!.stages.at(-1)).toMatchObject({ stage: 'health-check', outcome: 'failed' });
    expect(docker.byName('sandbox-qa_account')?.labels['branchbox.deployment']).toBe(good!.id);
    expect(docker.containers.size).toBe(1);
    expect(await get(good!.url!)).toEqual({ status: 200, body: 'main' });
    expect(pipeline.get(good!.id).status).toBe('running');
    expect(heldPorts()).toEqual([{ port: good!.hostPort, d: good!.id }]);
    expect(pipeline.logs(bad!.id).lines.at(-1)?.line).toBe(bad!.diagnosis);
  });

  it('fails a broken build naming the failing step of the Dockerfile and what it said', async () => {
    const [d] = await finalOf('broken-build');
    // The fixture's Dockerfile: FROM, COPY, then the failing RUN (the generated LABEL is not counted).
    expect(d!.diagnosis).toBe('build failed: about to fail (Dockerfile step 3: RUN echo "about to fail" && false)');
    expect(d!.stages.map((s) => s.stage)).toEqual(['prepare', 'build']);
    expect(heldPorts()).toEqual([]);
  });

  it('says when the container exits, with its last log lines', async () => {
    const [d] = await finalOf('crash');
    expect(d!.diagnosis).toBe('health-check failed: the container exited with code 3; last lines: account crash: reading configuration | fatal: configuration missing, giving up');
    expect(docker.containers.size).toBe(0);
  });

  it('names a missing image', async () => {
    repo.checkout('main');
    repo.write('branchbox.yaml', `${(await import('node:fs')).readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8').replace('services:\n', 'services:\n  legacy:\n    build: { image: local/missing:1 }\n    port: 80\n')}`);
    repo.commitAll('legacy service');
    const [d] = await finalOf('main', ['legacy']);
    expect(d!.diagnosis).toBe('build failed: image local/missing:1 is missing on the Docker engine (ImageNotFound): build it or load it with image/load — Branchbox never pulls');
  });

  it('builds with a host command in the exported source and runs the runtime image with it mounted read-only', async () => {
    const fs = await import('node:fs');
    repo.write('services/tool/build.js', "require('fs').writeFileSync('app.js', 'built'); console.log('compiled ok');\n");
    repo.write(
      'branchbox.yaml',
      fs.readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8').replace(
        'services:\n',
        'services:\n  tool:\n    context: services/tool\n    build: { command: ["node", "build.js"], runtime: "branchbox/node:20", cmd: ["node", "/src/app.js"] }\n    port: 8080\n' +
          '  failing:\n    context: services/tool\n    build: { command: ["node", "-e", "console.log(\'step one\'); process.exit(2)"], runtime: "branchbox/node:20" }\n    port: 8080\n',
      ),
    );
    repo.commitAll('a service built on the host');
    // Not trusted yet: refused before the command runs.
    const [untrusted] = await finalOf('main', ['tool']);
    expect(untrusted!.diagnosis).toBe(
      `build failed: ${realpathSync(repo.root)} asks to run a command on this computer that you have not trusted: service tool runs \`node build.js\` in services/tool. ` +
        'Nothing ran. If you would run it yourself, trust it (branchbox deploy --trust-command, the Trust prompt in VS Code, or trust/grant) and deploy again.',
    );
    expect(existsSync(join(stateDir, 'deploy', 'src', untrusted!.id))).toBe(false);
    trust.grant({ repoPath: repo.root, context: 'services/tool', command: ['node', 'build.js'] });
    trust.grant({ repoPath: repo.root, context: './services/tool/', command: ['node', '-e', "console.log('step one'); process.exit(2)"] });
    const [d] = await finalOf('main', ['tool']);
    expect(d).toMatchObject({ status: 'running', image: 'branchbox/node:20' });
    const source = join(realpathSync(stateDir), 'deploy', 'src', d!.id, 'services', 'tool');
    expect(docker.byName('sandbox-qa_tool')?.spec).toMatchObject({ cmd: ['node', '/src/app.js'], binds: [`${source}:/src:ro`] });
    expect(fs.readFileSync(join(source, 'app.js'), 'utf8')).toBe('built');
    expect(pipeline.logs(d!.id).lines).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'build', line: 'compiled ok' })]));
    // Replaced: its source folder goes with it.
    const [next] = await finalOf('main', ['tool']);
    expect(next!.status).toBe('running');
    expect(existsSync(join(stateDir, 'deploy', 'src', d!.id))).toBe(false);
    const [failing] = await finalOf('main', ['failing']);
    expect(failing!.diagnosis).toBe('build failed: the build command "node -e console.log(\'step one\'); process.exit(2)" exited with code 2; last lines: step one');
    expect(readdirSync(join(stateDir, 'deploy', 'src')).sort()).toEqual([next!.id]);
  });

  it('deploys uncommitted changes on top of HEAD under a content-hash tag, leaving the working tree alone', async () => {
    const file = join(repo.root, 'services/account/server.js');
    const fs = await import('node:fs');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('res.end("main")', 'res.end("main+wip")'));
    const status = repo.git('status', '--porcelain');
    const [d] = await finalOf(undefined, ['account'], { includeUncommitted: true });
    expect(d).toMatchObject({ status: 'running', ref: 'main', includeUncommitted: true });
    expect(d!.sourceHash).toMatch(/^[0-9a-f]{40}$/);
    expect(d!.image).toBe(`branchbox/shop-account:${repo.commitOf('main').slice(0, 12)}-${d!.sourceHash!.slice(0, 12)}`);
    expect(await get(d!.url!)).toEqual({ status: 200, body: 'main+wip' });
    expect(repo.git('status', '--porcelain')).toBe(status);
    const [wrongBase] = await finalOf('feature/x', ['account'], { includeUncommitted: true });
    expect(wrongBase!.diagnosis).toMatch(/^prepare failed: uncommitted changes sit on top of HEAD/);
  });
});

describe('requests that cannot start', () => {
  const rpcError = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(RpcError);
      return (e as RpcError).errorName;
    }
    return 'no error';
  };
  it('are refused at once with a clear error', () => {
    expect(rpcError(() => deploy('main', ['account'], { sandbox: 'nope' }))).toBe('SandboxNotFound');
    expect(rpcError(() => deploy('main', ['account'], { sandbox: 'Bad_Name' }))).toBe('InvalidName');
    expect(rpcError(() => deploy('feature/$(touch /tmp/pwned)'))).toBe('InvalidName');
    expect(rpcError(() => deploy('; rm -rf /'))).toBe('InvalidName');
    expect(rpcError(() => deploy('--upload-pack=x'))).toBe('InvalidName');
    expect(rpcError(() => deploy('main', ['nosuch']))).toBe('InvalidParams');
    expect(rpcError(() => pipeline.start({ repoPath: tmpdir(), sandbox: 'qa', services: ['account'] }))).toBe('GitError');
    expect(existsSync('/tmp/pwned')).toBe(false);
    expect(pipeline.list({})).toEqual([]);
  });

  it('a branch that does not exist fails in prepare', async () => {
    const [d] = await finalOf('no-such-branch');
    expect(d!.diagnosis).toBe(`prepare failed: No branch "no-such-branch" in ${repo.root}`);
  });
});

describe('which services a request deploys', () => {
  /** The fixture's project, with what a compose file would add to its services. */
  const withCompose = (extra: Record<string, Partial<DeployServiceConfig>>) =>
    new DeployPipeline({
      store,
      docker: () => docker,
      loadProject: (root) => {
        const project = loadProject(root);
        return { ...project, services: Object.fromEntries(Object.entries(project.services).map(([k, v]) => [k, { ...v, ...extra[k] }])) };
      },
      sandboxes,
      ports,
      environments: env,
      validateSandboxName,
      stateDir,
      redactor,
      ensureNetwork: (sandbox) => docker.ensureNetwork(networkName(sandbox)),
      trust,
    });
  const on = { condition: 'service_healthy', required: true, restart: false } as const;

  it('without services: every service of a branchbox.yaml project, as the CLI asked before', () => {
    expect(pipeline.plan({ repoPath: repo.root, sandbox: 'qa' })).toMatchObject({ services: ['account', 'payment'], added: [] });
  });

  it('the chosen profiles, the missing dependencies added in dependency order', () => {
    const p = withCompose({ account: { dependsOn: { payment: on } }, payment: { profiles: ['billing'] } });
    const alone = withCompose({ payment: { profiles: ['billing'] } });
    expect(alone.plan({ repoPath: repo.root, sandbox: 'qa' })).toMatchObject({ services: ['account'], added: [] });
    expect(p.plan({ repoPath: repo.root, sandbox: 'qa' })).toMatchObject({ services: ['payment', 'account'], added: ['payment'] });
    // account needs payment: added even outside the chosen profiles, and queued first.
    expect(p.plan({ repoPath: repo.root, sandbox: 'qa', services: ['account'] })).toMatchObject({ services: ['payment', 'account'], added: ['payment'] });
    expect(p.plan({ repoPath: repo.root, sandbox: 'qa', profiles: ['billing'] })).toMatchObject({ services: ['payment', 'account'], added: [] });
    expect(() => p.plan({ repoPath: repo.root, sandbox: 'qa', services: ['payment'], profiles: ['billing'] })).not.toThrow();
  });

  it('refuses a dependency cycle up front, queueing nothing', () => {
    const p = withCompose({ account: { dependsOn: { payment: on } }, payment: { dependsOn: { account: on } } });
    expect(() => p.start({ repoPath: repo.root, sandbox: 'qa' })).toThrow(/^Dependency cycle between services: account → payment → account \(.*branchbox\.yaml\)$/);
    expect(p.list({})).toEqual([]);
  });
});

describe('lanes', () => {
  it('queues behind a running deployment of the same service, supersedes a queued one, and runs other services in parallel', async () => {
    const building = docker.nextBuild();
    const [slow] = deploy('slow-build');
    await building;
    const [queued] = deploy('main');
    const [latest] = deploy('feature/x');
    const [payment] = deploy('main', ['payment']);
    expect((await pipeline.waitFinal(queued!.id))).toMatchObject({ status: 'superseded', supersededBy: latest!.id });
    // payment is not held up by account's slow build
    expect((await pipeline.waitFinal(payment!.id)).status).toBe('running');
    expect(pipeline.get(latest!.id).status).toBe('queued');
    docker.releaseBuilds();
    expect((await pipeline.waitFinal(slow!.id)).status).toBe('running');
    const done = await pipeline.waitFinal(latest!.id);
    expect(done.status).toBe('running');
    expect(pipeline.get(slow!.id)).toMatchObject({ status: 'superseded', supersededBy: latest!.id });
    expect(await get(done.url!)).toEqual({ status: 200, body: 'feature/x' });
  });

  it('cancels mid-build: the build stops, nothing is left, the old container keeps serving', async () => {
    const [good] = await finalOf('main');
    const building = docker.nextBuild();
    const [slow] = deploy('slow-build');
    const spec = await building;
    expect(await pipeline.cancel(slow!.id)).toBe('cancelled');
    expect(spec.signal.aborted).toBe(true);
    const d = pipeline.get(slow!.id);
    expect(d.diagnosis).toBe('build cancelled: by request');
    expect(d.stages.at(-1)).toMatchObject({ stage: 'build', outcome: 'cancelled' });
    expect(docker.containers.size).toBe(1);
    expect(pipeline.get(good!.id).status).toBe('running');
    expect(await pipeline.cancel(slow!.id)).toBe('cancelled'); // cancelling again changes nothing
    expect(await pipeline.cancel(good!.id)).toBe('running');
  });

  it('cancels a queued deployment at once, and every deployment of a sandbox on request', async () => {
    const building = docker.nextBuild();
    const [slow] = deploy('slow-build');
    await building;
    const [queued] = deploy('main');
    expect(await pipeline.cancel(queued!.id)).toBe('cancelled');
    expect(pipeline.get(queued!.id).diagnosis).toBe('queued cancelled: by request');
    const [otherService] = deploy('main', ['payment']);
    await pipeline.waitFinal(otherService!.id);
    sandboxes.update('qa', { state: 'deleting' });
    await pipeline.stopSandbox('qa');
    expect(pipeline.get(slow!.id)).toMatchObject({ status: 'cancelled', diagnosis: 'build cancelled: the sandbox is being deleted' });
    expect(pipeline.get(otherService!.id).status).toBe('stopped');
    expect(() => deploy('main')).toThrow(/being deleted/);
  });

  it('cancelling a sandbox in flight (suspend) leaves its running deployments running, with their containers and sources', async () => {
    const [served] = await finalOf('main', ['payment']);
    expect(served!.status).toBe('running');
    const building = docker.nextBuild();
    const [slow] = deploy('slow-build');
    await building;
    await pipeline.cancelInFlight('qa', 'the sandbox is being suspended');
    expect(pipeline.get(slow!.id)).toMatchObject({ status: 'cancelled', diagnosis: 'build cancelled: the sandbox is being suspended' });
    expect(pipeline.get(served!.id).status).toBe('running');
    expect(docker.containers.has(served!.containerId!)).toBe(true);
    expect(progress.some((p) => p.deployment === served!.id && p.status === 'stopped')).toBe(false);
    // A restart's reaper keeps what a running deployment owns.
    await pipeline.reap();
    expect(docker.containers.has(served!.containerId!)).toBe(true);
  });

  it('shutdown cancels what runs and refuses new work', async () => {
    const building = docker.nextBuild();
    const [slow] = deploy('slow-build');
    await building;
    await pipeline.shutdown();
    expect(pipeline.get(slow!.id)).toMatchObject({ status: 'cancelled', diagnosis: 'build cancelled: the daemon is shutting down' });
    expect(() => deploy('main')).toThrow(/shutting down/);
  });
});

describe('secrets', () => {
  it('are injected into the container and masked in every log line, progress item and diagnosis', async () => {
    const secret = 's3cr3t-Value-42';
    env.set('qa', undefined, 'API_TOKEN', secret, true);
    const [d] = await finalOf('main');
    expect(docker.byName('sandbox-qa_account')?.spec.env.API_TOKEN).toBe(secret);
    const everything = JSON.stringify([progress, pipeline.logs(d!.id), pipeline.list({})]);
    expect(everything).not.toContain(secret);
    expect(pipeline.logs(d!.id).lines.map((l) => l.line)).toContain('account starting with API_TOKEN=***');
  });
});

describe('recovery at start', () => {
  it('fails what was interrupted, releases its port, removes its containers and puts a renamed serving container back', async () => {
    const [serving] = await finalOf('main');
    // A daemon that died: one deployment mid-build holding a port, one queued, and a
    // switch-over that had renamed the serving container away and started the new one.
    const rows = pipeline.deployments;
    const now = new Date().toISOString();
    for (const [id, status] of [['d-build', 'building'], ['d-queued', 'queued'], ['d-switch', 'health-checking']] as const) {
      rows.insert({ id, sandbox: 'qa', service: 'account', repoPath: repo.root, ref: 'main', commit: null, includeUncommitted: false, requestedBy: null, createdAt: now });
      rows.update(id, { status });
    }
    rows.beginStage('d-build', 'build', new Date());
    rows.beginStage('d-switch', 'switch-over', new Date());
    const held = ports.allocate({ sandbox: 'qa', service: 'account', purpose: 'service', deploymentId: 'd-build' });
    rows.update('d-build', { hostPort: held });
    const servingId = docker.byName('sandbox-qa_account')!.id;
    // An interrupted switch-over: the serving container set aside, the new one holding the name.
    await docker.renameContainer(servingId, `sandbox-qa_account_${serving!.id.slice(0, 8)}`);
    docker.adopt('sandbox-qa_account', { 'branchbox.managed': 'true', 'branchbox.deployment': 'd-switch', 'branchbox.sandbox': 'qa', 'branchbox.service': 'account' });
    docker.adopt('sandbox-qa_account_dbuild00', { 'branchbox.managed': 'true', 'branchbox.deployment': 'd-build' });
    const foreign = docker.adopt('sandbox-zz-account', { 'branchbox.managed': 'true', 'branchbox.deployment': 'not-ours' });

    const restarted = makePipeline();
    const report = await restarted.recover();
    expect(restarted.get('d-build')).toMatchObject({ status: 'failed', diagnosis: 'interrupted: the daemon stopped during build' });
    expect(restarted.get('d-queued')).toMatchObject({ status: 'failed', diagnosis: 'interrupted: the daemon stopped while it was queued' });
    expect(restarted.get('d-switch')).toMatchObject({ status: 'failed', diagnosis: 'interrupted: the daemon stopped during switch-over' });
    expect(restarted.get('d-build').stages).toEqual([expect.objectContaining({ stage: 'build', outcome: 'interrupted' })]);
    expect(heldPorts()).toEqual([{ port: serving!.hostPort, d: serving!.id }]);
    expect(report?.removed.sort()).toEqual(['sandbox-qa_account', 'sandbox-qa_account_dbuild00']);
    expect(report?.restored).toEqual(['sandbox-qa_account']);
    expect(docker.byName('sandbox-qa_account')?.id).toBe(servingId);
    expect(docker.containers.has(foreign)).toBe(true);
    expect(restarted.list({ status: ['queued', 'preparing', 'building', 'starting', 'health-checking'] })).toEqual([]);
    await restarted.shutdown();
  });
});
