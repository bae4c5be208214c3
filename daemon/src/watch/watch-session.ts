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
 * container matches the tree before the first change.
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceConfig, WatchAction, WatchRule } from '../../../schemas/src/project';
import type { Sandbox } from '../../../schemas/src/sandbox';
import { MAX_LISTED_FILES, type WatchEvent, type WatchView } from '../../../schemas/src/watch';
import type { DeploymentStatus, LogSource } from '../../../schemas/src/deploy';
import { dockerignoreMatcher } from '../deploy/dockerignore';
import type { GitSource } from '../deploy/git-source';
import { serviceProbeSpec, waitHealthy } from '../deploy/health-probe';
import type { OwnerScope } from '../docker/ownership';
import type { Logger } from '../runtime/log';
import { syncIntoContainer, type SyncDocker } from './container-sync';
import { compileRules, planFor, within, type CompiledRule, type FileChange, type ServicePlan } from './rule-match';
import { TreeWatcher } from './tree-watcher';

/** How long a restarting container is given to stop before it is killed (seconds). */
const RESTART_STOP_SECONDS = 5;
/** How long a restarted service may take to be healthy again. */
const RESTART_HEALTHY_MS = 60_000;

export interface WatchDeps {
  readonly docker: SyncDocker & { restart(ref: string, timeoutSeconds: number, scope: OwnerScope): Promise<void> };
  readonly git: Pick<GitSource, 'ignoredPaths' | 'workingFiles'>;
  readonly sandboxes: { get(name: string): Sandbox | undefined };
  /** Appends a line to a deployment's stored log. */
  readonly appendLog: (deployment: string, source: LogSource, line: string) => void;
  /** Deploys the service from the working tree and waits for the end: the deployment and its final status. */
  readonly rebuild: (req: { repoPath: string; sandbox: string; service: string }) => Promise<{ deployment: string; status: DeploymentStatus; diagnosis?: string }>;
  readonly log: Logger;
  readonly quietMs?: number;
}

export interface WatchedServiceSpec {
  readonly config: ServiceConfig;
  readonly rules: readonly WatchRule[];
}

interface ServiceState {
  readonly config: ServiceConfig;
  readonly rules: readonly WatchRule[];
  readonly compiled: CompiledRule[];
  /** The context's .dockerignore, relative to the context; undefined when there is none. */
  readonly dockerignored?: (relativeToContext: string) => boolean;
}

export class WatchSession {
  private readonly services: Map<string, ServiceState>;
  private readonly abort = new AbortController();
  private tree: TreeWatcher | undefined;
  private initial: Promise<void> | undefined;
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
    this.services = new Map([...services].map(([name, s]) => [name, { ...s, compiled: compileRules(s.rules), ...dockerignoreOf(root, s.config) }]));
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
      // Changes wait for the initial sync: they are acted on after it, on top of it.
      onBatch: async (changes) => {
        await this.initial;
        await this.act(changes, false);
      },
      onError: (e) => this.onFailure(`the file watcher failed: ${e.message}`),
    });
    this.initial = this.initialSync().catch((e: unknown) => this.deps.log.warn('Initial sync failed', { sandbox: this.sandbox, error: String(e) }));
  }

  /** Stops the watcher and waits for the action in progress (aborted where it can be). */
  async stop(): Promise<void> {
    this.abort.abort(new Error('the watch stopped'));
    await this.tree?.stop();
    await this.initial;
  }

  private async initialSync(): Promise<void> {
    const folders = [...new Set([...this.services.values()].flatMap((s) => s.rules.filter((r) => r.action !== 'rebuild').map((r) => r.path)))];
    const files = new Set<string>();
    for (const folder of folders) for (const f of await this.deps.git.workingFiles(this.root, folder, { signal: this.abort.signal })) files.add(f);
    const changes = [...files].filter((f) => existsSync(join(this.root, f))).map((path): FileChange => ({ path, change: 'changed' }));
    await this.act(changes, true);
  }

  /** Acts on one batch: services one after the other, in name order. */
  private async act(batch: FileChange[], initial: boolean): Promise<void> {
    if (this.abort.signal.aborted || batch.length === 0) return;
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
      const mine = kept.filter((c) => !dockerignored(state, c.path));
      const plan = planFor(mine, state.compiled, { syncOnly: initial });
      if (plan) await this.run(service, state, plan, initial);
    }
  }

  /**
   * A folder reported as created or moved in stands for its files: the native watcher reports
   * the folder, and files written into it before its own watch began are not reported. They are
   * asked of git (tracked and untracked, not ignored), so an ignored folder (node_modules) is
   * not walked.
   */
  private async withFolderFiles(changes: FileChange[]): Promise<FileChange[]> {
    const out = new Map<string, FileChange>();
    for (const c of changes) {
      const folder = c.change === 'changed' && statOrUndefined(join(this.root, c.path))?.isDirectory();
      if (!folder) {
        out.set(c.path, c);
        continue;
      }
      for (const path of await this.deps.git.workingFiles(this.root, c.path, { signal: this.abort.signal })) {
        if (!out.has(path) && existsSync(join(this.root, path))) out.set(path, { path, change: 'changed' });
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
    if (this.abort.signal.aborted && outcome.ok === false) return;
    this.report(service, { action, initial, files: plan.files, durationMs: Date.now() - started, outcome });
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
      await this.deps.docker.restart(serving.containerId, RESTART_STOP_SECONDS, scope);
      if (serving.hostPort !== undefined && state.config.port !== undefined) {
        const spec = serviceProbeSpec(state.config);
        const outcome = await waitHealthy(serving.hostPort, spec, { signal: AbortSignal.any([signal, AbortSignal.timeout(RESTART_HEALTHY_MS)]) });
        if (!outcome.healthy) return failed(`${service} restarted but is not healthy: ${outcome.last.detail}`);
      }
    }
    return { ok: true, ...(deployment ? { deployment } : {}) };
  }

  private async rebuild(service: string): Promise<{ ok: true; deployment: string } | { ok: false; error: string; deployment: string }> {
    const r = await this.deps.rebuild({ repoPath: this.root, sandbox: this.sandbox, service });
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

function dockerignoreOf(root: string, config: ServiceConfig): { dockerignored?: (p: string) => boolean } {
  const file = join(root, config.context, '.dockerignore');
  if (!existsSync(file)) return {};
  return { dockerignored: dockerignoreMatcher(readFileSync(file, 'utf8')) };
}

/** Whether the service's context `.dockerignore` excludes `file` (files outside the context are not its business). */
function dockerignored(state: ServiceState, file: string): boolean {
  if (!state.dockerignored) return false;
  const relative = within(state.config.context === '' ? '.' : state.config.context, file);
  return relative !== undefined && relative !== '' && state.dockerignored(relative);
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
