/**
 * Suspend and resume a sandbox. Suspension is a state of the sandbox, not a cancellation of
 * its deployments: suspend cancels only the deployments still in flight, stops every
 * container labelled for it and marks it `suspended`; running deployments stay `running`
 * with their containers, images, ports and source folders (a daemon restart in between
 * changes nothing of that: the deploy reaper and the reconciler keep what a running
 * deployment owns), so resume starts the very same containers — the same commits on the same host ports —
 * waits until each serving one passes its health check, and marks it `active`. The gateways
 * read the state and send its services to the baseline meanwhile (503 "sandbox <name> is
 * suspended" when the project has none). Resume starts the containers in dependency order
 * (compose depends_on: after those each names is started or healthy, as it asks). A service
 * whose host port was taken while the sandbox slept is deployed again at its commit, on
 * another port (the image is reused), rather than left down.
 *
 * Requests for one sandbox run one at a time (a resume waits for a suspend in progress).
 */
import type { Project } from '../../../schemas/src/project';
import type { Sandbox, SandboxServiceView } from '../../../schemas/src/sandbox';
import type { ServiceResumeOutcome } from '../../../schemas/src/lifecycle-sandbox';
import { dependencyOrder } from '../deploy/dependencies';
import { isPortInUse } from '../deploy/diagnosis';
import { serviceProbeSpec, waitHealthy, type HealthSpec } from '../deploy/health-probe';
import { isRpcError, RpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import type { SandboxStore } from '../sandbox/sandbox-store';
import type { LifecycleDocker } from './lifecycle-docker';

/** How long a container gets to stop after SIGTERM before it is killed. */
export const STOP_TIMEOUT_S = 10;

export interface SuspensionDeps {
  readonly sandboxes: SandboxStore;
  readonly docker: LifecycleDocker;
  /** Cancels the sandbox's deployments in flight and waits until they are final (running ones stay running). */
  readonly cancelInFlight: (sandbox: string, reason: string) => Promise<void>;
  readonly loadProject: (repoPath: string) => Pick<Project, 'services'>;
  readonly log?: Logger;
  /** Called once a resumed sandbox is active again (the expiry clock restarts). */
  readonly onActive?: (sandbox: string) => void;
  /** The health probe (tests); default the deploy pipeline's. */
  readonly waitHealthy?: typeof waitHealthy;
  /**
   * Deploys a service again at the commit it serves and resolves once that deployment is
   * final: how a service whose host port was taken while the sandbox slept comes back (on
   * another port). Without it, such a service is reported as not started.
   */
  readonly redeploy?: (sandbox: string, serving: SandboxServiceView) => Promise<Redeployed>;
}

/** What a redeploy of a resumed service came to. */
export interface Redeployed {
  readonly running: boolean;
  readonly containerId?: string;
  readonly hostPort?: number;
  readonly detail: string;
}

export class SandboxSuspension {
  private readonly log: Logger;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: SuspensionDeps) {
    this.log = deps.log ?? nullLogger;
  }

  /** Stops the sandbox's containers and marks it `suspended` (or `expired`, for the expiry reaper). */
  suspend(name: string, to: 'suspended' | 'expired' = 'suspended'): Promise<{ sandbox: Sandbox; stopped: number }> {
    return this.serialized(name, async () => {
      const sandbox = this.deps.sandboxes.require(name);
      if (sandbox.state === 'deleting') throw deleting(name, 'suspend');
      if (sandbox.state !== 'active' && (sandbox.state === to || to === 'suspended')) return { sandbox, stopped: 0 };
      this.log.info(`Suspending sandbox ${name}`, { sandbox: name, to });
      await this.deps.cancelInFlight(name, `the sandbox is being ${to === 'expired' ? 'expired' : 'suspended'}`);
      // Marked first: the gateways stop routing to containers about to stop, and a failure
      // on the way leaves it suspended, which a second suspend (or a resume) completes.
      this.deps.sandboxes.update(name, { state: to });
      const containers = await this.deps.docker.sandboxContainers(name);
      const running = containers.filter((c) => c.state === 'running' || c.state === 'restarting' || c.state === 'paused');
      await Promise.all(running.map((c) => this.deps.docker.stop(c.id, STOP_TIMEOUT_S, { sandbox: name })));
      this.log.info(`Suspended sandbox ${name}`, { sandbox: name, stopped: running.length });
      return { sandbox: this.deps.sandboxes.require(name), stopped: running.length };
    });
  }

  /** Starts the serving containers again, waits for their health, marks the sandbox `active`. */
  resume(name: string): Promise<{ sandbox: Sandbox; services: ServiceResumeOutcome[] }> {
    return this.serialized(name, async () => {
      const sandbox = this.deps.sandboxes.require(name);
      if (sandbox.state === 'deleting') throw deleting(name, 'resume');
      if (sandbox.state === 'active') return { sandbox, services: [] };
      this.log.info(`Resuming sandbox ${name}`, { sandbox: name, from: sandbox.state });
      const project = this.projectOf(sandbox);
      const serving = sandbox.services.filter((s) => s.containerId !== undefined);
      const services = await this.startInOrder(name, serving, project);
      this.deps.sandboxes.update(name, { state: 'active' });
      this.deps.onActive?.(name);
      const unhealthy = services.filter((s) => !s.healthy);
      this.log.info(`Resumed sandbox ${name}`, {
        sandbox: name,
        services: services.length,
        unhealthy: unhealthy.map((s) => `${s.service}: ${s.detail}`),
      });
      return { sandbox: this.deps.sandboxes.require(name), services };
    });
  }

  /**
   * Starts the serving containers in dependency order (compose depends_on): each once the
   * dependencies it names are started (service_started) or have passed their health check
   * (service_healthy); a job that ran to completion is not run again.
   */
  private async startInOrder(sandbox: string, serving: readonly SandboxServiceView[], project: Pick<Project, 'services'> | undefined): Promise<ServiceResumeOutcome[]> {
    const graph = project?.services ?? {};
    const names = serving.map((s) => s.service);
    let order: string[] = names;
    try {
      order = dependencyOrder(graph, names);
    } catch (e) {
      this.log.warn(`Resuming ${sandbox} without dependency order: ${(e as Error).message}`, { sandbox });
    }
    const started = new Map<string, Promise<void>>();
    const finished = new Map<string, Promise<ServiceResumeOutcome>>();
    for (const name of order) {
      const s = serving.find((v) => v.service === name)!;
      const config = Object.hasOwn(graph, name) ? graph[name] : undefined;
      const waits = Object.entries(config?.dependsOn ?? {})
        .filter(([dep]) => finished.has(dep))
        .map(([dep, spec]) => (spec.condition === 'service_started' ? started.get(dep)! : finished.get(dep)!.then(() => undefined)));
      let markStarted!: () => void;
      started.set(name, new Promise<void>((r) => (markStarted = r)));
      finished.set(
        name,
        Promise.all(waits).then(async () => {
          if (config?.job || s.job) {
            markStarted();
            return { service: name, ...(s.containerId !== undefined ? { containerId: s.containerId } : {}), healthy: true, detail: 'a job that ran to completion: not run again' };
          }
          return this.startService(sandbox, s, project, markStarted).finally(markStarted);
        }),
      );
    }
    const outcomes = new Map<string, ServiceResumeOutcome>();
    for (const [name, outcome] of finished) outcomes.set(name, await outcome);
    return serving.map((s) => outcomes.get(s.service)!);
  }

  private async startService(
    sandbox: string,
    s: SandboxServiceView,
    project: Pick<Project, 'services'> | undefined,
    onStarted: () => void = () => undefined,
  ): Promise<ServiceResumeOutcome> {
    const base = {
      service: s.service,
      ...(s.containerId !== undefined ? { containerId: s.containerId } : {}),
      ...(s.hostPort !== undefined ? { hostPort: s.hostPort } : {}),
      ...(s.commit !== undefined ? { commit: s.commit } : {}),
    };
    const id = s.containerId!;
    const state = await this.deps.docker.inspect(id);
    if (!state) {
      this.log.warn(`Cannot resume ${sandbox}/${s.service}: its container ${id.slice(0, 12)} is gone`, { sandbox, service: s.service });
      return { ...base, healthy: false, detail: `its container ${id.slice(0, 12)} no longer exists; deploy the service again` };
    }
    try {
      await this.deps.docker.start(id, { sandbox, service: s.service });
    } catch (e) {
      const reason = isRpcError(e) ? e.message : String(e);
      this.log.warn(`Cannot start ${sandbox}/${s.service}: ${reason}`, { sandbox, service: s.service });
      if (isPortInUse(reason) && this.deps.redeploy) return this.redeployElsewhere(sandbox, s, base);
      return { ...base, healthy: false, detail: `could not start: ${reason}` };
    }
    onStarted();
    if (s.hostPort === undefined) return { ...base, healthy: true, detail: 'started (no published port to probe)' };
    const spec: HealthSpec = serviceProbeSpec(project?.services[s.service]);
    const outcome = await (this.deps.waitHealthy ?? waitHealthy)(s.hostPort, spec, { signal: AbortSignal.timeout(5 * 60_000) });
    return { ...base, healthy: outcome.healthy, detail: outcome.last.detail };
  }

  /**
   * The service's port was taken while the sandbox slept (another program, or an outgoing
   * connection the kernel gave that port): its container cannot start as it was created, so
   * the service is deployed again at the same commit — the image is reused — on another port.
   */
  private async redeployElsewhere(sandbox: string, s: SandboxServiceView, base: { readonly commit?: string }): Promise<ServiceResumeOutcome> {
    const taken = s.hostPort === undefined ? 'its port' : `its port 127.0.0.1:${s.hostPort}`;
    this.log.info(`Deploying ${sandbox}/${s.service} again: ${taken} was taken while the sandbox was suspended`, { sandbox, service: s.service });
    const done = await this.deps.redeploy!(sandbox, s);
    const now = done.hostPort === undefined ? '' : ` on 127.0.0.1:${done.hostPort}`;
    return {
      service: s.service,
      ...(done.containerId !== undefined ? { containerId: done.containerId } : {}),
      ...(done.hostPort !== undefined ? { hostPort: done.hostPort } : {}),
      ...(base.commit !== undefined ? { commit: base.commit } : {}),
      healthy: done.running,
      detail: done.running
        ? `${taken} was taken while the sandbox was suspended: deployed again${now}`
        : `${taken} was taken while the sandbox was suspended, and deploying it again failed: ${done.detail}`,
    };
  }

  private projectOf(sandbox: Sandbox): Pick<Project, 'services'> | undefined {
    if (sandbox.repoPath === undefined) return undefined;
    try {
      return this.deps.loadProject(sandbox.repoPath);
    } catch (e) {
      this.log.warn(`Cannot read the project of ${sandbox.name}; probing ports by TCP`, {
        sandbox: sandbox.name,
        error: (e as Error).message,
      });
      return undefined;
    }
  }

  private serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(name, next);
    const forget = () => {
      if (this.queues.get(name) === next) this.queues.delete(name);
    };
    next.then(forget, forget);
    return next;
  }
}

function deleting(name: string, what: string): RpcError {
  return new RpcError('Conflict', `Sandbox "${name}" is being deleted; it cannot ${what}. Finish with sandbox/delete.`, { sandbox: name });
}
