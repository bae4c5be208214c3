/**
 * Watch mode as the editor follows it: the watch table fed by `watch/event`, the sandbox row
 * that says it is watched (and the menus that key on it), the status bar toggle, and which
 * events become notifications.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { WatchEvent, WatchView } from '../../../schemas/src/watch';
import { SandboxTreeModel } from '../../../extension/src/sandbox-model';
import { WatchNotices, WatchTable, syncText, watchStatusOf } from '../../../extension/src/watch-logic';
import manifest from '../../../package.json';

vi.mock('vscode', () => ({}));

const T0 = '2026-12-07T01:00:00.000Z';
const view: WatchView = {
  sandbox: 'demo',
  repoPath: '/src/shop',
  services: [{ service: 'account', rules: [{ path: 'services/account', action: 'sync+restart', target: '/app', ignore: [] }] }],
  startedAt: T0,
  syncs: 0,
  failures: 0,
};
const sync = (over: Partial<WatchEvent>): WatchEvent => ({
  kind: 'sync',
  sandbox: 'demo',
  t: T0,
  service: 'account',
  action: 'sync+restart',
  files: [{ path: 'services/account/server.js', change: 'changed' }],
  fileCount: 1,
  durationMs: 640,
  outcome: 'ok',
  ...over,
});
const sandbox: Sandbox = {
  name: 'demo',
  state: 'active',
  owner: 'me',
  createdAt: T0,
  updatedAt: T0,
  network: 'sandbox-demo',
  services: [{ service: 'account', route: 'sandbox', branch: 'feature/x', commit: 'a'.repeat(40), containerId: 'c'.repeat(64), hostPort: 40001 }],
  ports: [],
};

describe('WatchTable', () => {
  it('follows a watch from started through its syncs to stopped, counting failures', () => {
    const table = new WatchTable();
    expect(table.apply([{ kind: 'started', sandbox: 'demo', t: T0, watch: view }])).toBe(true);
    table.apply([sync({}), sync({ outcome: 'failed', error: 'the container of account is not running', t: '2026-12-07T01:00:05.000Z' })]);
    const state = table.get('demo')!;
    expect(state.view).toMatchObject({ syncs: 2, failures: 1, lastSyncAt: '2026-12-07T01:00:05.000Z' });
    expect(state.last?.outcome).toBe('failed');
    // A sync of a watch not known (it began before the list) changes nothing.
    expect(table.apply([sync({ sandbox: 'other' })])).toBe(false);
    table.apply([{ kind: 'stopped', sandbox: 'demo', t: T0, reason: 'watch/stop' }]);
    expect(table.get('demo')).toBeUndefined();
  });
});

describe('the Sandboxes view with a watch', () => {
  it('says "watching" on the row, keeps the active menus (contextValue sandbox.active.watching) and says what is watched', () => {
    const model = new SandboxTreeModel();
    model.replaceSandboxes([sandbox]);
    expect(model.row('sandbox:demo')?.contextValue).toBe('sandbox.active');
    const change = model.applyWatchEvents([{ kind: 'started', sandbox: 'demo', t: T0, watch: view }]);
    expect(change.root || change.rows.has('sandbox:demo')).toBe(true);
    const row = model.row('sandbox:demo')!;
    expect(row.contextValue).toBe('sandbox.active.watching');
    expect(row.description.split(' · ')).toContain('watching');
    expect(row.tooltip.replace(/\\/g, '')).toContain('sync+restart services/account → /app');
    model.applyWatchEvents([{ kind: 'stopped', sandbox: 'demo', t: T0, reason: 'the sandbox is suspended' }]);
    expect(model.row('sandbox:demo')?.contextValue).toBe('sandbox.active');
  });

  it('a following sandbox says so on its row (contextValue sandbox.active.following) and in its tooltip', () => {
    const model = new SandboxTreeModel();
    model.replaceSandboxes([{ ...sandbox, follow: { since: T0, lastRedeploy: { commit: 'b'.repeat(40), branch: 'feature/x', at: T0, deployments: ['d2'] } } }]);
    const row = model.row('sandbox:demo')!;
    expect(row.contextValue).toBe('sandbox.active.following');
    expect(row.description.split(' · ')).toContain('following');
    expect(row.tooltip.replace(/\\/g, '')).toContain('last redeploy feature/x@bbbbbbb');
    model.applyWatchEvents([{ kind: 'started', sandbox: 'demo', t: T0, watch: view }]);
    expect(model.row('sandbox:demo')!.contextValue).toBe('sandbox.active.watching.following');
  });

  it('a service running the working tree reads "feature/x@sha7 + N changed files", and its tooltip says since when', () => {
    const model = new SandboxTreeModel();
    const marked = (changedFiles: number): Sandbox => ({
      ...sandbox,
      services: [{ ...sandbox.services[0]!, workingTree: { changedFiles, since: T0, updatedAt: '2026-12-07T01:02:00.000Z' } }],
    });
    model.replaceSandboxes([sandbox]);
    expect(model.row('service:demo/account')?.description).toContain('feature/x@aaaaaaa');
    expect(model.row('service:demo/account')?.description).not.toContain('changed');
    model.replaceSandboxes([marked(3)]);
    expect(model.row('service:demo/account')?.description).toContain('feature/x@aaaaaaa + 3 changed files');
    expect(model.row('service:demo/account')?.tooltip).toMatch(/Working tree.*3 changed files on top of the commit, since/);
    model.replaceSandboxes([marked(1)]);
    expect(model.row('service:demo/account')?.description).toContain('+ 1 changed file ');
  });

  it('every menu entry for an active sandbox also matches a watched one, and Start/Stop Watching each match one of the two', () => {
    const entries = manifest.contributes.menus['view/item/context'].filter((m) => m.when?.includes('view == branchbox.sandboxes'));
    const matches = (when: string, contextValue: string) => {
      const regex = /viewItem =~ \/(.+)\/$/.exec(when)?.[1] ?? /viewItem =~ \/(.+?)\/ /.exec(when)?.[1];
      if (regex) return new RegExp(regex).test(contextValue);
      const equal = /viewItem == (\S+)/.exec(when)?.[1];
      return equal === undefined || equal === contextValue;
    };
    for (const m of entries.filter((e) => !e.command.startsWith('branchbox.watch.') && !e.command.startsWith('branchbox.follow.'))) {
      for (const flags of ['.watching', '.following', '.watching.following']) {
        expect(matches(m.when, `sandbox.active${flags}`), `${m.command} (${m.when}) on sandbox.active${flags}`).toBe(matches(m.when, 'sandbox.active'));
      }
    }
    const follow = entries.filter((e) => e.command === 'branchbox.follow.start');
    const unfollow = entries.filter((e) => e.command === 'branchbox.follow.stop');
    expect(follow.length * unfollow.length).toBeGreaterThan(0);
    const states = ['sandbox.active', 'sandbox.active.watching', 'sandbox.active.following', 'sandbox.active.watching.following', 'sandbox.suspended.following'];
    for (const m of follow) expect(states.map((v) => matches(m.when, v))).toEqual([true, true, false, false, false]);
    for (const m of unfollow) expect(states.map((v) => matches(m.when, v))).toEqual([false, false, true, true, true]);
    const start = entries.filter((e) => e.command === 'branchbox.watch.start');
    const stop = entries.filter((e) => e.command === 'branchbox.watch.stop');
    expect(start.length).toBeGreaterThan(0);
    for (const m of start) {
      expect(['sandbox.active', 'sandbox.active.following', 'sandbox.active.watching', 'sandbox.active.watching.following', 'sandbox.suspended'].map((v) => matches(m.when, v))).toEqual([true, true, false, false, false]);
    }
    for (const m of stop) expect(['sandbox.active', 'sandbox.active.watching', 'sandbox.active.watching.following'].map((v) => matches(m.when, v))).toEqual([false, true, true]);
  });
});

describe('the status bar toggle', () => {
  it('offers Watch for an active sandbox with a service, says Watching with the last action, warns after a failure', () => {
    expect(watchStatusOf(undefined, false, false, undefined)).toBeUndefined();
    expect(watchStatusOf('demo', false, true, undefined)).toBeUndefined();
    expect(watchStatusOf('demo', true, false, undefined)).toBeUndefined();
    expect(watchStatusOf('demo', true, true, undefined)?.text).toBe('$(eye-closed) Watch');
    const table = new WatchTable();
    table.apply([{ kind: 'started', sandbox: 'demo', t: T0, watch: view }, sync({})]);
    const on = watchStatusOf('demo', true, true, table.get('demo'))!;
    expect(on).toMatchObject({ text: '$(eye) Watching', warning: false });
    expect(on.tooltip).toContain('last: sync+restart of 1 file (account) in 640 ms');
    table.apply([sync({ outcome: 'failed', error: 'account restarted but is not healthy: HTTP 500' })]);
    expect(watchStatusOf('demo', true, true, table.get('demo'))).toMatchObject({ text: '$(eye) Watching $(warning)', warning: true });
  });
});

describe('WatchNotices', () => {
  it('tells a failure once per service and error, again after a success; a stop only when not asked for', () => {
    const notices = new WatchNotices();
    const failed = sync({ outcome: 'failed', error: 'cannot sync into the container of account: no space left', deployment: 'd1' });
    expect(notices.next(failed)).toEqual({
      kind: 'warning',
      sandbox: 'demo',
      text: 'Watch of demo: sync+restart of 1 file (account) failed: cannot sync into the container of account: no space left',
      deployment: 'd1',
    });
    expect(notices.next(failed)).toBeUndefined();
    expect(notices.next(sync({}))).toBeUndefined();
    expect(notices.next(failed)?.kind).toBe('warning');
    expect(notices.next({ kind: 'stopped', sandbox: 'demo', t: T0, reason: 'watch/stop' })).toBeUndefined();
    expect(notices.next({ kind: 'stopped', sandbox: 'demo', t: T0, reason: 'the sandbox is suspended' })).toEqual({
      kind: 'info',
      sandbox: 'demo',
      text: 'Stopped watching demo: the sandbox is suspended.',
    });
    expect(syncText(sync({ initial: true, fileCount: 12, action: 'sync' }))).toBe('initial sync of 12 files (account) in 640 ms');
  });
});
