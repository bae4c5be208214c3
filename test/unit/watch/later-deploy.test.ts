/**
 * What a deployment switching over in a watched service does to the watch, decided by who asked
 * for it (deploy/requesters.ts): the watch's own rebuild changes nothing; the followed branch's
 * redeploy makes the watch sync the service again; any other stops the watch with the ref@commit
 * it runs now, and cancels the watch's rebuild in flight (it would put the tree back over that
 * deployment). A real tree watcher, real git and the real project loader over a temporary
 * repository; the container and the pipeline are recorded (integration/watch/ runs them for real).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { WatchEvent } from '../../../schemas/src/watch';
import { GitSource } from '../../../daemon/src/deploy/git-source';
import { REQUESTED_BY } from '../../../daemon/src/deploy/requesters';
import { loadProject } from '../../../daemon/src/project/load';
import { nullLogger } from '../../../daemon/src/runtime/log';
import { Watches, type SwitchOver } from '../../../daemon/src/watch/watches';

const COMMIT = '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b';
const YAML = `version: 1
project: shop
services:
  web:
    context: web
    port: 8080
    watch:
      - { action: sync, path: web/static, target: /app/static }
      - { action: rebuild, path: web/Dockerfile }
`;

let root: string;
let work: string;
let watches: Watches;
let switchOver: (d: SwitchOver) => void;
const events: WatchEvent[] = [];
const waiters = new Set<() => void>();
/** The archive uploads into the container, by the paths each tar held. */
let uploads: number;
/** Resolves with the signal that cancels the first rebuild asked for. */
let rebuildAsked: Promise<AbortSignal>;
let askRebuild: (signal: AbortSignal) => void;

const write = (file: string, text: string) => {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
};

const sandbox: Sandbox = {
  name: 'demo',
  state: 'active',
  owner: 'alice',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  network: 'sandbox-demo',
  services: [{ service: 'web', route: 'sandbox', branch: 'main', commit: COMMIT, containerId: 'c1', deploymentId: 'd1' }],
  ports: [],
};

beforeEach(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-later-')));
  work = mkdtempSync(join(tmpdir(), 'bb-later-work-'));
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { env: { ...process.env, HOME: root } });
  git('init', '--quiet');
  write('branchbox.yaml', YAML);
  write('web/Dockerfile', 'FROM scratch\n');
  write('web/static/a.txt', 'a');
  events.length = 0;
  uploads = 0;
  rebuildAsked = new Promise((resolve) => (askRebuild = resolve));
  watches = new Watches({
    docker: {
      writeArchive: async (_ref, _path, tar) => {
        for await (const _ of tar) void _; // read to its end, as the engine does
        uploads++;
      },
      run: async () => ({ exitCode: 0, output: '' }),
      restart: async () => undefined,
    },
    git: new GitSource(work),
    sandboxes: { get: (name) => (name === 'demo' ? sandbox : undefined), onChange: () => () => undefined, markWorkingTree: () => true },
    loadProject,
    appendLog: () => undefined,
    // A rebuild that lasts until it is cancelled.
    rebuild: ({ signal }) => {
      askRebuild(signal);
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ deployment: 'r1', status: 'cancelled' }), { once: true }));
    },
    onSwitchOver: (listener) => {
      switchOver = listener;
      return () => undefined;
    },
    log: nullLogger,
    quietMs: 50,
  });
  watches.on('event', (e) => {
    events.push(e);
    for (const w of waiters) w();
  });
  await watches.start({ sandbox: 'demo', repoPath: root });
  await next((e) => e.kind === 'sync' && e.initial === true, 0);
});

afterEach(async () => {
  await watches.stopAll('the test ended');
  rmSync(root, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** The first event from `from` on that matches; waits for it. */
async function next(accept: (e: WatchEvent) => boolean, from: number): Promise<WatchEvent> {
  for (;;) {
    const found = events.slice(from).find(accept);
    if (found) return found;
    await new Promise<void>((resolve) => {
      const w = () => {
        waiters.delete(w);
        resolve();
      };
      waiters.add(w);
    });
  }
}

/** Changes the Dockerfile; resolves once the watch asked for the rebuild. */
function rebuildInFlight(): Promise<AbortSignal> {
  write('web/Dockerfile', 'FROM scratch\nENV CHANGED=1\n');
  return rebuildAsked;
}

const deployment = (requestedBy: string | undefined, service = 'web'): SwitchOver => ({
  id: 'u1',
  sandbox: 'demo',
  service,
  ref: 'main',
  commit: COMMIT,
  includeUncommitted: false,
  ...(requestedBy !== undefined ? { requestedBy } : {}),
});

describe('a later deployment of a watched service', () => {
  it("by a user stops the watch, saying what runs now, and cancels the watch's rebuild in flight", async () => {
    const signal = await rebuildInFlight();
    const from = events.length;
    switchOver(deployment('vitest'));
    const stopped = await next((e) => e.kind === 'stopped', from);
    expect(stopped.reason).toBe('web was deployed from main@1a2b3c4: the sandbox runs that commit now');
    expect(signal.aborted).toBe(true);
    expect(watches.list()).toEqual([]);
    // The cancelled rebuild is not reported as a failure of the watch.
    expect(events.slice(from).filter((e) => e.kind === 'sync')).toEqual([]);
  });

  it("by the watch itself changes nothing; by the followed branch, syncs the service again; of another service, leaves the watch alone", async () => {
    const uploadsBefore = uploads;
    const from = events.length;
    switchOver(deployment(REQUESTED_BY.watch));
    switchOver(deployment('vitest', 'payment'));
    switchOver(deployment(REQUESTED_BY.follow));
    const resync = await next((e) => e.kind === 'sync' && e.initial === true, from);
    expect(resync).toMatchObject({ service: 'web', action: 'sync', outcome: 'ok', deployment: 'd1' });
    expect(resync.files).toEqual([{ path: 'web/static/a.txt', change: 'changed' }]);
    expect(uploads).toBe(uploadsBefore + 1);
    expect(events.slice(from).some((e) => e.kind === 'stopped')).toBe(false);
    expect(watches.list().map((w) => w.sandbox)).toEqual(['demo']);
  });
});
