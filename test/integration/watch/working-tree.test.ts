/**
 * What a watch leaves in the sandbox and what a later deploy does to it, end to end: a real
 * branchboxd (dist/), the real Docker engine, a fixture repository whose `account` service
 * syncs services/account/static to /app/static (served as /static/<file>), restarts on
 * server.js and rebuilds on its Dockerfile.
 *
 * - the working-tree marker: how many files of the context differ from the deployed commit,
 *   after a sync, kept across a daemon restart; cleared by a deploy of the commit;
 * - an empty folder created under a sync rule is created in the container;
 * - a synced file is replaced whole: a reader meets the old or the new version, never neither;
 * - a change of the context's .dockerignore is read by the running watch;
 * - the watch's rebuild is refused past the sandbox's resource limits, as deploy/start is;
 * - a redeploy by the follow (sandbox/follow, then a commit) keeps the watch and syncs again; any
 *   other deploy stops it, naming the service and ref@commit — a client calling itself by the
 *   follow's name too.
 *
 * Every wait is for an event (watch/event, sandbox/event), never a sleep; the expected counts
 * come from `git status`, not from the code under test.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import type { Sandbox } from '../../../schemas/src/sandbox';
import { REQUESTED_BY } from '../../../daemon/src/deploy/requesters';
import { deployFinal, endSandboxSuite, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';

type WatchEvent = StreamItem<'watch/event'>;

const run = testRun('bbwtree');
const suffix = run.runId.slice(-8);
const env = { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` };
const sandbox = `t${suffix}`;
const STATIC = 'services/account/static';
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
const watchEvents: WatchEvent[] = [];
let sandboxEvents = 0;
const waiters = new Set<() => void>();

const SERVER = `const http = require('node:http');
const fs = require('node:fs');
http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  if (req.url.startsWith('/static/')) {
    try {
      return res.end(fs.readFileSync('/app/static/' + decodeURIComponent(req.url.slice(8))));
    } catch {
      res.writeHead(404);
      return res.end('missing');
    }
  }
  res.end('account');
}).listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;

const WATCH_RULES = `    watch:
      - { action: sync+restart, path: services/account/server.js, target: /app/server.js }
      - { action: sync, path: ${STATIC}, target: /app/static }
      - { action: rebuild, path: services/account/Dockerfile }
`;
const DOCKERFILE = 'FROM branchbox/node:20\nCOPY . /app\nUSER 1000\nEXPOSE 8080\nCMD ["node", "/app/server.js"]\n';

const wake = () => {
  for (const w of waiters) w();
};

/** Resolves at the next event of either stream. */
const nextEvent = () =>
  new Promise<void>((resolve) => {
    const w = () => {
      waiters.delete(w);
      resolve();
    };
    waiters.add(w);
  });

async function connect(): Promise<TestClient> {
  const c = await daemon.connect('working-tree-test');
  await c.subscribe('watch/subscribe', { sandbox }, 'watch/event', {
    onItems: (items) => {
      watchEvents.push(...items);
      wake();
    },
    onEnd: () => undefined,
  });
  await c.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
    onItems: (items) => {
      sandboxEvents += items.filter((e) => e.name === sandbox).length;
      wake();
    },
    onEnd: () => undefined,
  });
  return c;
}

beforeAll(async () => {
  repo = createFixtureRepo({ project: `wtree${suffix}` });
  const yaml = repo.git('show', 'main:branchbox.yaml').replace(/( {2}account:\n(?: {4}.*\n)*)/, `$1${WATCH_RULES}`);
  repo.write('branchbox.yaml', yaml);
  repo.write('services/account/server.js', SERVER);
  repo.write('services/account/Dockerfile', DOCKERFILE);
  repo.write('services/account/.dockerignore', '**/*.secret\n');
  repo.write(`${STATIC}/a.txt`, 'committed a');
  repo.commitAll('account: watch rules, static files');

  daemon = await startTestDaemon({ env });
  client = await connect();
  await client.request('sandbox/create', { name: sandbox });
  const [deployed] = await deployFinal(client, { repoPath: repo.root, sandbox, services: ['account'] });
  expect(deployed!.status).toBe('running');
}, 180_000);

afterAll(() => endSandboxSuite({ client, daemon, sandbox, run, repo }));

/** The first watch event from `from` on that matches; waits for it. */
async function nextWatch(accept: (e: WatchEvent) => boolean, from: number): Promise<WatchEvent> {
  for (;;) {
    const found = watchEvents.slice(from).find(accept);
    if (found) return found;
    await nextEvent();
  }
}

/** The sandbox once `accept` holds of it; read again after each of its sandbox/event items. */
async function sandboxWhen(accept: (s: Sandbox) => boolean): Promise<Sandbox> {
  for (;;) {
    const seen = sandboxEvents;
    const s = await client.request('sandbox/get', { name: sandbox });
    if (accept(s)) return s;
    while (sandboxEvents === seen) await nextEvent();
  }
}

const account = (s: Sandbox) => s.services.find((v) => v.service === 'account')!;
const synced = (e: WatchEvent) => e.kind === 'sync' && e.service === 'account';
const fileIn = (e: WatchEvent, path: string) => e.files?.some((f) => f.path === path) ?? false;

/** Files of the account context that differ from HEAD, as `git status` lists them (untracked files one by one). */
function changedPerGit(): number {
  return repo.git('status', '--porcelain', '--untracked-files=all', '--', 'services/account').split('\n').filter(Boolean).length;
}

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${account(await client.request('sandbox/get', { name: sandbox })).url}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Runs a command in the serving container through the Engine API; answers its output. */
async function execIn(cmd: string[]): Promise<string> {
  const serving = account(await client.request('sandbox/get', { name: sandbox }));
  const exec = await docker.getContainer(serving.containerId!).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  let out = '';
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => ((out += chunk.toString()), done()) });
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.on('end', resolve));
  return out.trim();
}

describe('the working tree a sandbox runs', () => {
  it('is marked after a sync with the files that differ from the commit, and the mark survives a daemon restart', async () => {
    repo.write(`${STATIC}/a.txt`, 'tree a'); // tracked, modified
    repo.write(`${STATIC}/new.txt`, 'untracked'); // untracked
    repo.write(`${STATIC}/debug.log`, 'ignored by git'); // not counted
    expect(changedPerGit()).toBe(2);
    expect(account(await client.request('sandbox/get', { name: sandbox })).workingTree).toBeUndefined();
    const from = watchEvents.length;
    await client.request('watch/start', { sandbox, repoPath: repo.root });
    expect(await nextWatch((e) => synced(e) && e.initial === true, from)).toMatchObject({ outcome: 'ok' });
    const marked = account(await sandboxWhen((s) => account(s).workingTree !== undefined));
    expect(marked.workingTree).toMatchObject({ changedFiles: 2 });
    expect(Date.parse(marked.workingTree!.since)).toBeLessThanOrEqual(Date.parse(marked.workingTree!.updatedAt));
    expect(account(await client.request('sandbox/get', { name: sandbox })).workingTree).toEqual(marked.workingTree);

    // A new daemon on the same state: the container still holds the synced files, the sandbox still says so.
    await client.closeSocket();
    await daemon.stop();
    daemon = await startTestDaemon({ env, stateDir: daemon.stateDir });
    client = await connect();
    const after = account(await client.request('sandbox/get', { name: sandbox }));
    expect(after.workingTree).toEqual(marked.workingTree);
    expect(after.containerId).toBe(marked.containerId);
    expect(await get('/static/new.txt')).toEqual({ status: 200, body: 'untracked' });

    const again = watchEvents.length;
    await client.request('watch/start', { sandbox, repoPath: repo.root });
    await nextWatch((e) => synced(e) && e.initial === true, again);
  }, 120_000);

  it('creates an empty folder made under a sync rule in the container', async () => {
    const from = watchEvents.length;
    mkdirSync(join(repo.root, STATIC, 'empty/inner'), { recursive: true });
    // Written after the folders: its change comes with theirs or after it.
    repo.write(`${STATIC}/after-empty.txt`, 'after');
    const last = await nextWatch((e) => synced(e) && fileIn(e, `${STATIC}/after-empty.txt`), from);
    const acted = watchEvents.slice(from, watchEvents.indexOf(last) + 1).filter(synced);
    expect(acted.every((e) => e.outcome === 'ok')).toBe(true);
    expect(acted.some((e) => fileIn(e, `${STATIC}/empty`) || fileIn(e, `${STATIC}/empty/inner`))).toBe(true);
    expect(await execIn(['sh', '-c', 'test -d /app/static/empty/inner && stat -c "%u %a" /app/static/empty/inner'])).toBe('0 755');
  });

  it('never lets a reader see a synced file missing or half written', async () => {
    const url = `${account(await client.request('sandbox/get', { name: sandbox })).url}/static/big.txt`;
    const SIZE = 512 * 1024;
    const content = (c: string) => c.repeat(SIZE);
    let from = watchEvents.length;
    repo.write(`${STATIC}/big.txt`, content('A'));
    await nextWatch((e) => synced(e) && fileIn(e, `${STATIC}/big.txt`), from);
    // Readers ask all along while the file is synced over and over: each answer is one whole version.
    const torn: string[] = [];
    let reads = 0;
    let reading = true;
    const reader = async () => {
      while (reading) {
        const res = await fetch(url);
        const body = await res.text();
        reads++;
        if (res.status !== 200 || body.length !== SIZE || body !== body[0]!.repeat(SIZE)) torn.push(`${res.status} ${body.length} bytes`);
      }
    };
    const readers = Array.from({ length: 4 }, reader);
    try {
      for (const c of 'BCDEFG') {
        from = watchEvents.length;
        repo.write(`${STATIC}/big.txt`, content(c));
        expect(await nextWatch((e) => synced(e) && fileIn(e, `${STATIC}/big.txt`), from)).toMatchObject({ outcome: 'ok' });
      }
    } finally {
      reading = false;
      await Promise.all(readers);
    }
    expect(reads).toBeGreaterThan(6);
    expect(torn).toEqual([]);
    expect(await get('/static/big.txt')).toEqual({ status: 200, body: content('G') });
    // No staging folder is left behind.
    expect(await execIn(['sh', '-c', 'ls -d /.branchbox-sync-* 2>/dev/null | wc -l'])).toBe('0');
  }, 120_000);

  it('reads the context\'s .dockerignore again when it changes', async () => {
    let from = watchEvents.length;
    repo.write('services/account/.dockerignore', '**/*.secret\n**/*.draft\n');
    repo.write(`${STATIC}/x.draft`, 'excluded now');
    repo.write(`${STATIC}/y.txt`, 'synced');
    await nextWatch((e) => synced(e) && fileIn(e, `${STATIC}/y.txt`), from);
    expect(watchEvents.slice(from).some((e) => fileIn(e, `${STATIC}/x.draft`))).toBe(false);
    expect((await get('/static/x.draft')).status).toBe(404);
    expect(await get('/static/y.txt')).toEqual({ status: 200, body: 'synced' });

    // And back: without the pattern, the draft's next change is synced.
    from = watchEvents.length;
    repo.write('services/account/.dockerignore', '**/*.secret\n');
    repo.write(`${STATIC}/x.draft`, 'synced now');
    await nextWatch((e) => synced(e) && fileIn(e, `${STATIC}/x.draft`), from);
    expect(await get('/static/x.draft')).toEqual({ status: 200, body: 'synced now' });
  });

  it('refuses the watch\'s rebuild past the sandbox\'s resource limits, as deploy/start does', async () => {
    const before = (await client.request('deploy/list', { sandbox })).deployments.length;
    await client.request('sandbox/update', { name: sandbox, resources: { memoryBytes: 64 * 2 ** 20 } }); // the service asks 128m
    try {
      let from = watchEvents.length;
      repo.write('services/account/Dockerfile', DOCKERFILE.replace('USER 1000', 'ENV GATED=yes\nUSER 1000'));
      const e = await nextWatch((x) => synced(x) && x.action === 'rebuild', from);
      expect(e.outcome).toBe('failed');
      expect(e.error).toMatch(/Service account asks for 128 MiB, above the limit of sandbox .* per container \(64 MiB\)/);
      expect((await client.request('deploy/list', { sandbox })).deployments).toHaveLength(before);
      // The Dockerfile back as committed, refused alike while the limit holds: nothing left to rebuild.
      from = watchEvents.length;
      repo.write('services/account/Dockerfile', DOCKERFILE);
      expect(await nextWatch((x) => synced(x) && x.action === 'rebuild', from)).toMatchObject({ outcome: 'failed' });
    } finally {
      await client.request('sandbox/update', { name: sandbox, resources: null });
    }
  });

  it('keeps watching through a deploy of the followed branch, and syncs the new container again', async () => {
    await client.request('sandbox/follow', { sandbox, follow: true });
    try {
      // The branch moves by one file; the rest of the tree stays uncommitted. The follow redeploys it.
      const serving = account(await client.request('sandbox/get', { name: sandbox })).deploymentId;
      const from = watchEvents.length;
      repo.write(`${STATIC}/b.txt`, 'committed b');
      repo.git('add', '--', `${STATIC}/b.txt`);
      repo.git('commit', '--quiet', '--no-verify', '-m', 'account: b');
      const head = repo.commitOf('HEAD');
      const resync = await nextWatch((e) => synced(e) && e.initial === true && e.deployment !== undefined && e.deployment !== serving, from);
      expect(resync.outcome).toBe('ok');
      const deployed = await client.request('deploy/get', { id: resync.deployment! });
      expect(deployed).toMatchObject({ status: 'running', commit: head, requestedBy: REQUESTED_BY.follow });
      expect(watchEvents.slice(from).some((e) => e.kind === 'stopped')).toBe(false);
      expect((await client.request('watch/list', { sandbox })).watches).toHaveLength(1);
      // The new container holds the tree again, not only the commit.
      expect(await get('/static/a.txt')).toEqual({ status: 200, body: 'tree a' });
      expect(await get('/static/b.txt')).toEqual({ status: 200, body: 'committed b' });
      const expected = changedPerGit();
      expect(expected).toBeGreaterThan(0);
      const s = await sandboxWhen((x) => account(x).deploymentId === deployed.id && account(x).workingTree?.changedFiles === expected);
      expect(account(s).commit).toBe(head);
    } finally {
      await client.request('sandbox/follow', { sandbox, follow: false });
    }
  }, 120_000);

  it('stops on a deploy of a commit, which clears the mark, saying what runs now — also from a client that names itself as the follow', async () => {
    const from = watchEvents.length;
    const head = repo.commitOf('HEAD');
    // A client may call itself anything: one named as the daemon's follow is recorded as a client, and the watch stops.
    const impostor = await daemon.connect(REQUESTED_BY.follow);
    let deployed;
    try {
      [deployed] = await deployFinal(impostor, { repoPath: repo.root, sandbox, services: ['account'] });
    } finally {
      await impostor.closeSocket();
    }
    expect(deployed).toMatchObject({ status: 'running', requestedBy: `client ${JSON.stringify(REQUESTED_BY.follow)}` });
    const stopped = await nextWatch((e) => e.kind === 'stopped', from);
    expect(stopped.reason).toBe(`account was deployed from main@${head.slice(0, 7)}: the sandbox runs that commit now`);
    expect((await client.request('watch/list', { sandbox })).watches).toEqual([]);
    const s = account(await client.request('sandbox/get', { name: sandbox }));
    expect(s.deploymentId).toBe(deployed!.id);
    expect(s.workingTree).toBeUndefined();
    expect(await get('/static/a.txt')).toEqual({ status: 200, body: 'committed a' });
  }, 120_000);

  it('marks a deploy with includeUncommitted with the files it carries', async () => {
    const [deployed] = await deployFinal(client, { repoPath: repo.root, sandbox, services: ['account'], includeUncommitted: true });
    expect(deployed!.status).toBe('running');
    const s = account(await client.request('sandbox/get', { name: sandbox }));
    expect(s.deploymentId).toBe(deployed!.id);
    expect(s.workingTree).toMatchObject({ changedFiles: changedPerGit() });
  }, 120_000);
});
