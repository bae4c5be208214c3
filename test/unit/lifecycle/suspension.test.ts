/**
 * Suspend and resume over a real SQLite state and a fake Docker: what is stopped, what is
 * kept, what a resume reports for a container that is gone, and the states that refuse.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxContainer } from '../../../daemon/src/lifecycle/lifecycle-docker';
import { SandboxSuspension } from '../../../daemon/src/lifecycle/suspension';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { fakeLifecycleDocker } from './fake-lifecycle-docker';

let dir: string;
let store: Store;
let sandboxes: SandboxStore;
let calls: string[];
let containers: SandboxContainer[];

const docker = fakeLifecycleDocker({
  sandboxContainers: () => Promise.resolve(containers),
  stop: (id) => (calls.push(`stop ${id}`), Promise.resolve()),
  start: (id) => (calls.push(`start ${id}`), Promise.resolve()),
  inspect: (id) =>
    Promise.resolve(containers.some((c) => c.id === id) ? { id, state: 'exited', running: false, restartCount: 0, exitCode: 0, oomKilled: false } : undefined),
});

function suspension() {
  return new SandboxSuspension({
    sandboxes,
    docker,
    cancelInFlight: (sandbox, reason) => (calls.push(`cancel ${sandbox}: ${reason}`), Promise.resolve()),
    loadProject: () => ({ services: {} }),
    waitHealthy: (port) => Promise.resolve({ healthy: true, probes: 1, elapsedMs: 1, last: { ok: true, detail: `port ${port} ok` } }),
  });
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-suspend-'));
  store = openStore(path.join(dir, 'state.db'));
  sandboxes = new SandboxStore(store);
  calls = [];
  containers = [
    { id: 'c1', name: 'sandbox-qa-account', state: 'running', labels: {} },
    { id: 'c2', name: 'old', state: 'exited', labels: {} },
  ];
  sandboxes.insert({ name: 'qa', owner: 'me' });
  sandboxes.recordServing('qa', 'account', { deploymentId: 'd1', containerId: 'c1', hostPort: 42001, commit: 'abc' });
  sandboxes.recordServing('qa', 'payment', { deploymentId: 'd2', containerId: 'gone', hostPort: 42002, commit: 'def' });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SandboxSuspension', () => {
  it('cancels deployments, stops the running containers, keeps the rows', async () => {
    const before = sandboxes.require('qa');
    const { sandbox, stopped } = await suspension().suspend('qa');
    expect(calls).toEqual(['cancel qa: the sandbox is being suspended', 'stop c1']);
    expect(stopped).toBe(1);
    expect(sandbox.state).toBe('suspended');
    expect(sandbox.services).toEqual(before.services);
  });

  it('resumes: starts what exists, reports what is gone, becomes active', async () => {
    const s = suspension();
    await s.suspend('qa');
    calls = [];
    const { sandbox, services } = await s.resume('qa');
    expect(sandbox.state).toBe('active');
    expect(calls).toEqual(['start c1']);
    expect(services).toEqual([
      { service: 'account', containerId: 'c1', hostPort: 42001, commit: 'abc', healthy: true, detail: 'port 42001 ok' },
      { service: 'payment', containerId: 'gone', hostPort: 42002, commit: 'def', healthy: false, detail: 'its container gone no longer exists; deploy the service again' },
    ]);
  });

  it('leaves a completed job exited on resume: starting it would run the job again', async () => {
    containers.push({ id: 'j1', name: 'sandbox-qa-migrate', state: 'exited', labels: {} });
    sandboxes.recordServing('qa', 'migrate', { deploymentId: 'd3', containerId: 'j1', commit: 'abc', job: true });
    const s = suspension();
    await s.suspend('qa');
    calls = [];
    const { services } = await s.resume('qa');
    expect(calls).toEqual(['start c1']);
    expect(services.map((x) => [x.service, x.detail])).toContainEqual(['migrate', 'a job that ran to completion: not run again']);
  });

  it('suspend and resume are idempotent; a deleting sandbox refuses both', async () => {
    const s = suspension();
    expect((await s.resume('qa')).services).toEqual([]);
    await s.suspend('qa');
    expect((await s.suspend('qa')).stopped).toBe(0);
    sandboxes.update('qa', { state: 'deleting' });
    await expect(s.suspend('qa')).rejects.toMatchObject({ errorName: 'Conflict' });
    await expect(s.resume('qa')).rejects.toMatchObject({ errorName: 'Conflict' });
  });

  it('runs requests for one sandbox one at a time', async () => {
    const s = suspension();
    const [a, b] = await Promise.all([s.suspend('qa'), s.resume('qa')]);
    expect(a.sandbox.state).toBe('suspended');
    expect(b.sandbox.state).toBe('active');
  });

  it('resumes in dependency order: each container once those it depends on are started or healthy; a completed job is not run again', async () => {
    const on = (condition: 'service_started' | 'service_healthy' | 'service_completed_successfully') => ({ condition, required: true, restart: false });
    const graph = {
      web: { dependsOn: { api: on('service_started') } },
      api: { dependsOn: { db: on('service_healthy'), migrate: on('service_completed_successfully') } },
      migrate: { job: true, dependsOn: { db: on('service_healthy') } },
      db: {},
    };
    sandboxes.insert({ name: 'shop', owner: 'me', repoPath: '/repo' });
    const ports: Record<string, number> = { web: 43001, api: 43002, migrate: 43003, db: 43004 };
    for (const [service, port] of Object.entries(ports)) {
      sandboxes.recordServing('shop', service, { deploymentId: `d-${service}`, containerId: `c-${service}`, hostPort: port, commit: 'abc' });
      containers.push({ id: `c-${service}`, name: `sandbox-shop_${service}`, state: 'exited', labels: {} });
    }
    sandboxes.update('shop', { state: 'suspended' });
    const healthy = new Map<number, () => void>();
    const s = new SandboxSuspension({
      sandboxes,
      docker,
      cancelInFlight: () => Promise.resolve(),
      loadProject: () => ({ services: graph as never }),
      waitHealthy: (port) =>
        new Promise((resolve) => {
          calls.push(`probe ${port}`);
          healthy.set(port, () => resolve({ healthy: true, probes: 1, elapsedMs: 1, last: { ok: true, detail: `port ${port} ok` } }));
        }),
    });
    const resuming = s.resume('shop');
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    // db first; the others wait for it to be healthy.
    expect(calls).toEqual(['start c-db', 'probe 43004']);
    healthy.get(43004)!();
    await settle();
    // migrate is a job that completed: not started again; api follows db, web follows api's start.
    expect([...calls].sort()).toEqual(['probe 43001', 'probe 43002', 'probe 43004', 'start c-api', 'start c-db', 'start c-web']);
    expect(calls.indexOf('start c-web')).toBeGreaterThan(calls.indexOf('start c-api'));
    healthy.get(43002)!();
    healthy.get(43001)!();
    const { services } = await resuming;
    expect(services.map((x) => [x.service, x.healthy]).sort()).toEqual([['api', true], ['db', true], ['migrate', true], ['web', true]]);
    expect(services.find((x) => x.service === 'migrate')!.detail).toBe('a job that ran to completion: not run again');
  });
});
