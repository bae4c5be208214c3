/**
 * The health a `Sandbox` answer carries (HealthMonitor.withHealth), over a real SQLite state,
 * a fake Docker and a fake probe: none before the first check, with nothing serving, or
 * while the sandbox is not active (and not the stale one of before a suspension after a
 * resume, until the next check); otherwise the last health computed, as `sandbox/health` has it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../../daemon/src/lifecycle/health-monitor';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { fakeLifecycleDocker } from './fake-lifecycle-docker';

let dir: string;
let store: Store;
let sandboxes: SandboxStore;
let probeOk: boolean;

const docker = fakeLifecycleDocker();

const monitor = () =>
  new HealthMonitor({
    sandboxes,
    docker,
    loadProject: () => ({ services: {} }),
    probe: () => Promise.resolve(probeOk ? { ok: true, detail: 'answered 200' } : { ok: false, detail: 'answered 500' }),
    policy: { maxRestarts: 0 },
  });

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-health-'));
  store = openStore(path.join(dir, 'state.db'));
  sandboxes = new SandboxStore(store);
  probeOk = true;
  sandboxes.insert({ name: 'qa', owner: 'me' });
  sandboxes.insert({ name: 'empty', owner: 'me' });
  sandboxes.recordServing('qa', 'account', { deploymentId: 'd1', containerId: 'c1', hostPort: 42001, commit: 'abc' });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HealthMonitor.withHealth', () => {
  it('adds the last health once checked; none before, nor for a sandbox where nothing serves', async () => {
    const health = monitor();
    expect(health.withHealth(sandboxes.require('qa')).health).toBeUndefined();
    await health.checkAll();
    const qa = health.withHealth(sandboxes.require('qa'));
    expect(qa.health).toMatchObject({ sandbox: 'qa', state: 'healthy', services: [{ service: 'account', state: 'healthy', containerId: 'c1' }] });
    expect(qa.health).toEqual(health.current(sandboxes.require('qa')));
    expect(health.withHealth(sandboxes.require('empty')).health).toBeUndefined();

    probeOk = false;
    await health.checkAll();
    const sick = health.withHealth(sandboxes.require('qa')).health!;
    // One failed probe of several allowed: failing, the sandbox degraded.
    expect(sick.state).toBe('degraded');
    expect(sick.services[0]).toMatchObject({ state: 'failing', reason: expect.stringMatching(/answered 500/) });
  });

  it('none while the sandbox is not active, and none after a resume until it is checked again', async () => {
    const health = monitor();
    await health.checkAll();
    sandboxes.update('qa', { state: 'suspended' });
    expect(health.withHealth(sandboxes.require('qa')).health).toBeUndefined();
    await health.checkAll();
    sandboxes.update('qa', { state: 'active' });
    // The last health computed is the suspended one (services stopped): not shown as a verdict.
    expect(health.current(sandboxes.require('qa')).services[0]?.state).toBe('stopped');
    expect(health.withHealth(sandboxes.require('qa')).health).toBeUndefined();
    await health.checkAll();
    expect(health.withHealth(sandboxes.require('qa')).health?.state).toBe('healthy');
  });
});
