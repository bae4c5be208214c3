/**
 * The forwards of every project and each project's current sandbox: what the forward/*
 * methods act on. Stored by {@link ForwardStore}; each forward has a {@link ForwardListener}
 * on 127.0.0.1 whose new connections reach the project's current sandbox, looked up per
 * connection. Restored when the daemon starts (a port taken meanwhile is reported on the
 * forward, the daemon starts anyway); a deleted sandbox stops being current; connections to a
 * container that stops or goes away are ended. Changes are announced per project.
 */
import type { Project } from '../../../schemas/src/project';
import type { ForwardProject, ForwardView } from '../../../schemas/src/forward';
import type { Sandbox, SandboxEvent } from '../../../schemas/src/sandbox';
import { RpcError } from '../rpc/errors';
import type { Logger } from '../runtime/log';
import { ForwardListener } from './forward-listener';
import type { ForwardSpec, ForwardStore } from './forward-store';
import type { TargetResolver } from './serving-targets';

/** Local ports default to the published (else container) port plus this. */
const LOCAL_PORT_OFFSET = 10_000;

export interface ForwardsDeps {
  readonly store: ForwardStore;
  readonly sandboxes: {
    get(name: string): Sandbox | undefined;
    list(): Sandbox[];
    onChange(listener: (event: SandboxEvent) => void): () => void;
  };
  readonly resolve: TargetResolver;
  /** The project file of a repository (the defaults of forward/add come from it). */
  readonly loadProject: (repoPath: string) => Project;
  readonly log: Logger;
}

export interface AddForward {
  readonly project: string;
  readonly service: string;
  readonly containerPort?: number;
  readonly localPort?: number;
}

const key = (f: Pick<ForwardSpec, 'project' | 'service' | 'containerPort'>) => `${f.project}\0${f.service}\0${f.containerPort}`;

export class Forwards {
  private readonly listeners = new Map<string, ForwardListener>();
  private readonly currents: Map<string, string>;
  /** Per project, why it has no current sandbox when one was unset by a delete. */
  private readonly unsetReasons = new Map<string, string>();
  private readonly changeListeners = new Set<(project: string) => void>();
  private readonly stopFollowing: () => void;

  constructor(private readonly deps: ForwardsDeps) {
    this.currents = deps.store.currents();
    this.stopFollowing = deps.sandboxes.onChange((event) => {
      if (event.kind === 'deleted') this.sandboxDeleted(event.name);
    });
  }

  /** Listens on every stored forward; one that cannot bind keeps its listenError. Forgets current sandboxes deleted meanwhile. */
  async start(): Promise<void> {
    for (const [project, sandbox] of [...this.currents]) if (!this.deps.sandboxes.get(sandbox)) this.unsetDeleted(project, sandbox);
    for (const spec of this.deps.store.list()) {
      const listener = this.listenerFor(spec);
      this.listeners.set(key(spec), listener);
      try {
        await listener.listen();
      } catch (e) {
        this.deps.log.warn('A forward could not listen again', { ...spec, error: (e as Error).message });
      }
    }
    if (this.listeners.size) this.deps.log.info('Forwards restored', { forwards: this.listeners.size, listening: [...this.listeners.values()].filter((l) => l.listening).length });
  }

  /** Closes every listener and the connections through them. */
  async stop(): Promise<void> {
    this.stopFollowing();
    await Promise.all([...this.listeners.values()].map((l) => l.close()));
  }

  /** Calls `listener` with the project whose forwards or current sandbox changed; returns the function that stops it. */
  onChange(listener: (project: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Ends the connections piped to a container that stopped or went away. */
  containerGone(containerId: string): void {
    for (const listener of this.listeners.values()) {
      const ended = listener.endContainer(containerId);
      if (ended) this.deps.log.info('Forward connections ended: their container went away', { ...listener.spec, containerId, ended });
    }
  }

  /** Every project with forwards or a current sandbox (or just `project`), by name. */
  async list(project?: string): Promise<ForwardProject[]> {
    const names = new Set([...this.currents.keys(), ...[...this.listeners.values()].map((l) => l.spec.project)]);
    if (project !== undefined) return [await this.state(project)];
    return Promise.all([...names].sort().map((name) => this.state(name)));
  }

  /** One project's current sandbox and forwards. */
  async state(project: string): Promise<ForwardProject> {
    const sandbox = this.currents.get(project);
    const listeners = [...this.listeners.values()]
      .filter((l) => l.spec.project === project)
      .sort((a, b) => a.spec.service.localeCompare(b.spec.service) || a.spec.containerPort - b.spec.containerPort);
    return { project, ...(sandbox !== undefined ? { sandbox } : {}), forwards: await Promise.all(listeners.map((l) => this.view(l))) };
  }

  /** Adds a forward and starts listening. @throws RpcError PortInUse, InvalidParams, ConfigInvalid, FileNotFound */
  async add(req: AddForward): Promise<ForwardView> {
    const { containerPort, published } = this.portsOf(req);
    const localPort = req.localPort ?? (published ?? containerPort) + LOCAL_PORT_OFFSET;
    if (localPort > 65535)
      throw invalid('forward/add', '/localPort', `${published ?? containerPort} + ${LOCAL_PORT_OFFSET} is beyond 65535: give localPort`);
    const spec: ForwardSpec = { project: req.project, service: req.service, containerPort, localPort };
    const existing = this.listeners.get(key(spec));
    if (existing && !existing.listening && (req.localPort === undefined || req.localPort === existing.spec.localPort)) {
      // Restored at start on a port another process held: try it again.
      await existing.listen();
      this.deps.log.info('Forward listening again', { ...existing.spec });
      this.changed(req.project);
      return this.view(existing);
    }
    if (existing)
      throw invalid('forward/add', '/service', `${req.service}:${containerPort} of project ${req.project} is already forwarded on 127.0.0.1:${existing.spec.localPort}`);
    const holder = this.deps.store.holding(localPort);
    if (holder)
      throw new RpcError('PortInUse', `127.0.0.1:${localPort} is already the forward of ${holder.service}:${holder.containerPort} of project ${holder.project}.`, {
        port: localPort,
        forward: holder,
      });
    const listener = this.listenerFor(spec);
    await listener.listen();
    try {
      this.deps.store.add(spec);
    } catch (e) {
      await listener.close();
      throw e;
    }
    this.listeners.set(key(spec), listener);
    this.deps.log.info('Forward added', { ...spec });
    this.changed(req.project);
    return this.view(listener);
  }

  /** Removes a forward: closes its port and its connections. @throws RpcError InvalidParams naming what exists */
  async remove(req: { project: string; service: string; containerPort?: number }): Promise<ForwardView> {
    const ofService = [...this.listeners.values()].filter((l) => l.spec.project === req.project && l.spec.service === req.service);
    const matching = req.containerPort === undefined ? ofService : ofService.filter((l) => l.spec.containerPort === req.containerPort);
    if (matching.length !== 1) {
      const existing = [...this.listeners.values()].filter((l) => l.spec.project === req.project).map((l) => `${l.spec.service}:${l.spec.containerPort}`);
      const what = req.containerPort === undefined ? req.service : `${req.service}:${req.containerPort}`;
      throw invalid(
        'forward/remove',
        matching.length ? '/containerPort' : '/service',
        matching.length
          ? `${req.service} has ${matching.length} forwards (${matching.map((l) => l.spec.containerPort).join(', ')}): give containerPort`
          : `project ${req.project} has no forward ${what} (forwards: ${existing.join(', ') || 'none'})`,
      );
    }
    const listener = matching[0]!;
    const view = await this.view(listener);
    this.deps.store.remove(listener.spec);
    this.listeners.delete(key(listener.spec));
    await listener.close();
    this.deps.log.info('Forward removed', { ...listener.spec });
    this.changed(req.project);
    return { ...view, listening: false, connections: { ...view.connections, open: 0 } };
  }

  /** Sets (null: unsets) the project's current sandbox. @throws RpcError SandboxNotFound, InvalidParams */
  async use(req: { project?: string; sandbox: string | null }): Promise<ForwardProject> {
    let project = req.project;
    if (req.sandbox !== null) {
      const sandbox = this.deps.sandboxes.get(req.sandbox);
      if (!sandbox) throw new RpcError('SandboxNotFound', `No sandbox "${req.sandbox}".`, { name: req.sandbox });
      if (project !== undefined && sandbox.project !== undefined && sandbox.project !== project)
        throw invalid('forward/use', '/sandbox', `${req.sandbox} is a sandbox of project ${sandbox.project}, not ${project}`);
      project ??= sandbox.project;
      if (project === undefined) throw invalid('forward/use', '/project', `sandbox ${req.sandbox} has no project: give project`);
    }
    if (project === undefined) throw invalid('forward/use', '/project', 'is required to unset the current sandbox');
    this.deps.store.setCurrent(project, req.sandbox);
    if (req.sandbox === null) this.currents.delete(project);
    else this.currents.set(project, req.sandbox);
    this.unsetReasons.delete(project);
    this.deps.log.info('Forwards switched', { project, sandbox: req.sandbox });
    this.changed(project);
    return this.state(project);
  }

  private listenerFor(spec: ForwardSpec): ForwardListener {
    return new ForwardListener(spec, () => this.resolveFor(spec), this.deps.log);
  }

  private async resolveFor(spec: ForwardSpec) {
    const sandbox = this.currents.get(spec.project);
    if (sandbox === undefined) return { reason: this.unsetReasons.get(spec.project) ?? `project ${spec.project} has no current sandbox (forward/use)` };
    return this.deps.resolve(sandbox, spec.service, spec.containerPort);
  }

  private async view(listener: ForwardListener): Promise<ForwardView> {
    const { project, service, containerPort, localPort } = listener.spec;
    const sandbox = this.currents.get(project);
    const resolution = await this.resolveFor(listener.spec);
    const lastError = listener.lastError;
    return {
      project,
      service,
      containerPort,
      localPort,
      address: `127.0.0.1:${localPort}`,
      listening: listener.listening,
      ...(listener.listenError !== undefined ? { listenError: listener.listenError } : {}),
      ...(sandbox !== undefined ? { sandbox } : {}),
      ...('target' in resolution ? { target: { ...resolution.target } } : { reason: resolution.reason }),
      connections: listener.counts,
      ...(lastError ? { lastError: { ...lastError } } : {}),
    };
  }

  /** The container port to forward and the port the project publishes it on, from the params and the project file. */
  private portsOf(req: AddForward): { containerPort: number; published?: number } {
    if (req.containerPort !== undefined && req.localPort !== undefined) return { containerPort: req.containerPort };
    let config: Project | undefined;
    try {
      config = this.projectConfig(req.project);
    } catch (e) {
      if (req.containerPort === undefined) throw e; // only the default local port needed it: the container port stands in
    }
    const service = config?.services[req.service];
    if (config && !service)
      throw invalid('forward/add', '/service', `project ${req.project} has no service "${req.service}" (services: ${Object.keys(config.services).sort().join(', ') || 'none'})`);
    const containerPort = req.containerPort ?? service?.ports?.find((p) => p.protocol === 'tcp')?.container ?? service?.port;
    if (containerPort === undefined) {
      throw invalid(
        'forward/add',
        '/containerPort',
        config ? `${req.service} publishes no port: give containerPort` : `no sandbox of project ${req.project} has a project file to read ${req.service}'s port from: give containerPort`,
      );
    }
    const published = service?.ports?.find((p) => p.container === containerPort && p.protocol === 'tcp')?.published;
    return { containerPort, ...(published !== undefined ? { published } : {}) };
  }

  /** The project file of a sandbox of the project (the current one first), if any has a repository. */
  private projectConfig(project: string): Project | undefined {
    const current = this.currents.get(project);
    const candidates = this.deps.sandboxes
      .list()
      .filter((s) => s.project === project && s.repoPath !== undefined)
      .sort((a, b) => Number(b.name === current) - Number(a.name === current));
    const repo = candidates[0]?.repoPath;
    return repo !== undefined ? this.deps.loadProject(repo) : undefined;
  }

  private sandboxDeleted(sandbox: string): void {
    for (const project of this.deps.store.forgetSandbox(sandbox)) this.unsetDeleted(project, sandbox, false);
  }

  private unsetDeleted(project: string, sandbox: string, write = true): void {
    if (write) this.deps.store.setCurrent(project, null);
    this.currents.delete(project);
    this.unsetReasons.set(project, `project ${project} has no current sandbox: ${sandbox} was deleted (forward/use another)`);
    this.deps.log.info('Forwards unset: their current sandbox was deleted', { project, sandbox });
    this.changed(project);
  }

  private changed(project: string): void {
    for (const listener of this.changeListeners) {
      try {
        listener(project);
      } catch (e) {
        this.deps.log.error('Forward change listener failed', { error: (e as Error).message });
      }
    }
  }
}

function invalid(method: string, path: string, message: string): RpcError {
  return new RpcError('InvalidParams', `Invalid params for ${method}: ${path.slice(1)} ${message}`, { violations: [{ path, message }] });
}
