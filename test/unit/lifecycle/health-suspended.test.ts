/**
 * The health monitor never starts or restarts the containers of a suspended sandbox: they are
 * stopped on purpose — also when the suspension lands in the middle of a round that found
 * them running, or comes from a previous daemon process (a restarted daemon sees the sandbox
 * suspended with its containers stopped). Real SQLite state, fake Docker and probe.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../../daemon/src/lifecycle/health-monitor';
import type { ContainerHealthState } from '../../../daemon/src/lifecycle/lifecycle-docker';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { fakeLifecycleDocker } from './fake-lifecycle-docker';

let dir: string;
let store: Store;
let sandboxes: SandboxStore;
let actions: string[];
/** What inspect answers; `onInspect` runs first (to suspend mid-round). */
let running: boolean;
let onInspect: () => void;

const docker = fakeLifecycleDocker({
  stop: (id) => (actions.push(`stop ${id}`), Promise.resolve()),
  start: (id) => (actions.push(`start ${id}`), Promise.resolve()),
  restart: (id) => (actions.push(`restart ${id}`), Promise.resolve()),
  inspect: (id): Promise<ContainerHealthState> => {
    onInspect();
    return Promise.resolve({ id, state: running ? 'running' : 'exited', running, restartCount: 0, exitCode: running ? 0 : 143, oomKilled: false });
  },
});

const monitor = () =>
  new HealthMonitor({
    sandboxes,
    docker,
    loadProject: () => ({ services: {} }),
    probe: () => Promise.resolve({ ok: false, detail: 'connection refused' }),
    policy: { maxRestarts: 5, backoffMs: 0 },
  });

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-health-susp-'));
  store = openStore(path.join(dir, 'state.db'));
  sandboxes = new SandboxStore(store);
  actions = [];
  running = false;
  onInspect = () => undefined;
  sandboxes.insert({ name: 'qa', owner: 'me' });
  sandboxes.recordServing('qa', 'account', { deploymentId: 'd1', containerId: 'c1', hostPort: 42001, commit: 'abc' });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the health monitor and a suspended sandbox', () => {
  it('restarts a stopped container of an active sandbox, never one of a suspended sandbox', async () => {
    const health = monitor();
    await health.checkAll();
    expect(actions).toEqual(['restart c1']);
    actions = [];
    sandboxes.update('qa', { state: 'suspended' });
    for (let i = 0; i < 3; i++) await health.checkAll();
    sandboxes.update('qa', { state: 'expired' });
    await health.checkAll();
    expect(actions).toEqual([]);
  });

  it('does not undo a suspension that lands while a round is checking the sandbox', async () => {
    const health = monitor();
    onInspect = () => sandboxes.update('qa', { state: 'suspended' });
    await health.checkAll();
    expect(actions).toEqual([]);
  });

  it('a daemon started on a suspended sandbox leaves its stopped containers stopped', async () => {
    sandboxes.update('qa', { state: 'suspended' });
    const health = monitor();
    for (let i = 0; i < 3; i++) await health.checkAll();
    expect(actions).toEqual([]);
  });
});
