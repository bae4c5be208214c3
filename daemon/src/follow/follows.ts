/**
 * Follow (docs/follow.md): sandboxes that redeploy their services when the branches they serve
 * move. Level-based: a pass compares, for one active following sandbox, each service deployed
 * from a branch with that branch's head now (`git rev-parse`, never a shell) and starts one
 * deployment request per branch that moved ({@link planRedeploys}), requested by
 * `branchboxd (follow)`, then waits for them. A sandbox has one pass at a time; a trigger during
 * one runs another after it. A head whose redeploy failed is not tried again until the branch
 * moves (the sandbox's `follow.lastError` and the log say so).
 *
 * Passes run: when follow is turned on; when a ref of the repository changes (one
 * {@link RepositoryWatches} watcher per repository with an active follower); on `follow/check`;
 * when a deployment of a following sandbox that was in the way ends; when the sandbox becomes
 * active again (resume); and for every follower at daemon start (commits made while it was down).
 * A trigger during a pass (its deployments building) runs one more pass after it.
 */
import { realpathSync } from 'node:fs';
import { DeploymentStatus as DeploymentStatusSchema } from '../../../schemas/src/deploy';
import { isFinalStatus, succeededStatus } from '../../../schemas/src/deploy-status';
import type { DeployOutcome, Sandbox, SandboxEvent } from '../../../schemas/src/sandbox';
import { findRepoRoot, type GitSource } from '../deploy/git-source';
import { REQUESTED_BY } from '../deploy/requesters';
import type { DeploymentRecord, DeployProgress, DeployRequest, DeploymentStatus } from '../deploy/types';
import { RpcError } from '../rpc/errors';
import type { Logger } from '../runtime/log';
import type { FailedHeads, FollowStore } from '../sandbox/follow-store';
import { branchesServed, planRedeploys, type Redeploy } from './redeploy-plan';
import { RepositoryWatches } from './repository-watches';

/** The statuses of a deployment still in flight. */
const IN_FLIGHT = DeploymentStatusSchema.anyOf.map((s) => s.const).filter((s) => !isFinalStatus(s));

export interface FollowSandboxes {
  get(name: string): Sandbox | undefined;
  require(name: string): Sandbox;
  list(): Sandbox[];
  onChange(listener: (event: SandboxEvent) => void): () => void;
  readonly follows: FollowStore;
}

export interface FollowPipeline {
  waitFinal(id: string): Promise<DeploymentRecord>;
  readonly deployments: { list(filter: { sandbox: string; status: readonly DeploymentStatus[] }): readonly { service: string }[] };
  on(event: 'progress', listener: (p: DeployProgress) => void): () => void;
}

export interface FollowsOptions {
  readonly sandboxes: FollowSandboxes;
  readonly pipeline: FollowPipeline;
  /** Starts a redeploy, checked as `deploy/start` checks one (ResourceLimit, Untrusted). */
  readonly start: (req: DeployRequest) => Promise<{ deployments: { id: string; service: string }[] }>;
  readonly git: GitSource;
  readonly log: Logger;
  readonly quietMs?: number;
  readonly now?: () => Date;
}

export type StartedDeployment = DeployOutcome & { readonly sandbox: string };

export class Follows {
  /** The sandboxes with a pass running. */
  private readonly passes = new Set<string>();
  /** The pass to run after the one running, by sandbox: what triggered it, and who waits for what it starts. */
  private readonly next = new Map<string, { readonly started: Promise<StartedDeployment[]>; readonly resolve: (s: StartedDeployment[]) => void; readonly why: string }>();
  /** Deployments follow started, not yet final (their ends are the passes' own business). */
  private readonly ours = new Set<string>();
  private readonly states = new Map<string, Sandbox['state']>();
  private readonly repositories: RepositoryWatches;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly log: Logger;
  private readonly now: () => Date;
  private stopped = false;

  constructor(private readonly opts: FollowsOptions) {
    this.log = opts.log;
    this.now = opts.now ?? (() => new Date());
    this.repositories = new RepositoryWatches({
      git: opts.git,
      log: opts.log,
      onMove: (repoPath) => this.repositoryMoved(repoPath),
      ...(opts.quietMs !== undefined ? { quietMs: opts.quietMs } : {}),
    });
  }

  private get follows(): FollowStore {
    return this.opts.sandboxes.follows;
  }

  /** Watches the followers' repositories and reconciles every follower once (heads that moved while the daemon was down). */
  start(): void {
    for (const s of this.opts.sandboxes.list()) this.states.set(s.name, s.state);
    this.unsubscribe.push(this.opts.sandboxes.onChange((e) => this.sandboxChanged(e)));
    this.unsubscribe.push(
      this.opts.pipeline.on('progress', (p) => {
        if (p.kind !== 'status' || p.status === undefined || !isFinalStatus(p.status) || this.ours.has(p.deployment)) return;
        if (this.follows.get(p.sandbox)) void this.reconcile(p.sandbox, `a deployment of ${p.service} ended`);
      }),
    );
    this.trackRepositories();
    for (const name of this.follows.followers()) void this.reconcile(name, 'the daemon started');
  }

  /** Stops watching; passes in progress start nothing more (their deployments end with the pipeline). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    await this.repositories.stop();
  }

  /**
   * `sandbox/follow`: turns follow on (reconciling at once) or off. Throws SandboxNotFound, and
   * Conflict when turning it on for a sandbox with no repository or nothing deployed from a branch.
   */
  set(name: string, follow: boolean): Sandbox {
    const sandbox = this.opts.sandboxes.require(name);
    if (follow) {
      if (sandbox.repoPath === undefined) {
        throw new RpcError('Conflict', `Sandbox "${name}" has no repository to follow: deploy a branch into it first`, { sandbox: name });
      }
      if (branchesServed(sandbox.services).length === 0) {
        throw new RpcError('Conflict', `Sandbox "${name}" serves nothing deployed from a branch: deploy a branch into it first (a commit alone is not followed)`, {
          sandbox: name,
        });
      }
    }
    if (this.follows.set(name, follow)) {
      this.log.info(follow ? `Sandbox ${name} follows its branches` : `Sandbox ${name} no longer follows its branches`, { sandbox: name });
    }
    this.trackRepositories();
    if (follow) void this.reconcile(name, 'follow was turned on');
    return this.opts.sandboxes.require(name);
  }

  /** `follow/check`: a pass now for every active follower of the repository holding `repoPath`; answers what they started. */
  async check(repoPath: string): Promise<StartedDeployment[]> {
    const root = realPath(findRepoRoot(repoPath));
    const names = this.follows.followers().filter((name) => {
      const s = this.opts.sandboxes.get(name);
      return s?.repoPath !== undefined && realPath(s.repoPath) === root;
    });
    const started = await Promise.all(names.map((name) => this.reconcile(name, 'follow/check', true)));
    return started.flat();
  }

  /**
   * Runs a pass for the sandbox now, or another once the one running ends. Answers what the
   * pass started — with `join`, the pass run after the running one (follow/check waits for it);
   * without, nothing when one runs (a trigger's own pass follows it).
   */
  reconcile(name: string, why: string, join = false): Promise<StartedDeployment[]> {
    if (this.stopped) return Promise.resolve([]);
    if (this.passes.has(name)) {
      let next = this.next.get(name);
      if (!next) {
        let resolve!: (s: StartedDeployment[]) => void;
        next = { started: new Promise<StartedDeployment[]>((r) => (resolve = r)), resolve, why };
        this.next.set(name, next);
      }
      return join ? next.started : Promise.resolve([]);
    }
    let reportStarted!: (started: StartedDeployment[]) => void;
    const started = new Promise<StartedDeployment[]>((r) => (reportStarted = r));
    this.passes.add(name);
    void this.pass(name, why, (s) => reportStarted(s))
      .catch((e: unknown) => this.log.error(`Follow of sandbox ${name} failed unexpectedly`, { sandbox: name, error: e }))
      .finally(() => {
        reportStarted([]);
        this.passes.delete(name);
        const next = this.next.get(name);
        if (!next) return;
        this.next.delete(name);
        void this.reconcile(name, next.why).then(next.resolve);
      });
    return started;
  }

  private async pass(name: string, why: string, reportStarted: (s: StartedDeployment[]) => void): Promise<void> {
    const before = this.opts.sandboxes.get(name);
    if (!this.following(before)) return;
    const repoPath = before.repoPath!;
    const heads = new Map<string, string | undefined>();
    for (const branch of branchesServed(before.services)) heads.set(branch, await this.head(repoPath, branch));
    // Read again: a deployment may have switched over, or the sandbox changed, while git ran.
    const sandbox = this.opts.sandboxes.get(name);
    if (!this.following(sandbox) || this.stopped) return;
    const busy = new Set(this.opts.pipeline.deployments.list({ sandbox: name, status: IN_FLIGHT }).map((d) => d.service));
    const failed = this.follows.failedHeads(name);
    const plan = planRedeploys({ services: sandbox.services, heads, failed, busy });
    this.follows.recordCheck(name, this.now());
    for (const skip of plan.skipped) {
      const at = skip.commit ? ` at ${skip.commit.slice(0, 12)}` : '';
      const reason =
        skip.reason === 'failed'
          ? `its redeploy${at} failed; waiting for ${skip.branch} to move`
          : skip.reason === 'busy'
            ? 'a deployment of it is in progress; checked again when it ends'
            : `branch ${skip.branch} no longer exists in ${repoPath}`;
      this.log.info(`Not redeploying ${skip.service} of sandbox ${name}${at}: ${reason}`, { sandbox: name, service: skip.service, branch: skip.branch });
    }
    const missing = plan.skipped.find((s) => s.reason === 'no-branch');
    if (missing) this.recordError(name, plan.failed, { message: `branch ${missing.branch} no longer exists in ${repoPath}`, branch: missing.branch });
    else if (!sameHeads(failed, plan.failed)) this.follows.recordOutcome(name, plan.failed, undefined);
    if (plan.redeploys.length === 0) return;
    this.log.info(`Redeploying sandbox ${name}: ${plan.redeploys.map(describe).join('; ')} (${why})`, { sandbox: name });
    const started: StartedDeployment[] = [];
    const waits: Promise<{ redeploy: Redeploy; record: DeploymentRecord }>[] = [];
    let nextFailed: Record<string, string> = { ...plan.failed };
    for (const redeploy of plan.redeploys) {
      try {
        const { deployments } = await this.opts.start({
          repoPath,
          sandbox: name,
          services: redeploy.services,
          ref: redeploy.branch,
          commit: redeploy.commit,
          requestedBy: REQUESTED_BY.follow,
        });
        for (const d of deployments) {
          this.ours.add(d.id);
          started.push({ sandbox: name, service: d.service, deploymentId: d.id, branch: redeploy.branch, commit: redeploy.commit, status: 'started' });
          waits.push(this.opts.pipeline.waitFinal(d.id).then((record) => ({ redeploy, record })));
        }
        this.follows.recordRedeploy(name, { commit: redeploy.commit, branch: redeploy.branch, at: this.now().toISOString(), deployments: deployments.map((d) => d.id) });
      } catch (e) {
        const message = `could not redeploy ${redeploy.services.join(', ')} at ${redeploy.commit.slice(0, 12)}: ${(e as Error).message}`;
        this.log.warn(`Follow of sandbox ${name} ${message}; waiting for ${redeploy.branch} to move`, { sandbox: name });
        for (const s of redeploy.services) nextFailed[s] = redeploy.commit;
        this.recordError(name, nextFailed, { message, branch: redeploy.branch, commit: redeploy.commit });
      }
    }
    reportStarted(started);
    const ends = await Promise.all(waits);
    for (const { record } of ends) this.ours.delete(record.id);
    // Cancelled by the daemon stopping: tried again when it starts, not held against the head.
    if (this.stopped) return;
    const stillActive = this.opts.sandboxes.get(name)?.state === 'active';
    let error: { message: string; branch: string; commit: string } | undefined;
    nextFailed = { ...this.follows.failedHeads(name) };
    for (const { redeploy, record } of ends) {
      if (succeededStatus(record.status)) {
        delete nextFailed[record.service];
        continue;
      }
      // Replaced by a newer deployment, or cancelled by a suspend or a delete: nothing to hold against that head.
      if (record.status === 'superseded' || (record.status === 'cancelled' && !stillActive)) continue;
      nextFailed[record.service] = redeploy.commit;
      const message = `${record.service} ${record.status} at ${redeploy.commit.slice(0, 12)}${record.diagnosis ? `: ${record.diagnosis}` : ''}; not redeployed again until ${redeploy.branch} moves`;
      this.log.warn(`Follow redeploy of sandbox ${name}: ${message}`, { sandbox: name, service: record.service, deployment: record.id });
      error ??= { message, branch: redeploy.branch, commit: redeploy.commit };
    }
    if (error) this.recordError(name, nextFailed, error);
    else this.follows.recordOutcome(name, nextFailed, Object.keys(nextFailed).length ? undefined : null);
  }

  /** The head of `branch` in the repository; undefined when there is no such branch. */
  private async head(repoPath: string, branch: string): Promise<string | undefined> {
    const out = await this.opts.git.run(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}^{commit}`], { allowFailure: true });
    const commit = out?.trim();
    return commit && /^[0-9a-f]{40,64}$/.test(commit) ? commit : undefined;
  }

  private following(sandbox: Sandbox | undefined): sandbox is Sandbox {
    return sandbox !== undefined && sandbox.state === 'active' && sandbox.repoPath !== undefined && this.follows.get(sandbox.name) !== undefined;
  }

  private recordError(name: string, failed: FailedHeads, error: { message: string; branch?: string; commit?: string }): void {
    this.follows.recordOutcome(name, failed, { at: this.now().toISOString(), ...error });
  }

  private repositoryMoved(repoPath: string): void {
    for (const name of this.follows.followers()) {
      if (this.opts.sandboxes.get(name)?.repoPath === repoPath) void this.reconcile(name, `a ref of ${repoPath} changed`);
    }
  }

  private sandboxChanged(e: SandboxEvent): void {
    const was = this.states.get(e.name);
    if (e.kind === 'deleted') this.states.delete(e.name);
    else if (e.sandbox) {
      this.states.set(e.name, e.sandbox.state);
      if (e.sandbox.state === 'active' && was !== undefined && was !== 'active' && e.sandbox.follow) void this.reconcile(e.name, 'the sandbox is active again');
    }
    if (e.kind === 'deleted' || was !== this.states.get(e.name)) this.trackRepositories();
  }

  /** One watcher per repository with an active follower. */
  private trackRepositories(): void {
    if (this.stopped) return;
    const repos = new Set<string>();
    for (const name of this.follows.followers()) {
      const s = this.opts.sandboxes.get(name);
      if (s?.state === 'active' && s.repoPath !== undefined) repos.add(s.repoPath);
    }
    this.repositories.track(repos);
  }
}

function describe(r: Redeploy): string {
  return `${r.services.join(', ')} at ${r.branch}@${r.commit.slice(0, 12)}`;
}

function sameHeads(a: FailedHeads, b: FailedHeads): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
