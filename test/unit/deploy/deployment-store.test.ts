/**
 * Retention of deployment logs on a real SQLite file: the newest deployments of each sandbox
 * and service keep their lines, older finished ones keep their record and one line saying the
 * log was dropped, a running one keeps its log whatever its age.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DeploymentStore } from '../../../daemon/src/deploy/deployment-store';
import type { DeploymentStatus } from '../../../daemon/src/deploy/types';
import { openStore, type Store } from '../../../daemon/src/state/store';

let dir: string;
let store: Store;
let deployments: DeploymentStore;
let clock = Date.parse('2026-01-01T00:00:00Z');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bb-deployments-'));
  store = openStore(join(dir, 'state.db'));
  deployments = new DeploymentStore(store, 3);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A deployment of `sandbox/service` that logged `lines` lines and ended with `status`. */
function deployment(id: string, status: DeploymentStatus, lines = 3, sandbox = 'qa', service = 'api'): string {
  clock += 1000;
  deployments.insert({ id, sandbox, service, repoPath: '/repo', ref: 'main', commit: 'abc', includeUncommitted: false, requestedBy: 'test', createdAt: new Date(clock).toISOString() });
  for (let i = 1; i <= lines; i++) deployments.appendLog(id, 'build', `${id} line ${i}`, new Date(clock));
  deployments.update(id, { status });
  return id;
}

const linesOf = (id: string) => deployments.logs(id).lines.map((l) => l.line);

it('keeps the logs of the newest deployments of each service, and of a running one, dropping older ones with a note', () => {
  const running = deployment('d1', 'running');
  const old = [deployment('d2', 'superseded'), deployment('d3', 'failed'), deployment('d4', 'cancelled')];
  const otherService = deployment('o1', 'stopped', 3, 'qa', 'web');
  const otherSandbox = deployment('s1', 'stopped', 3, 'dev', 'api');
  const newest = [deployment('d5', 'stopped'), deployment('d6', 'failed'), deployment('d7', 'superseded')];

  expect(deployments.finishLog({ id: 'd7', sandbox: 'qa', service: 'api' })).toBe(3);
  expect(linesOf(running)).toEqual(['d1 line 1', 'd1 line 2', 'd1 line 3']);
  for (const id of old) {
    expect(deployments.logs(id).lines).toEqual([
      { seq: 1, t: expect.any(String), source: 'daemon', line: 'Log dropped: Branchbox keeps the logs of the newest 3 deployments of each service.' },
    ]);
    expect(deployments.get(id)).toMatchObject({ id }); // the record stays
  }
  for (const id of [...newest, otherService, otherSandbox]) expect(linesOf(id)).toHaveLength(3);

  // Nothing left to drop: a second finish changes nothing.
  expect(deployments.finishLog({ id: 'd7', sandbox: 'qa', service: 'api' })).toBe(0);
  expect(linesOf('d2')).toHaveLength(1);
});
