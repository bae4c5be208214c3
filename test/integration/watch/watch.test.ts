/**
 * Watch mode end to end: a real branchboxd (dist/), the real Docker engine, a fixture git
 * repository whose `account` service has watch rules — its server.js under sync+restart, its
 * static/ folder under sync (ignoring `*.tmp`), its Dockerfile under rebuild — and serves
 * /static/<file> from the container's /app/static. Files are written in the working tree and
 * read back through the service's published port (and, for ownership, with an exec through
 * the Engine API); every wait is for a `watch/event` item, never a sleep. Everything the daemon
 * creates carries this run's `branchbox.test` label.
 */
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import { deployFinal, endSandboxSuite, failure, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { spawnCli } from '../cli/cli-process';

type WatchEvent = StreamItem<'watch/event'>;

const run = testRun('bbwatch');
const suffix = run.runId.slice(-8);
const env = { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` };
const sandbox = `w${suffix}`;
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
let url: string;
const events: WatchEvent[] = [];
const waiters = new Set<() => void>();

const SERVER = (answer: string) => `const http = require('node:http');
const fs = require('node:fs');
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  if (req.url.startsWith('/static/')) {
    try {
      return res.end(fs.readFileSync('/app/static/' + decodeURIComponent(req.url.slice(8))));
    } catch {
      res.writeHead(404);
      return res.end('missing');
    }
  }
  res.end(${JSON.stringify(answer)});
});
server.listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;

const WATCH_RULES = `    watch:
      - { action: sync+restart, path: services/account/server.js, target: /app/server.js }
      - { action: sync, path: services/account/static, target: /app/static, ignore: ["*.tmp"] }
      - { action: rebuild, path: services/account/Dockerfile }
`;

beforeAll(async () => {
  repo = createFixtureRepo({ project: `watch${suffix}` });
  const yaml = repo.git('show', 'main:branchbox.yaml').replace(/( {2}account:\n(?: {4}.*\n)*)/, `$1${WATCH_RULES}`);
  repo.write('branchbox.yaml', yaml);
  repo.write('services/account/server.js', SERVER('v1'));
  repo.write('services/account/Dockerfile', 'FROM branchbox/node:20\nCOPY . /app\nUSER 1000\nEXPOSE 8080\nCMD ["node", "/app/server.js"]\n');
  repo.write('services/account/.dockerignore', '**/*.secret\n');
  repo.write('services/account/static/a.txt', 'committed a');
  repo.commitAll('account: watch rules, static files');

  daemon = await startTestDaemon({ env });
  client = await daemon.connect('watch-test');
  await client.request('sandbox/create', { name: sandbox });
  const [deployed] = await deployFinal(client, { repoPath: repo.root, sandbox, services: ['account'] });
  expect(deployed!.status).toBe('running');
  url = deployed!.url!;
  await client.subscribe('watch/subscribe', { sandbox }, 'watch/event', {
    onItems: (items) => {
      events.push(...items);
      for (const wake of waiters) wake();
    },
    onEnd: () => undefined,
  });
}, 180_000);

afterAll(() => endSandboxSuite({ client, daemon, sandbox, run, repo }));

/** The first event from `from` on that matches; waits for it (the test's timeout bounds the wait). */
async function next(accept: (e: WatchEvent) => boolean, from: number): Promise<WatchEvent> {
  for (;;) {
    const found = events.slice(from).find(accept);
    if (found) return found;
    await new Promise<void>((resolve) => {
      const wake = () => {
        waiters.delete(wake);
        resolve();
      };
      waiters.add(wake);
    });
  }
}

const synced = (e: WatchEvent) => e.kind === 'sync' && e.service === 'account';
const fileIn = (e: WatchEvent, path: string) => e.files?.some((f) => f.path === path) ?? false;

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Runs a command in the serving container through the Engine API; answers its output. */
async function execIn(cmd: string[]): Promise<string> {
  const serving = (await client.request('sandbox/get', { name: sandbox })).services.find((s) => s.service === 'account')!;
  const exec = await docker.getContainer(serving.containerId!).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  let out = '';
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => ((out += chunk.toString()), done()) });
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.on('end', resolve));
  return out.trim();
}

describe('watch mode', () => {
  it('starts with an initial sync that brings the container up to the working tree', async () => {
    repo.write('services/account/static/a.txt', 'tree a'); // uncommitted: the image has "committed a"
    const from = events.length;
    const watch = await client.request('watch/start', { sandbox, repoPath: repo.root });
    expect(watch.services.map((s) => s.service)).toEqual(['account']);
    expect((await client.request('watch/list', {})).watches.map((w) => w.sandbox)).toEqual([sandbox]);
    const initial = await next((e) => synced(e) && e.initial === true, from);
    expect(initial).toMatchObject({ action: 'sync+restart', outcome: 'ok' });
    expect(fileIn(initial, 'services/account/static/a.txt')).toBe(true);
    expect(fileIn(initial, 'services/account/Dockerfile')).toBe(false); // under rebuild: not synced
    expect(await get('/static/a.txt')).toEqual({ status: 200, body: 'tree a' });
  });

  it('refuses a second watch of the sandbox, and a service without rules', async () => {
    expect((await failure(client.request('watch/start', { sandbox, repoPath: repo.root }))).errorName).toBe('Conflict');
    const other = `w${suffix}-b`;
    await client.request('sandbox/create', { name: other });
    try {
      const e = await failure(client.request('watch/start', { sandbox: other, repoPath: repo.root, services: ['payment'] }));
      expect(e.message).toContain('payment has no watch rules');
    } finally {
      await client.request('sandbox/delete', { name: other });
    }
  });

  it('syncs an edit, a new file, a deletion and a rename under a sync rule', async () => {
    let from = events.length;
    repo.write('services/account/static/a.txt', 'edited a');
    repo.write('services/account/static/new/b.txt', 'new b');
    let e = await next((x) => synced(x) && fileIn(x, 'services/account/static/new/b.txt'), from);
    if (!fileIn(e, 'services/account/static/a.txt')) e = await next((x) => synced(x) && fileIn(x, 'services/account/static/a.txt'), from);
    expect(e).toMatchObject({ action: 'sync', outcome: 'ok' });
    expect(await get('/static/a.txt')).toEqual({ status: 200, body: 'edited a' });
    expect(await get('/static/new/b.txt')).toEqual({ status: 200, body: 'new b' });
    // Written by the daemon: owned by root, readable by the service's user.
    expect(await execIn(['stat', '-c', '%u %a', '/app/static/new/b.txt'])).toBe('0 644');

    from = events.length;
    rmSync(join(repo.root, 'services/account/static/new/b.txt'));
    e = await next((x) => synced(x) && fileIn(x, 'services/account/static/new/b.txt'), from);
    expect(e.files).toContainEqual({ path: 'services/account/static/new/b.txt', change: 'deleted' });
    expect(e.outcome).toBe('ok');
    expect((await get('/static/new/b.txt')).status).toBe(404);

    from = events.length;
    renameSync(join(repo.root, 'services/account/static/a.txt'), join(repo.root, 'services/account/static/c.txt'));
    e = await next((x) => synced(x) && fileIn(x, 'services/account/static/c.txt'), from);
    if (!fileIn(e, 'services/account/static/a.txt')) e = await next((x) => synced(x) && fileIn(x, 'services/account/static/a.txt'), from);
    expect((await get('/static/a.txt')).status).toBe(404);
    expect(await get('/static/c.txt')).toEqual({ status: 200, body: 'edited a' });
  });

  it('sync+restart serves the new code once the restarted container is healthy', async () => {
    const from = events.length;
    repo.write('services/account/server.js', SERVER('v2'));
    const e = await next((x) => synced(x) && fileIn(x, 'services/account/server.js'), from);
    expect(e).toMatchObject({ action: 'sync+restart', outcome: 'ok' });
    expect(await get('/')).toEqual({ status: 200, body: 'v2' });
  });

  it('leaves alone what git, the .dockerignore and the rule ignore', async () => {
    const from = events.length;
    repo.write('services/account/static/debug.log', 'git ignores *.log');
    repo.write('services/account/static/draft.tmp', 'the rule ignores *.tmp');
    repo.write('services/account/static/key.secret', 'the .dockerignore excludes *.secret');
    repo.write('services/account/static/seen.txt', 'seen');
    const e = await next((x) => synced(x) && fileIn(x, 'services/account/static/seen.txt'), from);
    const acted = events.slice(from).flatMap((x) => x.files ?? []).map((f) => f.path);
    expect(acted).not.toContain('services/account/static/debug.log');
    expect(acted).not.toContain('services/account/static/draft.tmp');
    expect(acted).not.toContain('services/account/static/key.secret');
    expect(e.outcome).toBe('ok');
    for (const f of ['debug.log', 'draft.tmp', 'key.secret']) expect((await get(`/static/${f}`)).status).toBe(404);
  });

  it('coalesces a burst of 1 000 file writes into a few syncs', async () => {
    const from = events.length;
    for (let i = 0; i < 1000; i++) repo.write(`services/account/static/burst/f${i}.txt`, `file ${i}`);
    // Written last, so its change comes after every burst file's; listed first in its event (path order).
    const marker = 'services/account/static/burst-done.txt';
    repo.write(marker, 'done');
    const last = await next((x) => synced(x) && fileIn(x, marker), from);
    const syncs = events.slice(from, events.indexOf(last) + 1).filter(synced);
    expect(syncs.every((e) => e.outcome === 'ok')).toBe(true);
    // Every file was acted on (a file of the new folder may be counted twice: with the folder, then on its own).
    expect(syncs.reduce((n, e) => n + (e.fileCount ?? 0), 0)).toBeGreaterThanOrEqual(1001);
    expect(syncs.length).toBeLessThanOrEqual(3);
    expect(await get('/static/burst/f999.txt')).toEqual({ status: 200, body: 'file 999' });
    expect(await get('/static/burst/f0.txt')).toEqual({ status: 200, body: 'file 0' });
  });

  it('rebuild deploys the service again from the working tree', async () => {
    const from = events.length;
    repo.write('services/account/Dockerfile', 'FROM branchbox/node:20\nCOPY . /app\nENV REBUILT=yes\nUSER 1000\nEXPOSE 8080\nCMD ["node", "/app/server.js"]\n');
    const e = await next((x) => synced(x) && x.action === 'rebuild', from);
    expect(e.outcome).toBe('ok');
    const deployment = await client.request('deploy/get', { id: e.deployment! });
    expect(deployment).toMatchObject({ status: 'running', includeUncommitted: true });
    url = deployment.url!;
    expect(await get('/')).toEqual({ status: 200, body: 'v2' }); // the working tree's server.js, built in
    expect(await get('/static/c.txt')).toEqual({ status: 200, body: 'edited a' });
    // Syncs go on into the new container.
    const after = events.length;
    repo.write('services/account/static/after.txt', 'after the rebuild');
    await next((x) => synced(x) && fileIn(x, 'services/account/static/after.txt'), after);
    expect(await get('/static/after.txt')).toEqual({ status: 200, body: 'after the rebuild' });
  }, 120_000);

  it('records each sync in the log of the serving deployment', async () => {
    const serving = (await client.request('sandbox/get', { name: sandbox })).services.find((s) => s.service === 'account')!;
    const { lines } = await client.request('deploy/logs', { id: serving.deploymentId! });
    expect(lines.some((l) => l.source === 'daemon' && /^watch: sync of 1 file\(s\) in \d+ ms$/.test(l.line))).toBe(true);
  });

  it('branchbox dev prints each sync as one line, and Ctrl-C stops the watch', async () => {
    expect(await client.request('watch/stop', { sandbox })).toEqual({ stopped: true });
    const cli = spawnCli(['dev', sandbox, 'account'], { stateDir: daemon.stateDir, cwd: repo.root });
    try {
      await cli.waitForStdout((text) => / account initial sync\+restart \d+ files .* ok$/m.test(text));
      repo.write('services/account/static/cli.txt', 'from the cli test');
      await cli.waitForStdout((text) => / account sync 1 file \(services\/account\/static\/cli\.txt\) \S+ ok$/m.test(text));
      cli.process.kill('SIGINT');
      const exit = await cli.exited;
      expect(exit.code).toBe(130);
      expect(exit.stdout).toContain(`Stopped watching sandbox ${sandbox}`);
      expect((await client.request('watch/list', {})).watches).toEqual([]);
    } finally {
      cli.kill();
    }
    await client.request('watch/start', { sandbox, repoPath: repo.root });
  });

  it('stops when the sandbox is suspended, and says why', async () => {
    const from = events.length;
    await client.request('sandbox/suspend', { name: sandbox });
    const stopped = await next((x) => x.kind === 'stopped', from);
    expect(stopped.reason).toBe('the sandbox is suspended');
    expect((await client.request('watch/list', {})).watches).toEqual([]);
    expect(await client.request('watch/stop', { sandbox })).toEqual({ stopped: false });
  });
});
