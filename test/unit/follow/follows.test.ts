/**
 * Follows over a real git repository and real SQLite state, with a pipeline that records the
 * requests it gets and ends each deployment when the test says (the real pipeline runs in
 * test/integration/follow/): what a check starts, one pass at a time per sandbox with another
 * after it, a failed head held until the branch moves, and the refusals of sandbox/follow. The
 * ref watcher's quiet period is longer than any test, so only the calls made here act.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitSource } from '../../../daemon/src/deploy/git-source';
import { REQUESTED_BY } from '../../../daemon/src/deploy/requesters';
import type { DeploymentRecord, DeployRequest } from '../../../daemon/src/deploy/types';
import { Follows, type FollowPipeline } from '../../../daemon/src/follow/follows';
import { nullLogger } from '../../../daemon/src/runtime/log';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';

let dir: string;
let root: string;
let store: Store;
let sandboxes: SandboxStore;
let pipeline: RecordingPipeline;
let follows: Follows;

const git = (...args: string[]) =>
  execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir, LC_ALL: 'C' } }).trim();
let n = 0;
function commit(): string {
  writeFileSync(join(root, 'file.txt'), `change ${++n}\n`);
  git('add', '--all');
  git('commit', '--quiet', '--no-verify', '-m', `change ${n}`);
  return git('rev-parse', 'HEAD');
}

/** Records each request; a deployment ends when {@link end} says, switching over when it ends running. */
class RecordingPipeline implements FollowPipeline {
  readonly requests: DeployRequest[] = [];
  private readonly waiting = new Map<string, (r: DeploymentRecord) => void>();
  readonly inFlight = new Set<string>();
  maxInFlight = 0;
  readonly deployments = { list: () => [] };

  start(req: DeployRequest) {
    this.requests.push(req);
    const deployments = (req.services ?? []).map((service) => ({ id: `d${this.requests.length}-${service}`, service }));
    for (const d of deployments) this.inFlight.add(d.id);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    return { deployments };
  }

  waitFinal(id: string): Promise<DeploymentRecord> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  on(): () => void {
    return () => undefined;
  }

  /** Ends deployment `id` of `service` (the latest request's commit) with `status`. */
  end(id: string, status: 'running' | 'failed', diagnosis?: string): void {
    const req = this.requests[Number(/^d(\d+)-/.exec(id)![1]) - 1]!;
    const service = id.replace(/^d\d+-/, '');
    if (status === 'running') sandboxes.recordServing(req.sandbox, service, { deploymentId: id, branch: req.ref!, commit: req.commit! });
    this.inFlight.delete(id);
    this.waiting.get(id)!({ id, service, status, ...(diagnosis ? { diagnosis } : {}) } as DeploymentRecord);
  }
}

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'bb-follows-')));
  root = join(dir, 'repo');
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', root]);
  git('config', 'user.name', 'Fixture');
  git('config', 'user.email', 'fixture@branchbox.invalid');
  git('config', 'commit.gpgsign', 'false');
  store = openStore(join(dir, 'state.db'));
  sandboxes = new SandboxStore(store);
  pipeline = new RecordingPipeline();
  follows = new Follows({ sandboxes, pipeline, start: async (req) => pipeline.start(req), git: new GitSource(dir), log: nullLogger, quietMs: 600_000 });
  sandboxes.insert({ name: 'qa', owner: 'me', repoPath: root });
  sandboxes.recordServing('qa', 'account', { deploymentId: 'd0', branch: 'main', commit: commit() });
});

afterEach(async () => {
  await follows.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Follows', () => {
  it('starts, on a check, the service at its branch\'s new head, requested by follow', async () => {
    follows.set('qa', true);
    expect(await follows.check(join(root, '.'))).toEqual([]); // serving the head: nothing to do
    const head = commit();
    expect(await follows.check(root)).toEqual([{ sandbox: 'qa', service: 'account', deploymentId: 'd1-account', branch: 'main', commit: head, status: 'started' }]);
    expect(pipeline.requests).toEqual([{ repoPath: root, sandbox: 'qa', services: ['account'], ref: 'main', commit: head, requestedBy: REQUESTED_BY.follow }]);
    expect(sandboxes.require('qa').follow?.lastRedeploy).toMatchObject({ branch: 'main', commit: head, deployments: ['d1-account'] });
    pipeline.end('d1-account', 'running');
  });

  it('runs one pass at a time per sandbox: a move during a redeploy is acted on once it ends', async () => {
    follows.set('qa', true);
    await follows.check(root);
    commit();
    await follows.check(root);
    expect(pipeline.requests).toHaveLength(1);
    const third = commit();
    const waiting = follows.check(root); // joins the pass after the one running
    await new Promise((r) => setImmediate(r));
    expect(pipeline.requests).toHaveLength(1);
    pipeline.end('d1-account', 'running');
    expect(await waiting).toEqual([expect.objectContaining({ deploymentId: 'd2-account', commit: third })]);
    expect(pipeline.maxInFlight).toBe(1);
    pipeline.end('d2-account', 'running');
  });

  it('holds a head whose redeploy failed until the branch moves, and clears the error once one ends well', async () => {
    follows.set('qa', true);
    const bad = commit();
    await follows.check(root);
    pipeline.end('d1-account', 'failed', 'build failed: exited with code 1');
    await follows.check(root); // after the failed pass ended
    expect(sandboxes.require('qa').follow?.lastError).toMatchObject({ branch: 'main', commit: bad, message: expect.stringMatching(/^account failed at .*build failed.*until main moves$/) });
    expect(await follows.check(root)).toEqual([]);
    expect(pipeline.requests).toHaveLength(1);

    const good = commit();
    expect(await follows.check(root)).toEqual([expect.objectContaining({ commit: good })]);
    pipeline.end('d2-account', 'running');
    await follows.check(root);
    expect(sandboxes.require('qa').follow?.lastError).toBeUndefined();
  });

  it('leaves a suspended sandbox alone', async () => {
    follows.set('qa', true);
    sandboxes.update('qa', { state: 'suspended' });
    commit();
    expect(await follows.check(root)).toEqual([]);
    expect(pipeline.requests).toEqual([]);
  });

  it('refuses to follow an unknown sandbox, one without a repository and one serving nothing from a branch', () => {
    expect(() => follows.set('nope', true)).toThrow(expect.objectContaining({ errorName: 'SandboxNotFound' }));
    sandboxes.insert({ name: 'empty', owner: 'me' });
    expect(() => follows.set('empty', true)).toThrow(/no repository to follow/);
    sandboxes.insert({ name: 'pinned', owner: 'me', repoPath: root });
    sandboxes.recordServing('pinned', 'account', { deploymentId: 'dp', commit: git('rev-parse', 'HEAD') });
    expect(() => follows.set('pinned', true)).toThrow(/serves nothing deployed from a branch/);
    expect(sandboxes.require('pinned').follow).toBeUndefined();
  });
});
