/**
 * The deploy pipeline: takes deploy requests, keeps one lane per (sandbox, service) so two
 * deployments of the same service never race, runs the lanes in parallel, and lets clients
 * follow, cancel and wait for deployments. It implements {@link DeployControl} for the sandbox
 * module (clone, restore, delete).
 *
 * A lane holds at most one running deployment and one queued behind it: a newer request
 * supersedes the queued one (it would only be replaced once it ran). At daemon start
 * {@link DeployPipeline.recover} ends what a previous process left unfinished; at shutdown
 * {@link DeployPipeline.shutdown} cancels what runs.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_FILES } from '../../../schemas/node/state-files';
import { RpcError } from '../rpc/errors';
import { nullLogger, type Logger, type Redactor } from '../runtime/log';
import { TypedEmitter } from '../docker/typed-emitter';
import type { DeployDocker } from './deploy-docker';
export { deployDockerOf } from './deploy-docker';
import { DeploymentStore, isFinal, isServing, type ListFilter } from './deployment-store';
import { runDeployment, type DeploymentTarget, type RunDeps } from './deploy-run';
import { GitSource, checkBranchName, checkCommitId, findRepoRoot } from './git-source';
import { reapOrphans, recoverInterrupted, type ReapReport } from './recovery';
import { RunRecorder } from './run-recorder';
import { selectServices, waitForDependencies, type DependencySource } from './dependencies';
import type {
  DeployControl,
  DeployEnvironments,
  DeploymentRecord,
  DeployPorts,
  DeployProgress,
  DeployRequest,
  DeploySandboxes,
  DeployServiceConfig,
  DeploymentStatus,
  DeployProject,
  ProjectLoader,
} from './types';
import type { Store } from '../state/store';
import type { CommandTrust } from '../trust/trust-store';

export interface DeployPipelineOptions {
  readonly store: Store;
  /** The Docker side; throws RpcError DockerUnavailable when there is no engine. */
  readonly docker: () => DeployDocker;
  readonly loadProject: ProjectLoader;
  readonly sandboxes: DeploySandboxes;
  readonly ports: DeployPorts;
  readonly environments: DeployEnvironments;
  /** Throws RpcError InvalidName for a name that is not a sandbox name. */
  readonly validateSandboxName: (name: string) => void;
  /** The daemon's state directory: sources are exported under `<stateDir>/deploy/`. */
  readonly stateDir: string;
  readonly redactor?: Redactor;
  readonly log?: Logger;
  readonly now?: () => Date;
  /** Runs git (tests may point it elsewhere). */
  readonly git?: GitSource;
  /** Labels added to every container and image a deployment creates (e.g. `branchbox.test=<run>` in tests). */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** Creates the sandbox's network or adopts this daemon's own (the sandbox module's, so both follow one rule). */
  readonly ensureNetwork: (sandbox: string) => Promise<unknown>;
  /** The host build commands the user trusted (the build stage runs no other). */
  readonly trust: CommandTrust;
}

/** What a deploy request deploys (DeployPipeline.plan). */
export interface DeployPlan {
  readonly repoRoot: string;
  /** In dependency order. */
  readonly services: readonly string[];
  /** The dependencies added to the requested services. */
  readonly added: readonly string[];
  /** The project's name, when its configuration could be read (a sandbox without a repository adopts it). */
  readonly project?: string;
}

export interface DeployPipelineEvents {
  progress: [DeployProgress];
}

/** Why a deployment was cancelled, as its diagnosis says it. */
export type CancelReason = 'by request' | 'the daemon is shutting down' | 'the sandbox is being deleted' | string;

interface Run extends DeploymentTarget {
  readonly controller: AbortController;
  readonly recorder: RunRecorder;
  cancelReason?: string;
  switching: boolean;
  /** Waiting for its dependencies (built, nothing started): a newer deployment of the service supersedes it. */
  waiting: boolean;
  supersededBy?: string;
  /** The deployments of the same request, by service: the ones its dependencies are waited on in. */
  readonly siblings: ReadonlyMap<string, string>;
  /** Resolves once the deployment is final. */
  readonly done: Promise<void>;
  resolveDone(): void;
}

interface Lane {
  active?: Run;
  queued?: Run;
}

/** How long shutdown waits for cancelled deployments to clean up. */
const SHUTDOWN_WAIT_MS = 10_000;

export class DeployPipeline extends TypedEmitter<DeployPipelineEvents> implements DeployControl {
  readonly deployments: DeploymentStore;
  private readonly lanes = new Map<string, Lane>();
  private readonly runs = new Map<string, Run>();
  private readonly networks = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly runDeps: RunDeps;
  /** Serving containers stopped by a deployment replacing them (`${sandbox}/${service}`). */
  private readonly stoppedForReplacement = new Set<string>();
  private closing = false;

  constructor(private readonly opts: DeployPipelineOptions) {
    const log = (opts.log ?? nullLogger).child({ component: 'deploy' });
    super((event, e) => log.error('Deploy progress listener failed', { event, error: String(e) }));
    this.log = log;
    this.now = opts.now ?? (() => new Date());
    this.deployments = new DeploymentStore(opts.store);
    const workDir = join(opts.stateDir, STATE_FILES.deploy);
    const sourcesDir = join(workDir, 'src');
    mkdirSync(sourcesDir, { recursive: true, mode: 0o700 });
    this.runDeps = {
      stoppedForReplacement: this.stoppedForReplacement,
      store: this.deployments,
      docker: opts.docker,
      git: opts.git ?? new GitSource(workDir),
      loadProject: opts.loadProject,
      sandboxes: opts.sandboxes,
      ports: opts.ports,
      environments: opts.environments,
      ensureNetwork: (sandbox) => this.ensureNetwork(sandbox),
      sourcesDir,
      log,
      now: this.now,
      emit: (item) => this.emit('progress', item),
      extraLabels: opts.extraLabels ?? {},
      trust: opts.trust,
    };
  }

  // ---- DeployControl ----

  /** Whether a deployment stopped the serving container of the service on purpose (its replacement writes the same volume): not to be restarted meanwhile. */
  isStoppedForReplacement(sandbox: string, service: string): boolean {
    return this.stoppedForReplacement.has(`${sandbox}/${service}`);
  }

  /**
   * What `start` would queue, in dependency order (./dependencies.ts): the requested services
   * — or, without any, every service of the chosen profiles — and the dependencies they need
   * that the sandbox neither serves nor is deploying. Validates the request as `start` does;
   * queues nothing.
   */
  plan(req: DeployRequest): DeployPlan {
    if (this.closing) throw new RpcError('ShuttingDown', 'The daemon is shutting down and takes no new deployments');
    this.opts.validateSandboxName(req.sandbox);
    const target = this.opts.sandboxes.require(req.sandbox) as { state?: string } | undefined;
    if (target?.state === 'deleting') throw new RpcError('Conflict', `Sandbox "${req.sandbox}" is being deleted and takes no deployments`);
    if (req.ref !== undefined) checkBranchName(req.ref);
    if (req.commit !== undefined) checkCommitId(req.commit);
    const repoRoot = findRepoRoot(req.repoPath);
    // The configuration deployed is the one of the commit deployed (read in prepare). When
    // that is what is checked out, the working tree's copy answers a mistake at once;
    // otherwise it only tells the dependencies to add (each deployment waits on those of its own commit).
    const checkedOut = req.includeUncommitted || (req.commit === undefined && (req.ref === undefined || req.ref === checkedOutBranch(repoRoot)));
    let project: DeployProject | undefined;
    try {
      project = this.opts.loadProject(repoRoot);
    } catch (e) {
      if (checkedOut || req.services === undefined) throw e;
    }
    if (!project) return { repoRoot, services: [...new Set(req.services)], added: [] };
    const file = project.source?.files[0] ?? join(repoRoot, 'branchbox.yaml');
    if (req.services !== undefined && checkedOut) {
      const unknown = req.services.filter((s) => !Object.hasOwn(project.services, s));
      if (unknown.length) {
        const known = Object.keys(project.services).join(', ') || 'none';
        throw new RpcError('InvalidParams', `No service ${unknown.map((s) => `"${s}"`).join(', ')} in ${file} (services: ${known})`, {
          violations: unknown.map((s) => ({ path: `/services/${req.services!.indexOf(s)}`, message: `unknown service "${s}"` })),
        });
      }
    }
    const requested = req.services?.filter((s) => Object.hasOwn(project.services, s));
    const selection = selectServices(
      project.services,
      { ...(requested ? { services: requested } : {}), ...(req.profiles ? { profiles: req.profiles } : {}) },
      (service) => this.present(req.sandbox, service),
      file,
    );
    // Services the working tree's configuration does not know (another branch's) follow, as requested.
    const others = (req.services ?? []).filter((s) => !Object.hasOwn(project.services, s));
    const services = [...selection.services, ...new Set(others)];
    if (services.length === 0) {
      const which = req.profiles?.length ? `in the profiles ${req.profiles.join(', ')}` : 'outside a profile';
      throw new RpcError('InvalidParams', `No service of ${file} to deploy: none is ${which}`, { violations: [{ path: '/profiles', message: 'selects no service' }] });
    }
    return { repoRoot, services, added: selection.added, project: project.name };
  }

  start(req: DeployRequest, planned?: DeployPlan): { deployments: { id: string; service: string }[]; addedDependencies: string[] } {
    const plan = planned ?? this.plan(req);
    if (this.closing) throw new RpcError('ShuttingDown', 'The daemon is shutting down and takes no new deployments');
    const { repoRoot, services } = plan;
    if (plan.project !== undefined) this.opts.sandboxes.adoptRepository(req.sandbox, repoRoot, plan.project);
    const createdAt = this.now().toISOString();
    const ids = new Map(services.map((service) => [service, randomUUID()]));
    const runs = this.deployments.transaction(() =>
      services.map((service) => {
        const id = ids.get(service)!;
        this.deployments.insert({
          id,
          sandbox: req.sandbox,
          service,
          repoPath: repoRoot,
          ref: req.ref ?? null,
          commit: req.commit ?? null,
          includeUncommitted: req.includeUncommitted ?? false,
          requestedBy: req.requestedBy ?? null,
          createdAt,
        });
        return this.newRun(
          { id, sandbox: req.sandbox, service, repoRoot, ref: req.ref, commit: req.commit, includeUncommitted: req.includeUncommitted ?? false },
          ids,
        );
      }),
    );
    for (const run of runs) {
      this.emit('progress', { deployment: run.id, sandbox: run.sandbox, service: run.service, kind: 'status', status: 'queued', t: createdAt });
      this.log.info(`Queued the deployment of ${run.service} into sandbox ${run.sandbox}`, {
        deployment: run.id,
        ref: req.ref,
        commit: req.commit,
        requestedBy: req.requestedBy,
        ...(plan.added.includes(run.service) ? { dependencyOf: 'the requested services' } : {}),
      });
      if (plan.added.includes(run.service)) run.recorder.log('daemon', `Added to the request: a dependency the sandbox does not have yet`);
      this.enqueue(run);
    }
    return { deployments: runs.map((r) => ({ id: r.id, service: r.service })), addedDependencies: [...plan.added] };
  }

  async waitFinal(id: string): Promise<DeploymentRecord> {
    const run = this.runs.get(id);
    if (run) await run.done;
    const record = this.deployments.get(id);
    if (!record) throw new RpcError('DeploymentNotFound', `No deployment "${id}"`);
    return record;
  }

  /**
   * For suspend and expiry: cancels every deployment of the sandbox still in flight (queued or
   * in a stage before switch-over) and waits until they are final. Running deployments are
   * left as they are — `running`, with their containers, ports and source folders — since
   * a suspended sandbox resumes with them.
   */
  async cancelInFlight(sandbox: string, reason: CancelReason): Promise<void> {
    const runs = [...this.runs.values()].filter((r) => r.sandbox === sandbox);
    await Promise.all(runs.map((r) => this.cancel(r.id, reason)));
  }

  /**
   * For sandbox deletion, the only path that ends running deployments: cancels those in
   * flight and waits for them; then the serving ones become `stopped` (their containers are
   * about to be removed with the sandbox) and their source folders go. New deployments into a
   * sandbox being deleted are refused by `start`.
   */
  async stopSandbox(sandbox: string): Promise<void> {
    await this.cancelInFlight(sandbox, 'the sandbox is being deleted');
    const at = this.now().toISOString();
    for (const row of this.deployments.running(sandbox)) {
      this.deployments.update(row.id, { status: 'stopped' });
      rmSync(join(this.runDeps.sourcesDir, row.id), { recursive: true, force: true });
      this.emit('progress', { deployment: row.id, sandbox: row.sandbox, service: row.service, kind: 'status', status: 'stopped', t: at });
    }
  }

  // ---- queries and control for the protocol ----

  get(id: string): DeploymentRecord {
    const record = this.deployments.get(id);
    if (!record) throw new RpcError('DeploymentNotFound', `No deployment "${id}"`);
    return record;
  }

  list(filter: ListFilter): DeploymentRecord[] {
    return this.deployments.list(filter);
  }

  logs(id: string, afterSeq?: number, limit?: number) {
    this.get(id);
    return this.deployments.logs(id, afterSeq, limit);
  }

  /** Cancels the deployment and resolves with its final status. */
  async cancel(id: string, reason: CancelReason = 'by request'): Promise<DeploymentStatus> {
    const run = this.runs.get(id);
    if (!run) return this.get(id).status;
    const lane = this.lanes.get(laneKey(run.sandbox, run.service));
    if (lane?.queued === run) {
      lane.queued = undefined;
      this.finishQueued(run, 'cancelled', { diagnosis: `queued cancelled: ${reason}` });
    } else if (!run.switching && !run.controller.signal.aborted) {
      run.cancelReason = reason;
      run.controller.abort(Object.assign(new Error(`Cancelled ${reason}`), { name: 'AbortError' }));
    }
    await run.done;
    return this.get(id).status;
  }

  /**
   * Calls `listener` with each deployment once it switched over — its container serves the
   * service, the one it replaced is gone — as `running` (or `completed`, a job); returns the
   * function that stops it.
   */
  onSwitchOver(listener: (deployment: DeploymentRecord) => void): () => void {
    return this.on('progress', (item) => {
      if (item.kind !== 'status' || (item.status !== 'running' && item.status !== 'completed')) return;
      const record = this.deployments.get(item.deployment);
      if (record) listener(record);
    });
  }

  /** Whether the deployment is still queued or running in this process. */
  isActive(id: string): boolean {
    return this.runs.has(id);
  }

  // ---- lifecycle ----

  /**
   * At daemon start: every deployment a previous process left unfinished becomes failed
   * ("interrupted: the daemon stopped during <stage>"), its port is released; then the
   * containers they (and replaced deployments) left are removed and an interrupted
   * switch-over's previous container is put back under its name. The Docker part is skipped
   * (and reported) when no engine answers; call {@link reap} again once one does.
   */
  async recover(): Promise<ReapReport | undefined> {
    const interrupted = recoverInterrupted({ store: this.deployments, ports: this.opts.ports, now: this.now, log: this.log });
    for (const row of interrupted) {
      this.emit('progress', { deployment: row.id, sandbox: row.sandbox, service: row.service, kind: 'status', status: 'failed', t: this.now().toISOString() });
    }
    return this.reap();
  }

  /** Removes containers of deployments that are not serving (see {@link recover}); undefined without Docker. */
  async reap(): Promise<ReapReport | undefined> {
    let docker: DeployDocker;
    try {
      docker = this.opts.docker();
    } catch (e) {
      this.log.warn('Cannot look for orphaned deployment containers: Docker is unavailable', { reason: (e as Error).message });
      return undefined;
    }
    try {
      return await reapOrphans({ store: this.deployments, docker, sourcesDir: this.runDeps.sourcesDir, log: this.log, isActive: (id) => this.isActive(id) });
    } catch (e) {
      this.log.warn('Could not remove orphaned deployment containers', { error: (e as Error).message });
      return undefined;
    }
  }

  /** No new deployments; cancels the queued and running ones and waits (bounded) for their cleanup. */
  async shutdown(waitMs = SHUTDOWN_WAIT_MS): Promise<void> {
    this.closing = true;
    const runs = [...this.runs.values()];
    if (runs.length === 0) return;
    this.log.info(`Cancelling ${runs.length} deployment(s): the daemon is shutting down`);
    const all = Promise.all(runs.map((r) => this.cancel(r.id, 'the daemon is shutting down').catch(() => undefined)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }

  // ---- lanes ----

  private newRun(fields: DeploymentTarget, siblings: ReadonlyMap<string, string>): Run {
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const run: Run = {
      ...fields,
      controller: new AbortController(),
      recorder: new RunRecorder(
        { store: this.deployments, emit: (item) => this.emit('progress', item), now: this.now },
        fields.id,
        fields.sandbox,
        fields.service,
        this.opts.redactor,
      ),
      switching: false,
      waiting: false,
      siblings,
      done,
      resolveDone,
    };
    this.runs.set(run.id, run);
    return run;
  }

  private enqueue(run: Run): void {
    const key = laneKey(run.sandbox, run.service);
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = {}));
    const previous = lane.queued;
    lane.queued = run;
    if (previous) {
      this.finishQueued(previous, 'superseded', { supersededBy: run.id });
      run.recorder.log('daemon', `Replaces the queued deployment ${previous.id}`);
    }
    const waiting = lane.active?.waiting && !lane.active.controller.signal.aborted ? lane.active : undefined;
    if (waiting) {
      // It started nothing yet: it is replaced as a queued one would be.
      waiting.supersededBy = run.id;
      waiting.controller.abort(Object.assign(new Error(`Superseded by ${run.id}`), { name: 'AbortError' }));
      run.recorder.log('daemon', `Replaces the deployment ${waiting.id}, which was waiting for its dependencies`);
    }
    if (lane.active) {
      run.recorder.log('daemon', `Waiting for deployment ${lane.active.id} of ${run.service} to finish`);
    } else {
      this.promote(key, lane);
    }
  }

  private promote(key: string, lane: Lane): void {
    const run = lane.queued;
    if (!run) {
      if (!lane.active) this.lanes.delete(key);
      return;
    }
    lane.queued = undefined;
    lane.active = run;
    // Let `start` answer before the first stage writes anything.
    setImmediate(() => {
      const { id, sandbox, service, repoRoot, ref, commit, includeUncommitted } = run;
      void runDeployment(
        {
          id,
          sandbox,
          service,
          repoRoot,
          ref,
          commit,
          includeUncommitted,
          signal: run.controller.signal,
          recorder: run.recorder,
          cancelReason: () => run.cancelReason,
          enterSwitchOver: () => (run.switching = true),
          waitForDependencies: (config) => this.waitForDependencies(run, config),
          supersededBy: () => run.supersededBy,
        },
        this.runDeps,
      )
        .catch((e: unknown) => this.log.error('Deployment run failed unexpectedly', { deployment: run.id, error: e }))
        .finally(() => {
          this.runs.delete(run.id);
          lane.active = undefined;
          this.ensureFinal(run);
          run.resolveDone();
          this.promote(key, lane);
        });
    });
  }

  /** Whether the sandbox has the service: serving it, its job completed, or a deployment of it in flight. */
  private present(sandbox: string, service: string): boolean {
    const lane = this.lanes.get(laneKey(sandbox, service));
    if (lane?.active || lane?.queued) return true;
    const serving = this.opts.sandboxes.get(sandbox)?.services.some((s) => s.service === service && s.containerId !== undefined);
    if (serving) return true;
    const [latest] = this.deployments.list({ sandbox, service, limit: 1 });
    return isServing(latest?.status);
  }

  /** The wait of `run` for its dependencies (./dependencies.ts), read from this pipeline and the sandbox. */
  private async waitForDependencies(run: Run, config: DeployServiceConfig): Promise<void> {
    const source: DependencySource = {
      deployment: (service) => {
        const sibling = run.siblings.get(service);
        if (sibling !== undefined) return sibling;
        const lane = this.lanes.get(laneKey(run.sandbox, service));
        return (lane?.queued ?? lane?.active)?.id;
      },
      record: (id) => {
        const r = this.get(id);
        return {
          id,
          status: r.status,
          ...(r.diagnosis !== undefined ? { diagnosis: r.diagnosis } : {}),
          ...(r.supersededBy !== undefined ? { supersededBy: r.supersededBy } : {}),
          started: r.stages.some((st) => st.stage === 'start' && st.outcome === 'ok'),
        };
      },
      watch: (id, listener) => this.on('progress', (item) => item.deployment === id && item.kind !== 'log' && listener()),
      serving: async (service) => {
        const containerId = this.opts.sandboxes.get(run.sandbox)?.services.find((s) => s.service === service)?.containerId;
        if (containerId === undefined) return undefined;
        const state = await this.opts.docker().inspectContainer(containerId);
        return state && { running: state.running, exitCode: state.exitCode, ...(state.health ? { health: state.health } : {}) };
      },
    };
    run.waiting = true;
    try {
      await waitForDependencies(run.service, config.dependsOn ?? {}, source, run.controller.signal, (line) => run.recorder.log('daemon', line));
    } finally {
      run.waiting = false;
    }
  }

  /** Ends a deployment that never left the queue. */
  private finishQueued(run: Run, status: 'superseded' | 'cancelled', fields: { supersededBy?: string; diagnosis?: string }): void {
    this.runs.delete(run.id);
    run.recorder.status(status, { ...fields, finishedAt: this.now().toISOString() });
    this.deployments.finishLog(run);
    run.resolveDone();
  }

  /** A run that ended without a final status (a bug) is failed rather than left hanging. */
  private ensureFinal(run: Run): void {
    const row = this.deployments.row(run.id);
    if (row && !isFinal(row.status)) {
      run.recorder.status('failed', { diagnosis: `${row.status} failed: the deployment ended unexpectedly`, finishedAt: this.now().toISOString() });
    }
  }

  /** Makes sure of the sandbox's network; concurrent deployments of one sandbox share the call. */
  private ensureNetwork(sandbox: string): Promise<void> {
    let pending = this.networks.get(sandbox);
    if (!pending) {
      pending = this.opts
        .ensureNetwork(sandbox)
        .then(() => undefined)
        .finally(() => this.networks.delete(sandbox));
      this.networks.set(sandbox, pending);
    }
    return pending;
  }
}

const laneKey = (sandbox: string, service: string) => `${sandbox}\u0000${service}`;

/** The branch checked out in `repoRoot`, read from `.git/HEAD` without running git; undefined when unknown. */
function checkedOutBranch(repoRoot: string): string | undefined {
  try {
    const head = readFileSync(join(repoRoot, '.git', 'HEAD'), 'utf8').trim();
    return head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : undefined;
  } catch {
    return undefined; // a worktree (.git is a file) or unreadable: the check waits for prepare
  }
}
