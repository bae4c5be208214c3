/**
 * The health monitor and what compose services add: a completed job is done, not down (never
 * inspected, probed or restarted); a service with an engine restart policy is restarted by the
 * engine, not by the monitor too; a service without a port is judged by Docker's health
 * status, or by running; a service that is not `http` is probed over TCP even when its health
 * names a path. Real SQLite state, fake Docker and probe.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../../schemas/src/project';
import type { HealthSpec } from '../../../daemon/src/deploy/health-probe';
import { HealthMonitor } from '../../../daemon/src/lifecycle/health-monitor';
import type { ContainerHealthState } from '../../../daemon/src/lifecycle/lifecycle-docker';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { fakeLifecycleDocker } from './fake-lifecycle-docker';

let dir: string;
let store: Store;
let sandboxes: SandboxStore;
let actions: string[];
let probes: { port: number; spec: HealthSpec }[];
let states: Record<string, Omit<ContainerHealthState, 'id' | 'restartCount' | 'exitCode' | 'oomKilled'>>;
let services: Record<string, ServiceConfig>;

const docker = fakeLifecycleDocker({
  stop: (id) => (actions.push(`stop ${id}`), Promise.resolve()),
  start: (id) => (actions.push(`start ${id}`), Promise.resolve()),
  restart: (id) => (actions.push(`restart ${id}`), Promise.resolve()),
  inspect: (id) => {
    actions.push(`inspect ${id}`);
    return Promise.resolve({ id, restartCount: 0, exitCode: 0, oomKilled: false, ...states[id]! });
  },
});

const service = (name: string, extra: Partial<ServiceConfig>): ServiceConfig => ({
  name,
  context: '.',
  build: { kind: 'image', image: 'x' },
  http: false,
  env: {},
  resources: {},
  ...extra,
});

const monitor = () =>
  new HealthMonitor({
    sandboxes,
    docker,
    loadProject: () => ({ services }),
    probe: (port, spec) => (probes.push({ port, spec }), Promise.resolve({ ok: true, detail: 'ok' })),
    policy: { maxRestarts: 5, backoffMs: 0 },
  });

const stateOf = (health: HealthMonitor, svc: string) => health.current(sandboxes.get('qa')!).services.find((s) => s.service === svc);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-health-compose-'));
  store = openStore(path.join(dir, 'state.db'));
  sandboxes = new SandboxStore(store);
  actions = [];
  probes = [];
  states = {};
  services = {};
  sandboxes.insert({ name: 'qa', owner: 'me', repoPath: dir });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the health monitor and compose services', () => {
  it('leaves a completed job alone: its exited container is not inspected, probed or restarted', async () => {
    services.migrate = service('migrate', { job: true });
    sandboxes.recordServing('qa', 'migrate', { deploymentId: 'd1', containerId: 'job1', commit: 'abc', job: true });
    states.job1 = { state: 'exited', running: false };
    const health = monitor();
    await health.checkAll();
    await health.checkAll();
    expect(actions).toEqual([]);
    expect(health.current(sandboxes.get('qa')!).services).toEqual([]);
  });

  it('does not restart a container the engine restarts (restart policy), and says so', async () => {
    services.worker = service('worker', { restart: { name: 'on-failure' } });
    services.plain = service('plain', {});
    sandboxes.recordServing('qa', 'worker', { deploymentId: 'd1', containerId: 'w1', commit: 'abc' });
    sandboxes.recordServing('qa', 'plain', { deploymentId: 'd2', containerId: 'p1', commit: 'abc' });
    states.w1 = { state: 'exited', running: false };
    states.p1 = { state: 'exited', running: false };
    const health = monitor();
    await health.checkAll();
    expect(actions.filter((a) => a.startsWith('restart'))).toEqual(['restart p1']);
    expect(stateOf(health, 'worker')).toMatchObject({ state: 'unhealthy', restartCount: 0, reason: 'the container is exited; the engine restarts it (restart: on-failure)' });
  });

  it('judges a service without a port by Docker health, else by running, without probing', async () => {
    services.cache = service('cache', { healthcheck: { test: ['CMD', 'true'] } });
    services.queue = service('queue', {});
    sandboxes.recordServing('qa', 'cache', { deploymentId: 'd1', containerId: 'c1', commit: 'abc' });
    sandboxes.recordServing('qa', 'queue', { deploymentId: 'd2', containerId: 'q1', commit: 'abc' });
    states.c1 = { state: 'running', running: true, health: 'healthy' };
    states.q1 = { state: 'running', running: true };
    const health = monitor();
    await health.checkAll();
    expect(probes).toEqual([]);
    expect(stateOf(health, 'cache')).toMatchObject({ state: 'healthy', probe: 'Docker reports its health check healthy' });
    expect(stateOf(health, 'queue')).toMatchObject({ state: 'healthy', probe: 'the container is running' });
    states.c1 = { state: 'running', running: true, health: 'unhealthy' };
    await health.checkAll();
    expect(stateOf(health, 'cache')).toMatchObject({ state: 'failing', probe: 'Docker reports its health check unhealthy' });
  });

  it('probes a service that is not http over TCP, an http one by its health path', async () => {
    const timing = { intervalMs: 1000, timeoutMs: 500, retries: 2, startPeriodMs: 0 };
    services.db = service('db', { port: 5432, health: { path: '/ignored', ...timing } });
    services.web = service('web', { port: 8080, http: true, health: { path: '/healthz', ...timing } });
    sandboxes.recordServing('qa', 'db', { deploymentId: 'd1', containerId: 'db1', commit: 'abc', hostPort: 42001 });
    sandboxes.recordServing('qa', 'web', { deploymentId: 'd2', containerId: 'web1', commit: 'abc', hostPort: 42002 });
    states.db1 = { state: 'running', running: true };
    states.web1 = { state: 'running', running: true };
    await monitor().checkAll();
    expect(probes.sort((a, b) => a.port - b.port)).toEqual([
      { port: 42001, spec: timing },
      { port: 42002, spec: { ...timing, path: '/healthz' } },
    ]);
  });
});
