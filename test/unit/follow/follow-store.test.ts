/**
 * The follow flag in the real SQLite state: part of the sandbox as clients see it, kept across
 * a reopen of the database (a daemon restart), announced as a change of the sandbox, and gone
 * with the sandbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bb-follow-'));
  store = openStore(join(dir, 'state.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the follow flag', () => {
  it('shows on the sandbox, survives a reopen, and is announced as a change of the sandbox', async () => {
    const sandboxes = new SandboxStore(store, () => new Date('2026-12-07T01:00:00.000Z'));
    sandboxes.insert({ name: 'qa', owner: 'me', repoPath: '/repo' });
    const events: string[] = [];
    sandboxes.onChange((e) => events.push(`${e.kind} ${e.name} ${e.sandbox?.follow ? 'follows' : 'does not follow'}`));
    expect(sandboxes.follows.set('qa', true)).toBe(true);
    expect(sandboxes.follows.set('qa', true)).toBe(false); // already on: `since` kept
    sandboxes.follows.recordRedeploy('qa', { commit: 'c'.repeat(40), branch: 'main', at: '2026-12-07T01:00:01.000Z', deployments: ['d1'] });
    sandboxes.follows.recordOutcome('qa', { account: 'c'.repeat(40) }, { at: '2026-12-07T01:00:02.000Z', message: 'account failed', branch: 'main', commit: 'c'.repeat(40) });
    await Promise.resolve();
    expect(events).toEqual(['updated qa follows']);

    store.close();
    store = openStore(join(dir, 'state.db'));
    const again = new SandboxStore(store);
    expect(again.require('qa').follow).toEqual({
      since: '2026-12-07T01:00:00.000Z',
      lastRedeploy: { commit: 'c'.repeat(40), branch: 'main', at: '2026-12-07T01:00:01.000Z', deployments: ['d1'] },
      lastError: { at: '2026-12-07T01:00:02.000Z', message: 'account failed', branch: 'main', commit: 'c'.repeat(40) },
    });
    expect(again.follows.failedHeads('qa')).toEqual({ account: 'c'.repeat(40) });
    expect(again.follows.followers()).toEqual(['qa']);

    again.follows.recordOutcome('qa', {}, null);
    expect(again.require('qa').follow?.lastError).toBeUndefined();
    expect(again.follows.set('qa', false)).toBe(true);
    expect(again.require('qa').follow).toBeUndefined();
  });

  it('goes with its sandbox', () => {
    const sandboxes = new SandboxStore(store);
    sandboxes.insert({ name: 'qa', owner: 'me' });
    sandboxes.follows.set('qa', true);
    sandboxes.remove('qa');
    expect(sandboxes.follows.followers()).toEqual([]);
    sandboxes.insert({ name: 'qa', owner: 'me' });
    expect(sandboxes.require('qa').follow).toBeUndefined();
  });
});
