/**
 * The compose example (examples/compose-shop) brought up by the reference, Debian's
 * docker-compose 1.29 (`scripts/setup.sh --test` installs it), and by Branchbox — a real
 * daemon deploying a git repository made of the example — and what runs compared: the
 * services, their environment, health, the volumes mounted, and the dependency order (each
 * container started after what it depends on started, after the job it waits for exited 0).
 *
 * Everything either side creates carries this run's `branchbox.test` label (docker-compose
 * through a generated override, the daemon through BRANCHBOX_EXTRA_LABELS) and is removed at
 * the end — `docker-compose down -v`, the sandbox's deletion, then the label-scoped cleanup —
 * also when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingServiceOf, volumeName } from '../../../schemas/src/docker-names';
import { deployFinal, portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import {
  comparable,
  composeReference,
  exampleCompose,
  exampleRepo,
  jobs,
  observe,
  orderProblems,
  waitSettled,
  type ComposeReference,
  type ServiceRecord,
} from './compose-reference';

const run = testRun('bbcompose');
const sandbox = `cmp-${run.runId.slice(-8)}`;
const services = Object.keys(exampleCompose().services);
let reference: ComposeReference | undefined;
let referenceRecords: Record<string, ServiceRecord>;
let daemon: TestDaemon | undefined;
let client: TestClient | undefined;
let repo: ReturnType<typeof exampleRepo> | undefined;
/** Set once Branchbox deployed the example (the later tests build on it). */
let deployed = false;
/** Sandboxes the data tests make beside the compared one (a clone, one seeded from a snapshot). */
const others: string[] = [];

beforeAll(async () => {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      "docker-compose is not installed: run `bash scripts/setup.sh --test` (it installs Debian's docker-compose 1.29)",
    );
  }
  reference = await composeReference(run.runId);
  await reference.up();
  await waitSettled(
    () => reference!.containers(),
    (c) => reference!.serviceOf(c),
  );
  referenceRecords = await observe(
    await reference.containers(),
    (c) => reference!.serviceOf(c),
    (n) => reference!.volumeOf(n),
  );
}, 300_000);

afterAll(async () => {
  const steps: [string, () => Promise<unknown> | unknown][] = [
    ['docker-compose down', () => reference?.down()],
    ['delete the sandbox', () => client?.request('sandbox/delete', { name: sandbox })],
    ['delete the other sandboxes', () => Promise.all(others.map((name) => client?.request('sandbox/delete', { name })))],
    ['delete the snapshot', () => client?.request('snapshot/delete', { name: `${sandbox}-seed` }).catch(() => undefined)],
    ['close the client', () => client?.closeSocket()],
    [
      'stop the daemon',
      async () => {
        await daemon?.stop();
        await daemon?.dispose();
      },
    ],
    ['remove what carries the label', () => run.cleanup()],
    ['remove the repository', () => repo?.dispose()],
  ];
  const failures: string[] = [];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message}`);
    }
  }
  if (failures.length) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
}, 180_000);

describe('docker-compose 1.29, the reference, on the compose example', () => {
  it('runs every service healthy with its declared environment and volumes, the job completed', () => {
    const file = exampleCompose();
    const jobSet = jobs(file);
    expect(Object.keys(referenceRecords).sort()).toEqual([...services].sort());
    for (const [name, service] of Object.entries(file.services)) {
      const record = referenceRecords[name]!;
      if (jobSet.has(name)) expect([record.status, record.exitCode], name).toEqual(['exited', 0]);
      else expect([record.status, record.health], name).toEqual(['running', 'healthy']);
      expect(record.environment, name).toEqual(service.environment ?? {});
      expect(record.mounts, name).toEqual([...(service.volumes ?? [])].sort());
    }
  });

  it('starts each container after its dependencies, the api after the migration exited 0', () => {
    expect(orderProblems(referenceRecords)).toEqual([]);
  });

  it('serves the shop: visits counted in postgres, products cached in redis', async () => {
    const api = `http://127.0.0.1:${reference!.ports.api![8080]}`;
    const first = (await (await fetch(`${api}/api/visits`)).json()) as { visits: number };
    const second = (await (await fetch(`${api}/api/visits`)).json()) as { visits: number };
    expect(second.visits).toBe(first.visits + 1);
    const sources = [];
    for (let i = 0; i < 2; i++)
      sources.push(((await (await fetch(`${api}/api/products`)).json()) as { source: string }).source);
    expect(sources).toEqual(['postgres', 'redis']);
  });
});

describe('Branchbox on the same compose example', () => {
  const serviceOf = (c: Docker.ContainerInfo) => servingServiceOf(sandbox, (c.Names[0] ?? '').replace(/^\//, ''));
  const volumeOf = (name: string) => {
    const prefix = volumeName(sandbox, '');
    return name.startsWith(prefix) ? name.slice(prefix.length) : name;
  };
  const containers = () =>
    docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`${TEST_LABEL}=${run.runId}`, `branchbox.sandbox=${sandbox}`] }),
    });

  it('runs what docker-compose runs: the same services, environment, health and volumes, in dependency order', async () => {
    repo = exampleRepo();
    daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...portWindows() } });
    client = await daemon.connect('compose-compare');
    await client.request('sandbox/create', { name: sandbox });
    const finals = await deployFinal(client, { repoPath: repo.root, sandbox, services });
    const jobSet = jobs();
    for (const d of finals)
      expect([d.service, d.status, d.diagnosis]).toEqual([
        d.service,
        jobSet.has(d.service) ? 'completed' : 'running',
        undefined,
      ]);
    await waitSettled(containers, serviceOf);
    const records = await observe(await containers(), serviceOf, volumeOf);
    expect(comparable(records)).toEqual(comparable(referenceRecords));
    expect(orderProblems(records)).toEqual([]);
    deployed = true;
  }, 300_000);

  /** Where the api of `name` answers directly (its published 8080). */
  const apiUrl = async (name: string) => {
    const view = await client!.request('sandbox/get', { name });
    const port = view.services.find((s) => s.service === 'api')?.ports?.find((p) => p.container === 8080)?.hostPort;
    if (port === undefined) throw new Error(`sandbox/get shows no published port 8080 for api: ${JSON.stringify(view.services)}`);
    return `http://127.0.0.1:${port}`;
  };
  /** GET /api/visits (each call counts one visit) at `base`. */
  const visitsAt = async (base: string) => {
    const res = await fetch(`${base}/api/visits`);
    if (!res.ok) throw new Error(`GET ${base}/api/visits answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { visits: number }).visits;
  };
  const visits = async (name = sandbox) => visitsAt(await apiUrl(name));

  it('keeps the visits counted in postgres across a redeploy of the api and the database', async () => {
    if (!deployed || !client || !repo) throw new Error('the previous test did not deploy the example');
    const before = await visits();
    const redeployed = await deployFinal(client, { repoPath: repo.root, sandbox, services: ['postgres', 'api'] });
    expect(redeployed.map((d) => d.status)).toEqual(['running', 'running']);
    expect(await visits()).toBe(before + 1);
  }, 300_000);

  it('keeps them across suspend and resume, and serves them through the gateway', async () => {
    if (!deployed || !client) throw new Error('the first test did not deploy the example');
    const before = await visits();
    await client.request('sandbox/suspend', { name: sandbox });
    const resumed = await client.request('sandbox/resume', { name: sandbox });
    expect(resumed.services.filter((s) => !s.healthy)).toEqual([]);
    const { gateway } = await client.request('route/list', { sandbox });
    if (!gateway) throw new Error('the sandbox has no gateway');
    expect(await visitsAt(gateway.url)).toBe(before + 1);
  }, 300_000);

  it('carries the data into a clone and into a sandbox seeded from a snapshot', async () => {
    if (!deployed || !client || !repo) throw new Error('the first test did not deploy the example');
    const clone = `${sandbox}-c`;
    const seeded = `${sandbox}-s`;
    const before = await visits();
    const snapshot = `${sandbox}-seed`;
    await client.request('sandbox/snapshot', { name: sandbox, snapshot });
    const { snapshots } = await client.request('snapshot/list', {});
    const pgdata = snapshots.find((x) => x.name === snapshot)?.volumes.find((v) => v.name === 'pgdata');
    expect(pgdata?.bytes).toBeGreaterThan(1_000_000);

    others.push(clone);
    await client.request('sandbox/clone', { name: sandbox, newName: clone, wait: true });
    expect(await visits(clone)).toBe(before + 1);

    others.push(seeded);
    await client.request('sandbox/create', { name: seeded, fromSnapshot: snapshot });
    const finals = await deployFinal(client, { repoPath: repo.root, sandbox: seeded, services });
    expect(finals.filter((d) => d.status !== 'running' && d.status !== 'completed')).toEqual([]);
    expect(await visits(seeded)).toBe(before + 1);
    // Each sandbox has its own data from then on.
    expect(await visits()).toBe(before + 1);
  }, 600_000);

  it('reaches postgres on one local port that follows the current sandbox', async () => {
    if (!deployed || !client) throw new Error('the first test did not deploy the example');
    const clone = others[0];
    if (!clone) throw new Error('the clone test did not run');
    const { project } = await client.request('sandbox/get', { name: sandbox });
    if (!project) throw new Error('the sandbox has no project');
    const localPort = await freePort();
    await client.request('forward/add', { project, service: 'postgres', localPort });
    const postgresPort = async (name: string) =>
      (await client!.request('sandbox/get', { name })).services.find((s) => s.service === 'postgres')?.ports?.find((p) => p.container === 5432)?.hostPort;
    for (const name of [sandbox, clone]) {
      const { forwards } = await client.request('forward/use', { project, sandbox: name });
      expect(forwards.map((f) => [f.service, f.containerPort, f.target?.sandbox, f.target?.hostPort])).toEqual([
        ['postgres', 5432, name, await postgresPort(name)],
      ]);
      // PostgreSQL answers an SSLRequest with one byte: N (no TLS).
      expect(await sslAnswer(localPort)).toBe('N');
    }
    await client.request('forward/remove', { project, service: 'postgres' });
  }, 120_000);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The first byte a server at 127.0.0.1:`port` answers to PostgreSQL's SSLRequest. */
function sslAnswer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const request = Buffer.alloc(8);
      request.writeInt32BE(8, 0);
      request.writeInt32BE(80877103, 4);
      socket.write(request);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer from 127.0.0.1:${port}`)));
    socket.once('data', (data) => {
      resolve(data.subarray(0, 1).toString('latin1'));
      socket.destroy();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`127.0.0.1:${port} closed the connection without an answer`)));
  });
}
