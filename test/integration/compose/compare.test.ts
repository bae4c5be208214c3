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
/** Set once Branchbox deployed the example (the redeploy test builds on it). */
let deployed = false;

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

  it('keeps the visits counted in postgres across a redeploy of the api and the database', async () => {
    if (!deployed || !client || !repo) throw new Error('the previous test did not deploy the example');
    const apiUrl = async () => {
      const view = await client!.request('sandbox/get', { name: sandbox });
      const port = view.services.find((s) => s.service === 'api')?.ports?.find((p) => p.container === 8080)?.hostPort;
      if (port === undefined)
        throw new Error(`sandbox/get shows no published port 8080 for api: ${JSON.stringify(view.services)}`);
      return `http://127.0.0.1:${port}`;
    };
    const visits = async () =>
      ((await (await fetch(`${await apiUrl()}/api/visits`)).json()) as { visits: number }).visits;
    const before = await visits();
    const redeployed = await deployFinal(client, { repoPath: repo.root, sandbox, services: ['postgres', 'api'] });
    expect(redeployed.map((d) => d.status)).toEqual(['running', 'running']);
    expect(await visits()).toBe(before + 1);
  }, 300_000);
});
