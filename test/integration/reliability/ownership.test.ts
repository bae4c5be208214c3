/**
 * Two daemons (two state directories, two `branchbox.instance`s) on one engine, with names
 * that collided under the old scheme (`sandbox-{name}-{service}`): daemon A runs sandbox
 * `<r>-x` with service `web`, daemon B sandbox `<r>` with service `x-web` — and both want a
 * sandbox of the same name. Each deploys, suspends, resumes, deletes and reconciles (every
 * 200 ms, no grace period) while the other's objects are compared with `docker inspect`
 * before and after: nothing of the other is renamed, stopped, restarted, disconnected or
 * removed. What names another daemon's object answers `Conflict` naming its owner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../../helpers/daemon';
import { docker, testRun } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import {
  COLLIDING_BRANCH,
  addCollidingServices,
  deployRunning,
  deployToEnd,
  objectsOf,
  reconciled,
  reliabilityEnv,
  startDaemon,
  type RunningDaemon,
} from './helpers';

const run = testRun('bbown');
/** Unique to this run, so two runs on one engine never collide. */
const r = `o${run.runId.slice(-8)}`;
let repo: FixtureRepo;
let a: RunningDaemon;
let b: RunningDaemon;

beforeAll(async () => {
  repo = createFixtureRepo();
  addCollidingServices(repo);
  a = await startDaemon(reliabilityEnv(run));
  b = await startDaemon(reliabilityEnv(run));
  expect(a.instance).not.toBe(b.instance);
}, 120_000);

afterAll(async () => {
  for (const d of [a, b]) {
    await d?.client.closeSocket();
    await d?.daemon.stop();
    await d?.daemon.dispose();
  }
  await run.cleanup();
  repo?.dispose();
});

const answer = async (url: string) => (await fetch(url)).text();

describe('two daemons on one engine with colliding names', () => {
  it('each deploys, suspends, resumes, deletes and reconciles without touching anything of the other', async () => {
    // A: sandbox <r>-x, service web.
    await a.client.request('sandbox/create', { name: `${r}-x`, repoPath: repo.root });
    const [aWeb] = await deployRunning(a.client, { repoPath: repo.root, sandbox: `${r}-x`, ref: COLLIDING_BRANCH, services: ['web'] });
    const aBefore = await objectsOf(run, a.instance);
    expect([...aBefore.values()].filter((o) => o.kind === 'container')).toHaveLength(1);

    // B: sandbox <r>, service x-web — sandbox-<r>-x-web was both containers' name before.
    await b.client.request('sandbox/create', { name: r, repoPath: repo.root });
    const [bXWeb] = await deployRunning(b.client, { repoPath: repo.root, sandbox: r, ref: COLLIDING_BRANCH, services: ['x-web'] });
    await b.client.request('sandbox/suspend', { name: r });
    const resumed = await b.client.request('sandbox/resume', { name: r });
    expect(resumed.services.map((s) => s.healthy)).toEqual([true]);
    await reconciled(run, b.instance);
    expect(await objectsOf(run, a.instance)).toEqual(aBefore);
    expect(await answer(aWeb!.url!)).toBe('main');

    // What a user names through B is refused when it is A's.
    for (const method of ['container/stop', 'container/restart', 'container/remove'] as const) {
      const e = await failure(b.client.request(method, { id: aWeb!.containerId! }));
      expect(e.message).toContain(`belongs to Branchbox instance ${a.instance} sandbox ${r}-x service web`);
      expect(e.data).toMatchObject({ name: `sandbox-${r}-x_web`, owner: { instance: a.instance, sandbox: `${r}-x`, service: 'web' } });
    }
    expect(await objectsOf(run, a.instance)).toEqual(aBefore);

    // A's turn: B's objects stay as they are.
    const bBefore = await objectsOf(run, b.instance);
    await a.client.request('sandbox/suspend', { name: `${r}-x` });
    await a.client.request('sandbox/resume', { name: `${r}-x` });
    await a.client.request('sandbox/delete', { name: `${r}-x` });
    await reconciled(run, a.instance);
    expect(await objectsOf(run, a.instance)).toEqual(new Map());
    expect(await objectsOf(run, b.instance)).toEqual(bBefore);
    expect(await answer(bXWeb!.url!)).toBe('main');

    await b.client.request('sandbox/delete', { name: r });
    await reconciled(run, b.instance);
    expect(await objectsOf(run, b.instance)).toEqual(new Map());
  });

  it('a sandbox of the same name as the other daemon’s answers Conflict naming its owner, and touches nothing of it', async () => {
    const name = `${r}-same`;
    await a.client.request('sandbox/create', { name });
    const aBefore = await objectsOf(run, a.instance);
    const e = await failure(b.client.request('sandbox/create', { name }));
    expect(e.code).toBe(1104);
    expect(e.message).toContain(`network sandbox-${name}: it belongs to Branchbox instance ${a.instance} sandbox ${name}`);
    expect(e.data).toMatchObject({ kind: 'network', name: `sandbox-${name}`, owner: { instance: a.instance, sandbox: name } });
    // B does not have it: deleting it there finds nothing, and reconciling leaves A's alone.
    expect((await failure(b.client.request('sandbox/delete', { name }))).message).toMatch(/^No sandbox/);
    await reconciled(run, b.instance);
    expect(await objectsOf(run, a.instance)).toEqual(aBefore);
    await a.client.request('sandbox/delete', { name });
  });

  it('a container that is not Branchbox’s holding a serving name fails the switch-over, named, and is left alone', async () => {
    const name = `${r}-squat`;
    await a.client.request('sandbox/create', { name, repoPath: repo.root });
    const squatter = await run.createContainer({ Cmd: ['sleep', '300'], name: `sandbox-${name}_web` });
    const before = await docker.getContainer(squatter.id).inspect();
    const [d] = await deployToEnd(a.client, { repoPath: repo.root, sandbox: name, ref: COLLIDING_BRANCH, services: ['web'] });
    expect(d).toMatchObject({ status: 'failed', diagnosis: `switch-over failed: Refused to rename container sandbox-${name}_web: it is not a Branchbox object.` });
    const after = await docker.getContainer(squatter.id).inspect();
    expect([after.Name, after.State.StartedAt, after.State.Running]).toEqual([before.Name, before.State.StartedAt, true]);
    // The deployment's own container went with its failure; the sandbox serves nothing.
    expect(await objectsOf(run, a.instance)).toEqual(new Map([...(await objectsOf(run, a.instance))].filter(([, o]) => o.kind === 'network')));
    await a.client.request('sandbox/delete', { name });
    expect((await docker.getContainer(squatter.id).inspect()).State.Running).toBe(true);
  });
});
