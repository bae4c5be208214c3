/**
 * The running watches, one per sandbox, kept in memory only: nothing of a watch is written to
 * the state database, so there is nothing half-written to recover — a watch ends with the
 * daemon, and a client that wants it again starts it again. A watch stops on `watch/stop`, when
 * its sandbox is deleted or leaves the active state (suspended, expired), when its watcher
 * fails, and at shutdown; each stop is announced with its reason.
 *
 * A deployment that switches over in a watched service replaces what the watch synced. One the
 * watch asked for itself (a rebuild) changes nothing; one of the branch the sandbox follows (the
 * branch moved: REQUESTED_BY.follow) keeps the watch, which syncs the service again once the new
 * container serves; any other — a user deploying a commit — stops the watch, saying which
 * deployment took the service over: the sandbox runs that now, not the working tree.
 */
import type { Project, ServiceConfig } from '../../../schemas/src/project';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { WatchEvent, WatchView } from '../../../schemas/src/watch';
import { TypedEmitter } from '../docker/typed-emitter';
import { findRepoRoot } from '../deploy/git-source';
import { REQUESTED_BY } from '../deploy/requesters';
import { RpcError } from '../rpc/errors';
import type { SandboxStore } from '../sandbox/sandbox-store';
import { WatchSession, type WatchDeps, type WatchedServiceSpec } from './watch-session';

/** Why a watch stops when its sandbox leaves the active state. */
const LEFT_ACTIVE: Readonly<Record<Exclude<Sandbox['state'], 'active'>, string>> = {
  suspended: 'the sandbox is suspended',
  expired: 'the sandbox expired',
  deleting: 'the sandbox is being deleted',
};

/** A deployment that switched over: its container serves the service now. */
export interface SwitchOver {
  readonly id: string;
  readonly sandbox: string;
  readonly service: string;
  readonly ref?: string;
  readonly commit?: string;
  readonly includeUncommitted: boolean;
  readonly requestedBy?: string;
}

export interface WatchesDeps extends WatchDeps {
  readonly sandboxes: Pick<SandboxStore, 'get' | 'onChange' | 'markWorkingTree'>;
  readonly loadProject: (repoPath: string) => Project;
  /** Calls the listener with each deployment once it switched over (DeployPipeline.onSwitchOver); answers the function that stops it. */
  readonly onSwitchOver: (listener: (deployment: SwitchOver) => void) => () => void;
}

export class Watches extends TypedEmitter<{ event: [WatchEvent] }> {
  private readonly sessions = new Map<string, WatchSession>();
  /** Sandboxes whose watch is being started or stopped: a second request waits its turn. */
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly stopListening: () => void;
  private readonly stopSwitchOvers: () => void;

  constructor(private readonly deps: WatchesDeps) {
    super((event, error) => deps.log.warn('Watch listener failed', { event, error: String(error) }));
    this.stopListening = deps.sandboxes.onChange((e) => {
      if (!this.sessions.has(e.name)) return;
      if (e.kind === 'deleted') void this.stop(e.name, 'the sandbox was deleted');
      else {
        const state = deps.sandboxes.get(e.name)?.state;
        if (state !== undefined && state !== 'active') void this.stop(e.name, LEFT_ACTIVE[state]);
      }
    });
    this.stopSwitchOvers = deps.onSwitchOver((d) => this.switchedOver(d));
  }

  list(sandbox?: string): WatchView[] {
    return [...this.sessions.values()]
      .filter((s) => sandbox === undefined || s.sandbox === sandbox)
      .map((s) => s.view())
      .sort((a, b) => a.sandbox.localeCompare(b.sandbox));
  }

  start(req: { sandbox: string; repoPath: string; services?: readonly string[] }): Promise<WatchView> {
    return this.serialized(req.sandbox, () => this.startNow(req));
  }

  /** Stops the sandbox's watch; false when it has none. */
  stop(sandbox: string, reason = 'watch/stop'): Promise<boolean> {
    return this.serialized(sandbox, async () => {
      const session = this.sessions.get(sandbox);
      if (!session) return false;
      this.sessions.delete(sandbox);
      await session.stop();
      this.deps.log.info('Watch stopped', { sandbox, reason });
      this.emit('event', { kind: 'stopped', sandbox, t: new Date().toISOString(), watch: session.view(), reason });
      return true;
    });
  }

  /** Stops every watch (daemon shutdown). */
  async stopAll(reason: string): Promise<void> {
    this.stopListening();
    this.stopSwitchOvers();
    await Promise.all([...this.sessions.keys()].map((sandbox) => this.stop(sandbox, reason)));
  }

  private async startNow(req: { sandbox: string; repoPath: string; services?: readonly string[] }): Promise<WatchView> {
    const sandbox = this.deps.sandboxes.get(req.sandbox);
    if (!sandbox) throw new RpcError('SandboxNotFound', `No sandbox "${req.sandbox}"`, { sandbox: req.sandbox });
    if (sandbox.state !== 'active') throw new RpcError('Conflict', `Sandbox ${req.sandbox} is ${sandbox.state}: resume it before watching`, { sandbox: req.sandbox });
    if (this.sessions.has(req.sandbox)) throw new RpcError('Conflict', `Sandbox ${req.sandbox} is already watched (watch/stop it first)`, { sandbox: req.sandbox });
    const root = findRepoRoot(req.repoPath);
    const project = this.deps.loadProject(root);
    const services = watchedServices(project, sandbox.services.filter((s) => s.containerId).map((s) => s.service), req.sandbox, req.services);
    const session = new WatchSession(req.sandbox, root, services, this.deps, (e) => this.emit('event', e), (reason) => void this.stop(req.sandbox, reason));
    await session.start();
    this.sessions.set(req.sandbox, session);
    this.deps.log.info('Watch started', { sandbox: req.sandbox, root, services: [...services.keys()] });
    const view = session.view();
    this.emit('event', { kind: 'started', sandbox: req.sandbox, t: view.startedAt, watch: view });
    return view;
  }

  /** A deployment took over a service: a watch of it goes on (its own rebuild), syncs again (the branch it follows moved) or stops. */
  private switchedOver(d: SwitchOver): void {
    const session = this.sessions.get(d.sandbox);
    if (!session?.has(d.service) || d.requestedBy === REQUESTED_BY.watch) return;
    if (d.requestedBy === REQUESTED_BY.follow) {
      this.deps.log.info('Syncing the working tree again: the branch followed was deployed', { sandbox: d.sandbox, service: d.service, deployment: d.id });
      void session.resync(d.service);
      return;
    }
    // A rebuild of the watch in flight or queued behind this deployment would put the tree back over it.
    session.cancelRebuilds();
    void this.stop(d.sandbox, replacedReason(d));
  }

  private async serialized<T>(sandbox: string, fn: () => Promise<T>): Promise<T> {
    const before = this.busy.get(sandbox) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(fn);
    this.busy.set(sandbox, mine);
    try {
      return await mine;
    } finally {
      if (this.busy.get(sandbox) === mine) this.busy.delete(sandbox);
    }
  }
}

/**
 * The services a watch covers: those named (each must have rules), else every service with
 * rules that serves in the sandbox. InvalidParams says why when none can be watched.
 */
export function watchedServices(project: Project, serving: readonly string[], sandbox: string, named?: readonly string[]): Map<string, WatchedServiceSpec> {
  const withRules = (s: ServiceConfig | undefined): s is ServiceConfig & { watch: NonNullable<ServiceConfig['watch']> } => !!s?.watch?.length;
  const chosen = new Map<string, WatchedServiceSpec>();
  if (named) {
    for (const name of named) {
      const config = project.services[name];
      if (!config) throw new RpcError('InvalidParams', `"${name}" is not a service of project ${project.name} (services: ${Object.keys(project.services).sort().join(', ')})`);
      if (!withRules(config)) throw new RpcError('InvalidParams', `${name} has no watch rules: add watch: to it in branchbox.yaml, or develop.watch in the compose file`);
      chosen.set(name, { config, rules: config.watch });
    }
    return chosen;
  }
  for (const [name, config] of Object.entries(project.services)) if (withRules(config) && serving.includes(name)) chosen.set(name, { config, rules: config.watch });
  if (chosen.size === 0) {
    const ruled = Object.values(project.services).filter(withRules).map((s) => s.name);
    throw new RpcError(
      'InvalidParams',
      ruled.length
        ? `None of the services with watch rules (${ruled.join(', ')}) serves in sandbox ${sandbox}: deploy them first`
        : `No service of project ${project.name} has watch rules: add watch: to a service in branchbox.yaml, or develop.watch in the compose file`,
    );
  }
  return chosen;
}

/** "account was deployed from main@1a2b3c4: the sandbox runs that commit now". */
export function replacedReason(d: Pick<SwitchOver, 'service' | 'ref' | 'commit' | 'includeUncommitted'>): string {
  const commit = d.commit?.slice(0, 7);
  const from = d.ref && commit ? `${d.ref}@${commit}` : (commit ?? d.ref ?? 'another source');
  return d.includeUncommitted
    ? `${d.service} was deployed from ${from} with uncommitted changes: the sandbox runs that deployment now`
    : `${d.service} was deployed from ${from}: the sandbox runs that commit now`;
}
