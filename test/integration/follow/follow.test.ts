/**
 * Follow end to end: a real branchboxd (dist/), the real Docker engine and a fixture git
 * repository. Sandbox `f…` serves `account` from `main` and follows it; commits, an amend, a
 * reset, a commit on another branch and a broken build are made with git in the repository,
 * and the served answer is read back through the service's published port and the sandbox's
 * gateway. A witness sandbox serving `feature/x` follows too: its checks prove a ref change was
 * seen where nothing must happen. Every wait is for a `sandbox/event` item, never a sleep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result, StreamItem } from '../../../schemas/src/index';
import { REQUESTED_BY } from '../../../daemon/src/deploy/requesters';
import { deployFinal, failure, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { runCli } from '../cli/cli-process';

type Sandbox = Result<'sandbox/get'>;
type SandboxEvent = StreamItem<'sandbox/event'>;

const run = testRun('bbfollow');
const suffix = run.runId.slice(-8);
const env = { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` };
const sandbox = `f${suffix}`;
const witness = `fw${suffix}`;
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
/** The newest state of each sandbox, from sandbox/get and then sandbox/event. */
const latest = new Map<string, Sandbox>();
const waiters = new Set<() => void>();

const SERVER = 'services/account/server.js';
const DOCKERFILE = 'services/account/Dockerfile';

async function connect(): Promise<void> {
  client = await daemon.connect('follow-test');
  await client.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
    onItems: (items: SandboxEvent[]) => {
      for (const e of items) if (e.sandbox) latest.set(e.name, e.sandbox);
      for (const wake of waiters) wake();
    },
    onEnd: () => undefined,
  });
  for (const name of [sandbox, witness]) {
    const s = await client.request('sandbox/get', { name }).catch(() => undefined);
    if (s) latest.set(name, s);
  }
}

/** The sandbox once `accept` holds for it; waits for sandbox events (the test's timeout bounds the wait). */
async function until(name: string, accept: (s: Sandbox) => boolean): Promise<Sandbox> {
  for (;;) {
    const s = latest.get(name);
    if (s && accept(s)) return s;
    await new Promise<void>((resolve) => {
      const wake = () => {
        waiters.delete(wake);
        resolve();
      };
      waiters.add(wake);
    });
  }
}

const account = (s: Sandbox) => s.services.find((v) => v.service === 'account')!;
const servesAt = (commit: string) => (s: Sandbox) => account(s).commit === commit;
/** A check of the sandbox's heads made at or after `t` (an ISO time). */
const checkedSince = (t: string) => (s: Sandbox) => s.follow?.lastCheckAt !== undefined && s.follow.lastCheckAt >= t;

/** Commits, on the branch checked out, an account server answering `answer`; answers the commit. */
function commitAnswer(answer: string): string {
  const server = repo.git('show', `main:${SERVER}`).replace(/res\.end\("[^"]*"\);\n\}\);/, `res.end(${JSON.stringify(answer)});\n});`);
  repo.write(SERVER, server);
  return repo.commitAll(`account answers ${answer}`);
}

async function answers(s: Sandbox): Promise<{ direct: string; gateway: string }> {
  const info = await client.request('gateway/info', { sandbox: s.name });
  const gateway = info.sandboxes[0]!.gateway!.url;
  return {
    direct: await (await fetch(account(s).url!)).text(),
    gateway: await (await fetch(`${gateway}/account`)).text(),
  };
}

async function deploymentsOf(name: string): Promise<Result<'deploy/list'>['deployments']> {
  return (await client.request('deploy/list', { sandbox: name })).deployments;
}

beforeAll(async () => {
  repo = createFixtureRepo({ project: `follow${suffix}` });
  daemon = await startTestDaemon({ env });
  await connect();
  await client.request('sandbox/create', { name: sandbox });
  await client.request('sandbox/create', { name: witness });
  const [main] = await deployFinal(client, { repoPath: repo.root, sandbox, services: ['account'], ref: 'main' });
  const [feature] = await deployFinal(client, { repoPath: repo.root, sandbox: witness, services: ['account'], ref: 'feature/x' });
  expect([main!.status, feature!.status]).toEqual(['running', 'running']);
  await until(sandbox, servesAt(repo.commitOf('main')));
}, 240_000);

afterAll(async () => {
  for (const name of [sandbox, witness, `fe${suffix}`]) await client?.request('sandbox/delete', { name }).catch(() => undefined);
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
  repo?.dispose();
});

describe('follow', () => {
  it('answers clear errors for an unknown sandbox, one with nothing deployed from a branch, and a path outside a repository', async () => {
    expect((await failure(client.request('sandbox/follow', { sandbox: `nope${suffix}`, follow: true }))).errorName).toBe('SandboxNotFound');
    await client.request('sandbox/create', { name: `fe${suffix}` });
    const empty = await failure(client.request('sandbox/follow', { sandbox: `fe${suffix}`, follow: true }));
    expect(empty.errorName).toBe('Conflict');
    expect(empty.message).toMatch(/no repository to follow/);
    expect((await failure(client.request('follow/check', { repoPath: 'relative/path' }))).errorName).toBe('FileNotFound');
    expect((await client.request('sandbox/get', { name: sandbox })).follow).toBeUndefined();
  });

  it('redeploys the service at the new head when its branch gets a commit, served directly and through the gateway', async () => {
    const on = await client.request('sandbox/follow', { sandbox, follow: true });
    expect(on.follow?.since).toBeDefined();
    const v2 = commitAnswer('v2');
    const s = await until(sandbox, servesAt(v2));
    expect(await answers(s)).toEqual({ direct: 'v2', gateway: 'v2' });
    expect(s.follow?.lastRedeploy).toMatchObject({ branch: 'main', commit: v2 });
    const [deployment] = s.follow!.lastRedeploy!.deployments;
    expect(await client.request('deploy/get', { id: deployment! })).toMatchObject({ requestedBy: REQUESTED_BY.follow, status: 'running', commit: v2 });
    const audit = await client.request('audit/list', { method: 'sandbox/follow', target: sandbox });
    expect(audit.entries[0]).toMatchObject({ outcome: 'ok', detail: { follow: true } });
  }, 120_000);

  it('does nothing for a commit on another branch', async () => {
    const before = await client.request('sandbox/get', { name: sandbox });
    const deployments = (await deploymentsOf(sandbox)).length;
    const t = new Date().toISOString();
    repo.checkout('broken-health');
    repo.write('notes.txt', 'another branch\n');
    repo.commitAll('a commit on broken-health');
    repo.checkout('main');
    await until(sandbox, checkedSince(t));
    expect(account(await client.request('sandbox/get', { name: sandbox })).commit).toBe(account(before).commit);
    expect((await deploymentsOf(sandbox)).length).toBe(deployments);
  }, 60_000);

  it('follows an amend and a reset of the branch', async () => {
    repo.git('commit', '--quiet', '--amend', '-m', 'account answers v2, amended');
    const amended = repo.commitOf('main');
    await until(sandbox, servesAt(amended));
    repo.git('reset', '--quiet', '--hard', 'HEAD~1');
    const reset = repo.commitOf('main');
    const s = await until(sandbox, servesAt(reset));
    expect(await answers(s)).toEqual({ direct: 'main', gateway: 'main' });
  }, 120_000);

  it('acts at once on follow/check', async () => {
    const v3 = commitAnswer('v3');
    // Called right after the commit, usually ahead of the ref watcher's quiet period; when the
    // watcher was first (a loaded machine), the check finds that redeploy under way instead.
    const { started } = await client.request('follow/check', { repoPath: `${repo.root}/services` });
    for (const d of started) expect(d).toEqual({ sandbox, service: 'account', deploymentId: expect.any(String), branch: 'main', commit: v3, status: 'started' });
    const atV3 = (await deploymentsOf(sandbox)).filter((d) => d.commit === v3 && d.requestedBy === REQUESTED_BY.follow);
    expect(atV3.length).toBe(1); // under way (or done) when the check answered
    await until(sandbox, servesAt(v3));
    expect((await client.request('follow/check', { repoPath: repo.root })).started).toEqual([]); // idempotent
  }, 120_000);

  it('does not retry a head whose redeploy failed, until the branch moves again', async () => {
    const served = repo.commitOf('main');
    const dockerfile = repo.git('show', `main:${DOCKERFILE}`);
    repo.write(DOCKERFILE, dockerfile.replace('USER 1000', 'RUN false\nUSER 1000'));
    const broken = repo.commitAll('account: a build that fails');
    const failed = await until(sandbox, (s) => s.follow?.lastError?.commit === broken);
    expect(failed.follow!.lastError!.message).toMatch(/account failed at .*not redeployed again until main moves/);
    expect(account(failed).commit).toBe(served);
    const deployments = (await deploymentsOf(sandbox)).length;
    expect((await client.request('follow/check', { repoPath: repo.root })).started).toEqual([]);
    expect((await deploymentsOf(sandbox)).length).toBe(deployments);

    repo.write(DOCKERFILE, dockerfile);
    const fixed = repo.commitAll('account: the build fixed');
    // Cleared once the redeploy of the fixed head has ended well.
    await until(sandbox, (s) => servesAt(fixed)(s) && s.follow?.lastError === undefined);
  }, 180_000);

  it('stops redeploying once turned off', async () => {
    await client.request('sandbox/follow', { sandbox: witness, follow: true });
    await until(witness, (s) => s.follow?.lastCheckAt !== undefined); // the check of turning it on
    const off = await client.request('sandbox/follow', { sandbox, follow: false });
    expect(off.follow).toBeUndefined();
    const served = account(off).commit;
    const t = new Date().toISOString();
    commitAnswer('while off');
    // The witness follows the same repository: its check proves the ref change was seen.
    await until(witness, checkedSince(t));
    expect(account(await client.request('sandbox/get', { name: sandbox })).commit).toBe(served);
    expect(account(await client.request('sandbox/get', { name: witness })).branch).toBe('feature/x');
  }, 60_000);

  it('leaves a suspended sandbox alone and catches it up when it resumes', async () => {
    await client.request('sandbox/follow', { sandbox, follow: true });
    await until(sandbox, servesAt(repo.commitOf('main'))); // the commit made while off, caught up when turned on
    const suspended = await client.request('sandbox/suspend', { name: sandbox });
    const served = account(suspended.sandbox).commit;
    const t = new Date().toISOString();
    const moved = commitAnswer('while suspended');
    await until(witness, checkedSince(t));
    expect(account(await client.request('sandbox/get', { name: sandbox })).commit).toBe(served);
    await client.request('sandbox/resume', { name: sandbox });
    const s = await until(sandbox, servesAt(moved));
    expect(await answers(s)).toEqual({ direct: 'while suspended', gateway: 'while suspended' });
  }, 180_000);

  it('is turned on and off, and shown, by the CLI', async () => {
    const off = await runCli(['follow', witness, '--off'], { stateDir: daemon.stateDir });
    expect(off).toMatchObject({ code: 0, stdout: `Sandbox ${witness} no longer follows its branches\n` });
    const on = await runCli(['follow', witness], { stateDir: daemon.stateDir });
    expect(on.code).toBe(0);
    expect(on.stdout).toMatch(new RegExp(`^Sandbox ${witness} follows feature/x: on since `));
    const shown = await runCli(['sandbox', 'get', sandbox], { stateDir: daemon.stateDir });
    expect(shown.stdout).toMatch(/^follow: +on since .*, last redeploy main@[0-9a-f]{7} /m);
    const missing = await runCli(['follow', `nope${suffix}`], { stateDir: daemon.stateDir });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('SandboxNotFound');
  }, 60_000);

  it('keeps following across a daemon restart and catches up with a commit made while it was down', async () => {
    await client.request('sandbox/follow', { sandbox, follow: true });
    await until(sandbox, servesAt(repo.commitOf('main'))); // the commit made while off, caught up when turned on
    await client.closeSocket();
    expect(await daemon.stop()).toBe(0);
    const down = commitAnswer('while down');
    latest.clear();
    daemon = await startTestDaemon({ env, stateDir: daemon.stateDir });
    await connect();
    const s = await until(sandbox, servesAt(down));
    expect(s.follow).toBeDefined();
    expect(await answers(s)).toEqual({ direct: 'while down', gateway: 'while down' });
  }, 180_000);
  it('makes again a redeploy the daemon stopping cut short, and holds one the user cancelled', async () => {
    const dockerfile = repo.git('show', `main:${DOCKERFILE}`);
    repo.write(DOCKERFILE, dockerfile.replace('USER 1000', `RUN echo "slow ${repo.nonce}" && sleep 60\nUSER 1000`));
    const slow = repo.commitAll('account: a slow build');
    const first = await until(sandbox, (s) => s.follow?.lastRedeploy?.commit === slow);
    const [cut] = first.follow!.lastRedeploy!.deployments;
    await client.closeSocket();
    expect(await daemon.stop()).toBe(0); // cancels the slow build
    latest.clear();
    daemon = await startTestDaemon({ env, stateDir: daemon.stateDir });
    await connect();
    const again = await until(sandbox, (s) => s.follow?.lastRedeploy?.commit === slow && s.follow.lastRedeploy.deployments[0] !== cut);
    const [retried] = again.follow!.lastRedeploy!.deployments;
    expect(await client.request('deploy/cancel', { id: retried! })).toEqual({ status: 'cancelled' });
    const held = await until(sandbox, (s) => s.follow?.lastError?.commit === slow);
    expect(held.follow!.lastError!.message).toMatch(/account cancelled at .*not redeployed again until main moves/);

    repo.write(DOCKERFILE, dockerfile);
    const fixed = repo.commitAll('account: a quick build again');
    await until(sandbox, (s) => servesAt(fixed)(s) && s.follow?.lastError === undefined);
  }, 180_000);
});
