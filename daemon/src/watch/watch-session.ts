/**
 * One running watch: a sandbox following the working tree of its repository. Each batch of
 * changes (tree-watcher.ts) loses what git ignores, then per service what its context's
 * `.dockerignore` excludes and its rules ignore (rule-match.ts); each service then syncs its
 * files into its serving container (container-sync.ts), restarts it and waits until healthy
 * (sync+restart), or is deployed again from the working tree (rebuild). Each action ends in one
 * `sync` event and one line in the log of the deployment serving the service. A failed action
 * is reported and the watch goes on: the next change tries again.
 *
 * At start every sync rule's files (tracked and untracked, not ignored) are synced once, so the
 * container matches the tree before the first change; {@link WatchSession.resync} does it again
 * for one service (its container was replaced by a deployment of the branch it follows). After
 * each sync that went well, the service's working-tree marker is measured again (how many files
 * of its context differ from its commit) and stored with the sandbox, beside the actions: no
 * sync waits for a count. Actions — the initial sync, each batch, a resync — run one at a
 * time, in the order they came.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceConfig, WatchAction, WatchRule } from '../../../schemas/src/project';
import type { Sandbox } from '../../../schemas/src/sandbox';
import { MAX_LISTED_FILES, type WatchEvent, type WatchView } from '../../../schemas/src/watch';
import type { DeploymentStatus, LogSource } from '../../../schemas/src/deploy';
import { dockerignoreMatcher } from '../deploy/dockerignore';
import type { GitSource } from '../deploy/git-source';
import { serviceProbeSpec, waitHealthy } from '../deploy/health-probe';
import { changedInWorkingTree, repoFolder } from '../deploy/working-tree-changes';
import type { OwnerScope } from '../docker/ownership';
import type { Logger } from '../runtime/log';
import { syncIntoContainer, type SyncDocker } from './container-sync';
import { compileRules, planFor, within, type CompiledRule, type FileChange, type ServicePlan } from './rule-match';
import { TreeWatcher } from './tree-watcher';

/** How long a restarting container is given to stop before it is killed (seconds). */
const RESTART_STOP_SECONDS = 5;
/** How long a restarted service may take to be healthy again. */
const RESTART_HEALTHY_MS = 60_000;
/** The most folders an empty folder created brings with it (its subfolders, as `mkdir -p` makes them). */
const MAX_EMPTY_FOLDERS = 1_000;

export interface WatchDeps {
  readonly docker: SyncDocker & { restart(ref: string, timeoutSeconds: number, scope: OwnerScope): Promise<void> };
  readonly git: Pick<GitSource, 'ignoredPaths' | 'workingFiles' | 'run'>;
  readonly sandboxes: {
    get(name: string): Sandbox | undefined;
    /** Stores the service's working-tree marker, measured after a sync into the container of `deployment` (SandboxStore.markWorkingTree). */
    markWorkingTree(sandbox: string, service: string, deployment: string, changedFiles: number): unknown;
  };
  /** Appends a line to a deployment's stored log. */
  readonly appendLog: (deployment: string, source: LogSource, line: string) => void;
  /** Deploys the service from the working tree and waits for the end: the deployment and its final status. */
  readonly rebuild: (req: {
    repoPath: string;
    sandbox: string;
    service: string;
    /** Aborted when the rebuild must not take the service over any more (queued or in flight, it is cancelled). */
    signal: AbortSignal;
  }) => Promise<{ deployment: string; status: DeploymentStatus; diagnosis?: string }>;
  readonly log: Logger;
  readonly quietMs?: number;
  /**
   * Marks a service as restarted on purpose (sync+restart) until the answer is called: the
   * health monitor, which restarts a service it finds down, leaves it alone meanwhile.
   */
  readonly restartingOnPurpose?: (sandbox: string, service: string) => () => void;
}

export interface WatchedServiceSpec {
  readonly config: ServiceConfig;
  readonly rules: readonly WatchRule[];
}

interface ServiceState {
  readonly config: ServiceConfig;
  readonly rules: readonly WatchRule[];
  readonly compiled: CompiledRule[];
  /** The context, as one form of repository-relative folder (`.` for the root). */
  readonly context: string;
  /** The context's .dockerignore, relative to the context; undefined when there is none. Read again when it changes. */
  dockerignored?: (relativeToContext: string) => boolean;
}

export class WatchSession {
  private readonly services: Map<string, ServiceState>;
  private readonly abort = new AbortController();
  /** Cancels this watch's rebuilds ({@link cancelRebuilds}). */
  private readonly rebuilds = new AbortController();
  private tree: TreeWatcher | undefined;
  /** The action in progress and those queued behind it. */
  private queue: Promise<void> = Promise.resolve();
  /**
   * The marker measures, one after the other beside the actions (a sync does not wait for the
   * previous one's count); one waiting per service and deployment stands for any more asked meanwhile.
   */
  private measures: Promise<void> = Promise.resolve();
  private readonly measureWaiting = new Set<string>();
  private syncs = 0;
  private failures = 0;
  private lastSyncAt: string | undefined;
  readonly startedAt = new Date().toISOString();

  constructor(
    readonly sandbox: string,
    readonly root: string,
    services: ReadonlyMap<string, WatchedServiceSpec>,
    private readonly deps: WatchDeps,
    private readonly emit: (event: WatchEvent) => void,
    /** The watcher itself failed: the owner stops the watch with this reason. */
    private readonly onFailure: (reason: string) => void,
  ) {
    this.services = new Map(
      [...services].map(([name, s]) => {
        const context = repoFolder(s.config.context);
        return [name, { ...s, compiled: compileRules(s.rules), context, ...dockerignoreOf(root, context) }];
      }),
    );
  }

  /** Whether the watch covers `service`. */
  has(service: string): boolean {
    return this.services.has(service);
  }

  view(): WatchView {
    return {
      sandbox: this.sandbox,
      repoPath: this.root,
      services: [...this.services].map(([service, s]) => ({ service, rules: [...s.rules] })),
      startedAt: this.startedAt,
      syncs: this.syncs,
      failures: this.failures,
      ...(this.lastSyncAt ? { lastSyncAt: this.lastSyncAt } : {}),
    };
  }

  /** Starts the watcher, then the initial sync (in the background; its events report it). */
  async start(): Promise<void> {
    this.tree = await TreeWatcher.start(this.root, {
      ...(this.deps.quietMs !== undefined ? { quietMs: this.deps.quietMs } : {}),
      // Queued behind the initial sync: acted on after it, on top of it.
      onBatch: (changes) => this.serial(() => this.act(changes, false)),
      onError: (e) => this.onFailure(`the file watcher failed: ${e.message}`),
    });
    void this.serial(() => this.initialSync());
  }

  /**
   * The initial sync again, for `service` only: its container was replaced (a deployment of the
   * commit its branch moved to) and holds none of the tree's changes. Queued behind the action
   * in progress; resolves once done.
   */
  resync(service: string): Promise<void> {
    return this.services.has(service) ? this.serial(() => this.initialSync(new Set([service]))) : Promise.resolve();
  }

  /**
   * Cancels the rebuild in progress, if any, and any to come: a deployment not this watch's took
   * a service over, and no rebuild of the tree may replace it after. Call before {@link stop}.
   */
  cancelRebuilds(): void {
    this.rebuilds.abort(new Error('a later deployment took the service over'));
  }

  /** Stops the watcher and waits for the action in progress (aborted where it can be). */
  async stop(): Promise<void> {
    this.abort.abort(new Error('the watch stopped'));
    await this.tree?.stop();
    await this.queue;
    await this.measures;
  }

  /** Runs `action` after those queued before it; its failure is logged, never passed on. */
  private serial(action: () => Promise<void>): Promise<void> {
    const next = this.queue.then(action).catch((e: unknown) => this.deps.log.warn('Watch action failed', { sandbox: this.sandbox, error: String(e) }));
    this.queue = next;
    return next;
  }

  private async initialSync(only?: ReadonlySet<string>): Promise<void> {
    const services = [...this.services].filter(([name]) => !only || only.has(name)).map(([, s]) => s);
    const folders = [...new Set(services.flatMap((s) => s.rules.filter((r) => r.action !== 'rebuild').map((r) => r.path)))];
    const files = new Set<string>();
    for (const folder of folders) for (const f of await this.deps.git.workingFiles(this.root, folder, { signal: this.abort.signal })) files.add(f);
    const changes = [...files].filter((f) => existsSync(join(this.root, f))).map((path): FileChange => ({ path, change: 'changed' }));
    await this.act(changes, true, only);
  }

  /** Acts on one batch: services one after the other, in name order (only those of `only`, when given). */
  private async act(batch: FileChange[], initial: boolean, only?: ReadonlySet<string>): Promise<void> {
    if (this.abort.signal.aborted || batch.length === 0) return;
    this.rereadDockerignores(batch);
    let changes: FileChange[];
    let ignored: Set<string>;
    try {
      changes = initial ? batch : await this.withFolderFiles(batch);
      ignored = await this.deps.git.ignoredPaths(this.root, changes.map((c) => c.path), { signal: this.abort.signal });
    } catch (e) {
      if (this.abort.signal.aborted) return;
      // Nothing is acted on without knowing what git ignores; each service watched hears why.
      const error = `cannot tell which files git ignores: ${oneLine((e as Error).message)}`;
      for (const service of this.services.keys()) this.report(service, { action: 'sync', initial, files: batch, durationMs: 0, outcome: { ok: false, error } });
      return;
    }
    const kept = changes.filter((c) => !ignored.has(c.path));
    for (const [service, state] of [...this.services].sort(([a], [b]) => a.localeCompare(b))) {
      if (this.abort.signal.aborted) return;
      if (only && !only.has(service)) continue;
      const mine = kept.filter((c) => !dockerignored(state, c.path));
      const plan = planFor(mine, state.compiled, { syncOnly: initial });
      if (plan) await this.run(service, state, plan, initial);
    }
  }

  /** A service whose context's `.dockerignore` is in the batch (written, created or deleted) reads it again before the batch is filtered. */
  private rereadDockerignores(batch: readonly FileChange[]): void {
    for (const [service, state] of this.services) {
      const file = dockerignorePath(state.context);
      if (!batch.some((c) => c.path === file)) continue;
      const { dockerignored } = dockerignoreOf(this.root, state.context);
      state.dockerignored = dockerignored;
      this.deps.log.info('Read the .dockerignore again', { sandbox: this.sandbox, service, file, present: dockerignored !== undefined });
    }
  }

  /**
   * A folder reported as created or moved in stands for its files: the native watcher reports
   * the folder, and files written into it before its own watch began are not reported. They are
   * asked of git (tracked and untracked, not ignored), so an ignored folder (node_modules) is
   * not walked. A folder of which git lists no file and that git does not ignore is synced as
   * a folder, with the folders under it (an empty folder, or several made by `mkdir -p`).
   */
  private async withFolderFiles(changes: FileChange[]): Promise<FileChange[]> {
    const out = new Map<string, FileChange>();
    for (const c of changes) {
      const folder = c.change === 'changed' && statOrUndefined(join(this.root, c.path))?.isDirectory();
      if (!folder) {
        out.set(c.path, c);
        continue;
      }
      const signal = this.abort.signal;
      const files = await this.deps.git.workingFiles(this.root, c.path, { signal });
      for (const path of files) {
        if (!out.has(path) && existsSync(join(this.root, path))) out.set(path, { path, change: 'changed' });
      }
      if (files.length === 0 && !(await this.deps.git.ignoredPaths(this.root, [c.path], { signal })).has(c.path)) {
        for (const path of foldersUnder(this.root, c.path)) if (!out.has(path)) out.set(path, { path, change: 'changed', folder: true });
      }
    }
    return [...out.values()];
  }

  private async run(service: string, state: ServiceState, plan: ServicePlan, initial: boolean): Promise<void> {
    const started = Date.now();
    const action = plan.kind === 'rebuild' ? 'rebuild' : plan.restart ? 'sync+restart' : 'sync';
    let outcome: { ok: true; deployment?: string } | { ok: false; error: string; deployment?: string };
    try {
      outcome = plan.kind === 'rebuild' ? await this.rebuild(service) : await this.sync(service, state, plan.files, plan.restart);
    } catch (e) {
      if (this.abort.signal.aborted) return;
      outcome = { ok: false, error: oneLine((e as Error).message) };
    }
    // Ended by the watch's stop, or a rebuild cancelled for a later deployment: not the watch's failure to report.
    if ((this.abort.signal.aborted || (plan.kind === 'rebuild' && this.rebuilds.signal.aborted)) && outcome.ok === false) return;
    this.report(service, { action, initial, files: plan.files, durationMs: Date.now() - started, outcome });
    // After the event (the files serve already): what the container runs now, beside its commit.
    if (outcome.ok && plan.kind === 'sync' && outcome.deployment && !this.abort.signal.aborted) this.remeasure(service, state, outcome.deployment);
  }

  /** Queues a measure of the service's marker (unless one is waiting already: it reads the tree when it runs). */
  private remeasure(service: string, state: ServiceState, deployment: string): void {
    const key = `${service}\u0000${deployment}`;
    if (this.measureWaiting.has(key)) return;
    this.measureWaiting.add(key);
    this.measures = this.measures.then(() => {
      this.measureWaiting.delete(key);
      return this.abort.signal.aborted ? undefined : this.measure(service, state, deployment);
    });
  }

  /** The service's working-tree marker, measured again after a sync into the container of `deployment`. */
  private async measure(service: string, state: ServiceState, deployment: string): Promise<void> {
    const serving = this.deps.sandboxes.get(this.sandbox)?.services.find((s) => s.service === service);
    if (serving?.deploymentId !== deployment || serving.commit === undefined) return; // replaced meanwhile: its own record decides
    try {
      const changed = await changedInWorkingTree(this.deps.git, this.root, serving.commit, state.context, { signal: this.abort.signal });
      this.deps.sandboxes.markWorkingTree(this.sandbox, service, deployment, changed);
    } catch (e) {
      if (!this.abort.signal.aborted) this.deps.log.warn('Cannot measure the working tree after a sync', { sandbox: this.sandbox, service, error: String(e) });
    }
  }

  /** Counts an action that ended, and tells it: a `sync` event and a line in the serving deployment's log. */
  private report(
    service: string,
    r: { action: WatchAction; initial: boolean; files: readonly FileChange[]; durationMs: number; outcome: { ok: true; deployment?: string } | { ok: false; error: string; deployment?: string } },
  ): void {
    const { action, initial, durationMs, outcome } = r;
    this.syncs++;
    if (!outcome.ok) this.failures++;
    this.lastSyncAt = new Date().toISOString();
    // Listed in path order (by code unit, as git does), the first MAX_LISTED_FILES of them.
    const files = r.files.map(({ path, change }) => ({ path, change })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const event: WatchEvent = {
      kind: 'sync',
      sandbox: this.sandbox,
      t: this.lastSyncAt,
      service,
      action,
      ...(initial ? { initial } : {}),
      files: files.slice(0, MAX_LISTED_FILES),
      fileCount: files.length,
      durationMs,
      outcome: outcome.ok ? 'ok' : 'failed',
      ...(outcome.ok ? {} : { error: outcome.error }),
      ...(outcome.deployment ? { deployment: outcome.deployment } : {}),
    };
    this.record(service, event);
    if (!outcome.ok) this.deps.log.warn('Watch action failed', { sandbox: this.sandbox, service, action, initial, error: outcome.error });
    this.emit(event);
  }

  private async sync(
    service: string,
    state: ServiceState,
    files: Extract<ServicePlan, { kind: 'sync' }>['files'],
    restart: boolean,
  ): Promise<{ ok: true; deployment?: string } | { ok: false; error: string; deployment?: string }> {
    const serving = this.deps.sandboxes.get(this.sandbox)?.services.find((s) => s.service === service);
    if (!serving?.containerId) return { ok: false, error: `${service} has no serving container in sandbox ${this.sandbox}: deploy it first` };
    const deployment = serving.deploymentId;
    const scope = { sandbox: this.sandbox, service };
    const signal = this.abort.signal;
    const failed = (error: string) => ({ ok: false as const, error, ...(deployment ? { deployment } : {}) });
    try {
      await syncIntoContainer(this.deps.docker, { container: serving.containerId, scope, root: this.root }, files, signal);
    } catch (e) {
      return failed(`cannot sync into the container of ${service}: ${oneLine((e as Error).message)}`);
    }
    if (restart) {
      // Down on purpose until healthy again: the health monitor must not restart it meanwhile.
      const release = this.deps.restartingOnPurpose?.(this.sandbox, service);
      try {
        await this.deps.docker.restart(serving.containerId, RESTART_STOP_SECONDS, scope);
        if (serving.hostPort !== undefined && state.config.port !== undefined) {
          const spec = serviceProbeSpec(state.config);
          const outcome = await waitHealthy(serving.hostPort, spec, { signal: AbortSignal.any([signal, AbortSignal.timeout(RESTART_HEALTHY_MS)]) });
          if (!outcome.healthy) return failed(`${service} restarted but is not healthy: ${outcome.last.detail}`);
        }
      } finally {
        release?.();
      }
    }
    return { ok: true, ...(deployment ? { deployment } : {}) };
  }

  private async rebuild(service: string): Promise<{ ok: true; deployment: string } | { ok: false; error: string; deployment: string }> {
    this.rebuilds.signal.throwIfAborted();
    const r = await this.deps.rebuild({ repoPath: this.root, sandbox: this.sandbox, service, signal: this.rebuilds.signal });
    if (r.status === 'running' || r.status === 'completed') return { ok: true, deployment: r.deployment };
    return { ok: false, deployment: r.deployment, error: `the rebuild ended ${r.status}${r.diagnosis ? `: ${r.diagnosis}` : ''}` };
  }

  /** One line in the log of the deployment serving the service (the rebuild's own log tells its story). */
  private record(service: string, e: WatchEvent): void {
    if (!e.deployment || e.action === 'rebuild') return;
    const what = `${e.initial ? 'initial ' : ''}${e.action} of ${e.fileCount} file(s) in ${e.durationMs} ms`;
    const line = e.outcome === 'ok' ? `watch: ${what}` : `watch: ${what} failed: ${e.error}`;
    try {
      this.deps.appendLog(e.deployment, 'daemon', line);
    } catch (err) {
      this.deps.log.warn('Cannot record a sync in the deployment log', { sandbox: this.sandbox, service, error: String(err) });
    }
  }
}

/** The `.dockerignore` of a context (`.` or a folder), relative to the repository root. */
const dockerignorePath = (context: string) => (context === '.' ? '.dockerignore' : `${context}/.dockerignore`);

function dockerignoreOf(root: string, context: string): { dockerignored?: (p: string) => boolean } {
  let text: string;
  try {
    text = readFileSync(join(root, dockerignorePath(context)), 'utf8');
  } catch {
    return {}; // none (or not a readable file): nothing excluded
  }
  return { dockerignored: dockerignoreMatcher(text) };
}

/** Whether the service's context `.dockerignore` excludes `file` (files outside the context are not its business). */
function dockerignored(state: ServiceState, file: string): boolean {
  if (!state.dockerignored) return false;
  const relative = within(state.context, file);
  return relative !== undefined && relative !== '' && state.dockerignored(relative);
}

/** `folder` and the folders under it, breadth first, at most {@link MAX_EMPTY_FOLDERS}. */
function foldersUnder(root: string, folder: string): string[] {
  const out = [folder];
  for (let i = 0; i < out.length && out.length < MAX_EMPTY_FOLDERS; i++) {
    try {
      for (const entry of readdirSync(join(root, out[i]!), { withFileTypes: true })) if (entry.isDirectory()) out.push(`${out[i]}/${entry.name}`);
    } catch {
      // gone meanwhile: its parent is still synced
    }
  }
  return out.slice(0, MAX_EMPTY_FOLDERS);
}

function statOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}
