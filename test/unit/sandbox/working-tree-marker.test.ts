/**
 * The working-tree marker of a served service (SandboxServiceView.workingTree) in a real
 * SQLite state: set by a deployment with uncommitted changes or a watch's measure, kept across
 * a reopening of the state file, cleared by a deployment of the commit as it is.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SandboxEvent } from '../../../schemas/src/sandbox';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';

let dir: string;
let store: Store;
let clock: Date;
let sandboxes: SandboxStore;
const COMMIT = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);

const serving = (deploymentId: string, commit = COMMIT, changedFiles?: number) => ({
  deploymentId,
  branch: 'feature/x',
  commit,
  containerId: `c-${deploymentId}`,
  hostPort: 41_000,
  ...(changedFiles !== undefined ? { workingTree: { changedFiles } } : {}),
});
const marker = (s = sandboxes) => s.require('demo').services.find((v) => v.service === 'web')!.workingTree;
const at = (iso: string) => (clock = new Date(iso));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-marker-'));
  store = openStore(path.join(dir, 'state.db'));
  at('2026-01-01T10:00:00.000Z');
  sandboxes = new SandboxStore(store, () => clock);
  sandboxes.insert({ name: 'demo', owner: 'alice' });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the working-tree marker', () => {
  it('is absent for a deployment of a commit, and set by one with uncommitted changes', () => {
    sandboxes.recordServing('demo', 'web', serving('d1'));
    expect(marker()).toBeUndefined();
    at('2026-01-01T10:05:00.000Z');
    sandboxes.recordServing('demo', 'web', serving('d2', COMMIT, 3));
    expect(marker()).toEqual({ changedFiles: 3, since: '2026-01-01T10:05:00.000Z', updatedAt: '2026-01-01T10:05:00.000Z' });
  });

  it("a watch's measure sets it, keeps its start, and clears it at 0 changes", () => {
    sandboxes.recordServing('demo', 'web', serving('d1'));
    at('2026-01-01T10:01:00.000Z');
    expect(sandboxes.markWorkingTree('demo', 'web', 'd1', 2)).toBe(true);
    at('2026-01-01T10:02:00.000Z');
    sandboxes.markWorkingTree('demo', 'web', 'd1', 5);
    expect(marker()).toEqual({ changedFiles: 5, since: '2026-01-01T10:01:00.000Z', updatedAt: '2026-01-01T10:02:00.000Z' });
    expect(sandboxes.markWorkingTree('demo', 'web', 'd1', 0)).toBe(true);
    expect(marker()).toBeUndefined();
    // Nothing to clear: no change, no event.
    expect(sandboxes.markWorkingTree('demo', 'web', 'd1', 0)).toBe(false);
  });

  it('is not written for a deployment that no longer serves (another switched over meanwhile)', () => {
    sandboxes.recordServing('demo', 'web', serving('d2'));
    expect(sandboxes.markWorkingTree('demo', 'web', 'd1', 4)).toBe(false);
    expect(marker()).toBeUndefined();
  });

  it('is cleared by a deployment of a commit, kept (with its start) by a rebuild of the same commit with changes', () => {
    sandboxes.recordServing('demo', 'web', serving('d1'));
    sandboxes.markWorkingTree('demo', 'web', 'd1', 2);
    at('2026-01-01T10:03:00.000Z');
    sandboxes.recordServing('demo', 'web', serving('d2', COMMIT, 3));
    expect(marker()).toEqual({ changedFiles: 3, since: '2026-01-01T10:00:00.000Z', updatedAt: '2026-01-01T10:03:00.000Z' });
    at('2026-01-01T10:04:00.000Z');
    sandboxes.recordServing('demo', 'web', serving('d3', OTHER, 1));
    expect(marker()).toEqual({ changedFiles: 1, since: '2026-01-01T10:04:00.000Z', updatedAt: '2026-01-01T10:04:00.000Z' });
    sandboxes.recordServing('demo', 'web', serving('d4', OTHER));
    expect(marker()).toBeUndefined();
  });

  it('goes with the serving record when the container vanished', () => {
    sandboxes.recordServing('demo', 'web', serving('d1', COMMIT, 2));
    sandboxes.clearServing('demo', 'web');
    expect(marker()).toBeUndefined();
  });

  it('survives reopening the state file (a daemon restart)', () => {
    sandboxes.recordServing('demo', 'web', serving('d1'));
    sandboxes.markWorkingTree('demo', 'web', 'd1', 7);
    store.close();
    store = openStore(path.join(dir, 'state.db'));
    expect(marker(new SandboxStore(store))).toEqual({ changedFiles: 7, since: clock.toISOString(), updatedAt: clock.toISOString() });
  });

  it('is announced as an update of the sandbox', async () => {
    sandboxes.recordServing('demo', 'web', serving('d1'));
    const events: SandboxEvent[] = [];
    sandboxes.onChange((e) => events.push(e));
    sandboxes.markWorkingTree('demo', 'web', 'd1', 3);
    await Promise.resolve();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'updated', name: 'demo' });
    expect(events[0]!.sandbox!.services[0]!.workingTree).toMatchObject({ changedFiles: 3 });
  });

  it('refuses a count that is not a count', () => {
    sandboxes.recordServing('demo', 'web', serving('d1'));
    expect(() => sandboxes.markWorkingTree('demo', 'web', 'd1', -1)).toThrow(RangeError);
    expect(() => sandboxes.markWorkingTree('demo', 'web', 'd1', 1.5)).toThrow(RangeError);
  });
});
