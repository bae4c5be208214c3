/**
 * A kill -9 storm: one daemon on one state directory, killed with SIGKILL at a random moment
 * of deploys, suspends and resumes of three sandboxes, started again, and again — at least
 * ten rounds. Then, once it has recovered and reconciled: no sandbox is lost (each is there,
 * every service it served at any point of the storm is still served — a deployment only ever
 * replaces a serving container, and nothing else ends one — and after a resume each answers
 * HTTP at the commit its deployment says),
 * no container or network is left that nothing accounts for, no deployment is stuck in a
 * non-final status, and SQLite's `PRAGMA integrity_check` says ok.
 *
 * The moments are random (seeded: the seed is in the test's log line to replay a failure).
 * Images are built once before the storm, so deploys in it reuse them and take seconds.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../../helpers/daemon';
import { docker, TEST_LABEL, testRun } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { deployRunning, reconciled, reliabilityEnv, startDaemon, type RunningDaemon } from './helpers';

const ROUNDS = 20;
const BRANCHES = ['main', 'feature/x'] as const;
const SERVICES = ['account', 'payment'] as const;
const SEED = Number(process.env.BRANCHBOX_STORM_SEED ?? Math.floor(Math.random() * 2 ** 31));

const run = testRun('bbstorm');
const names = [0, 1, 2].map((i) => `k${run.runId.slice(-8)}-${i}`);
const env = reliabilityEnv(run);
let repo: FixtureRepo;
let d: RunningDaemon;
let stateDir: string;

/** mulberry32: a small seeded generator, so a failing storm can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  repo = createFixtureRepo({ health: { interval: '300ms', startPeriod: '1s' } });
  d = await startDaemon(env);
  stateDir = d.daemon.stateDir;
  for (const name of names) await d.client.request('sandbox/create', { name, repoPath: repo.root });
  // Build every image the storm deploys, once.
  for (const [i, ref] of BRANCHES.entries()) {
    await deployRunning(d.client, { repoPath: repo.root, sandbox: names[i]!, ref, services: [...SERVICES] });
  }
}, 180_000);

afterAll(async () => {
  if (d) {
    for (const name of names) await d.client.request('sandbox/delete', { name }).catch(() => undefined);
    await d.client.closeSocket();
    await d.daemon.stop();
    await d.daemon.dispose();
  }
  await run.cleanup();
  repo?.dispose();
});

/** Starts one operation without waiting for it; its outcome (or the kill) is caught. */
function operate(client: TestClient, pick: () => number, log: string[]): Promise<unknown> {
  const name = names[Math.floor(pick() * names.length)]!;
  const roll = pick();
  if (roll < 0.5) {
    const ref = BRANCHES[Math.floor(pick() * BRANCHES.length)]!;
    const services = pick() < 0.5 ? [...SERVICES] : [SERVICES[Math.floor(pick() * SERVICES.length)]!];
    log.push(`deploy ${name} ${ref} ${services.join('+')}`);
    return client.request('deploy/start', { repoPath: repo.root, sandbox: name, ref, services }).catch(() => undefined);
  }
  const method = roll < 0.75 ? 'sandbox/suspend' : 'sandbox/resume';
  log.push(`${method} ${name}`);
  return client.request(method, { name }).catch(() => undefined);
}

async function killAndRestart(): Promise<void> {
  d.daemon.process.kill('SIGKILL');
  await d.daemon.exited;
  d = await startDaemon(env, stateDir);
}

describe('a kill -9 storm', () => {
  it(`loses no sandbox, leaves no orphan and no stuck deployment (seed ${SEED})`, async () => {
    const pick = random(SEED);
    const history: string[] = [];
    /** `sandbox/service` of every service seen served during the storm. */
    const everServed = new Set<string>();
    const lookAtServed = async () => {
      for (const name of names) {
        const sandbox = await d.client.request('sandbox/get', { name });
        for (const s of sandbox.services) if (s.containerId !== undefined) everServed.add(`${name}/${s.service}`);
      }
    };
    for (let round = 0; round < ROUNDS; round++) {
      await lookAtServed();
      const log: string[] = [];
      const ops = 1 + Math.floor(pick() * 3);
      for (let i = 0; i < ops; i++) void operate(d.client, pick, log);
      const delay = Math.floor(pick() * 2500);
      await new Promise((r) => setTimeout(r, delay)); // the random moment of the kill
      history.push(`round ${round}: ${log.join(', ')}; kill after ${delay} ms`);
      await killAndRestart();
    }
    const context = `seed ${SEED}\n${history.join('\n')}`;
    await reconciled(run, d.instance);

    // No deployment stuck in a non-final status.
    const { deployments } = await d.client.request('deploy/list', { limit: 1000 });
    const stuck = deployments.filter((x) => !['running', 'failed', 'cancelled', 'stopped', 'superseded'].includes(x.status));
    expect(stuck.map((x) => `${x.sandbox}/${x.service} ${x.status}`), context).toEqual([]);

    // No sandbox lost: each is there and, resumed, serves what it records, at that deployment's commit.
    const { sandboxes } = await d.client.request('sandbox/list', {});
    expect(sandboxes.map((s) => s.name).filter((n) => names.includes(n)).sort(), context).toEqual([...names].sort());
    const serving = new Set<string>();
    const served = new Set<string>();
    for (const name of names) {
      const resumed = await d.client.request('sandbox/resume', { name });
      for (const outcome of resumed.services) expect(outcome.healthy, `${name}/${outcome.service}: ${outcome.detail}\n${context}`).toBe(true);
      const sandbox = await d.client.request('sandbox/get', { name });
      for (const s of sandbox.services.filter((x) => x.containerId !== undefined)) {
        serving.add(s.containerId!);
        served.add(`${name}/${s.service}`);
        const deployment = deployments.find((x) => x.id === s.deploymentId);
        expect(deployment?.status, `${name}/${s.service}\n${context}`).toBe('running');
        expect(s.commit).toBe(deployment?.commit);
        const branch = BRANCHES.find((b) => repo.commitOf(b) === s.commit);
        expect(await (await fetch(s.url!)).text(), `${name}/${s.service}\n${context}`).toBe(branch);
      }
    }

    expect([...everServed].filter((s) => !served.has(s)), `services no longer served\n${context}`).toEqual([]);

    // No orphan: every container of this run is one serving, every network one of a sandbox.
    const filters = JSON.stringify({ label: [`${TEST_LABEL}=${run.runId}`] });
    const containers = await docker.listContainers({ all: true, filters });
    expect(containers.map((c) => c.Names[0]).sort(), context).toEqual(
      containers.filter((c) => serving.has(c.Id)).map((c) => c.Names[0]).sort(),
    );
    expect(containers).toHaveLength(serving.size);
    const networks = await docker.listNetworks({ filters });
    expect(networks.map((n) => n.Name).sort(), context).toEqual(names.map((n) => `sandbox-${n}`).sort());

    // The state file is whole.
    await d.client.closeSocket();
    await d.daemon.stop();
    const db = new Database(join(stateDir, 'state.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    d = await startDaemon(env, stateDir);
  }, 240_000);
});
