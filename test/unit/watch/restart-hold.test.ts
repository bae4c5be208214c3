/**
 * A sync+restart holds its service for the health monitor from the restart until the service
 * is healthy again, so the monitor does not restart a container the watch is restarting (in
 * the end-to-end run it did, twice, and save → served took 5 s). A real tree watcher, real git
 * and the real project loader over a temporary repository; the container is recorded.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { WatchEvent } from '../../../schemas/src/watch';
import { GitSource } from '../../../daemon/src/deploy/git-source';
import { HeldServices } from '../../../daemon/src/lifecycle/held-services';
import { loadProject } from '../../../daemon/src/project/load';
import { nullLogger } from '../../../daemon/src/runtime/log';
import { Watches } from '../../../daemon/src/watch/watches';

const YAML = `version: 1
project: shop
services:
  api:
    context: api
    port: 8080
    watch:
      - { action: sync+restart, path: api/src, target: /app/src }
`;
const sandbox: Sandbox = {
  name: 'demo',
  state: 'active',
  owner: 'alice',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  network: 'sandbox-demo',
  services: [{ service: 'api', route: 'sandbox', branch: 'main', commit: 'a'.repeat(40), containerId: 'c1', deploymentId: 'd1' }],
  ports: [],
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('HeldServices', () => {
  it('holds a service until each hold is released once', () => {
    const held = new HeldServices();
    const a = held.hold('demo', 'api');
    const b = held.hold('demo', 'api');
    a();
    a();
    expect(held.has('demo', 'api')).toBe(true);
    b();
    expect(held.has('demo', 'api')).toBe(false);
    expect(held.has('demo', 'web')).toBe(false);
  });
});

describe('a watch restarting a service', () => {
  it('holds it for the health monitor while it restarts, and lets go after', async () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-hold-')));
    const work = mkdtempSync(join(tmpdir(), 'bb-hold-work-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }), () => rmSync(work, { recursive: true, force: true }));
    const write = (file: string, text: string) => {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), text);
    };
    execFileSync('git', ['-C', root, 'init', '--quiet'], { env: { ...process.env, HOME: root } });
    write('branchbox.yaml', YAML);
    write('api/src/index.js', 'v1');

    const held = new HeldServices();
    const heldAtRestart: boolean[] = [];
    const events: WatchEvent[] = [];
    const waiters = new Set<() => void>();
    const watches = new Watches({
      docker: {
        writeArchive: async (_ref, _path, tar) => {
          for await (const _ of tar) void _;
        },
        run: async () => ({ exitCode: 0, output: '' }),
        restart: async () => void heldAtRestart.push(held.has('demo', 'api')),
      },
      git: new GitSource(work),
      sandboxes: { get: (name) => (name === 'demo' ? sandbox : undefined), onChange: () => () => undefined, markWorkingTree: () => true },
      loadProject,
      appendLog: () => undefined,
      rebuild: () => Promise.reject(new Error('no rebuild here')),
      onSwitchOver: () => () => undefined,
      restartingOnPurpose: (s, service) => held.hold(s, service),
      log: nullLogger,
      quietMs: 50,
    });
    watches.on('event', (e) => {
      events.push(e);
      for (const w of waiters) w();
    });
    cleanups.push(() => watches.stopAll('the test ended'));
    const next = async (accept: (e: WatchEvent) => boolean) => {
      while (!events.some(accept)) await new Promise<void>((resolve) => waiters.add(() => (waiters.clear(), resolve())));
      return events.find(accept)!;
    };
    await watches.start({ sandbox: 'demo', repoPath: root });
    await next((e) => e.kind === 'sync' && e.initial === true);
    write('api/src/index.js', 'v2');
    expect(await next((e) => e.kind === 'sync' && e.initial !== true)).toMatchObject({ action: 'sync+restart', outcome: 'ok' });
    // The initial sync restarts too (the container then runs the tree): both held.
    expect(heldAtRestart).toEqual([true, true]);
    expect(held.has('demo', 'api')).toBe(false);
  });
});
