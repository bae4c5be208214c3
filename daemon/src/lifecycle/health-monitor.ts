/**
 * The health monitor: every `intervalMs`, for each active sandbox, inspects each serving
 * container (Docker state, Docker's own health status) and probes its published port like the
 * deploy pipeline does (HTTP GET of the health path of an `http` service, else TCP; a service
 * without a port is judged by Docker's health status, or by running); decides with
 * {@link afterCheck} (restart with backoff, bounded — unless the service gives the engine a
 * restart policy: then the engine restarts it and the monitor only reports), counts the check
 * into the uptime history, and emits `health` for each sandbox whose health changed. A
 * completed job (its exited container serving its service) is not checked: it is done, not
 * down. Checks never overlap: a slow round delays the next one.
 */
import type { Project } from '../../../schemas/src/project';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { SandboxHealth } from '../../../schemas/src/lifecycle-sandbox';
import { probeOnce, serviceProbeSpec, type HealthSpec, type ProbeResult } from '../deploy/health-probe';
import { TypedEmitter } from '../docker/typed-emitter';
import { isRpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import type { SandboxStore } from '../sandbox/sandbox-store';
import {
  afterCheck,
  afterRestart,
  DEFAULT_RESTART_POLICY,
  newTracker,
  sandboxHealthOf,
  serviceHealthView,
  type Observation,
  type RestartPolicy,
  type ServiceTracker,
} from './health-state';
import type { LifecycleDocker } from './lifecycle-docker';
import { PeriodicRound } from './periodic';
import type { UptimeHistory } from './uptime';

export const DEFAULT_HEALTH_INTERVAL_MS = 5_000;
/** How long a restart gives the container to stop after SIGTERM. */
const RESTART_STOP_TIMEOUT_S = 2;

export interface HealthMonitorOptions {
  readonly sandboxes: SandboxStore;
  readonly docker: LifecycleDocker;
  readonly loadProject: (repoPath: string) => Pick<Project, 'services'>;
  readonly uptime?: UptimeHistory;
  readonly intervalMs?: number;
  readonly policy?: Partial<RestartPolicy>;
  readonly log?: Logger;
  readonly now?: () => number;
  readonly probe?: (port: number, spec: HealthSpec) => Promise<ProbeResult>;
  /** A service whose container a deployment stopped on purpose (replacing it): never restarted meanwhile. */
  readonly stoppedForReplacement?: (sandbox: string, service: string) => boolean;
}

export class HealthMonitor extends TypedEmitter<{ health: [SandboxHealth] }> {
  private readonly trackers = new Map<string, Map<string, ServiceTracker>>();
  /** The last health emitted per sandbox, and whether it was computed while the sandbox was active. */
  private readonly last = new Map<string, { signature: string; health: SandboxHealth; active: boolean }>();
  private readonly log: Logger;
  private readonly policy: RestartPolicy;
  private readonly now: () => number;
  private readonly rounds: PeriodicRound;

  constructor(private readonly opts: HealthMonitorOptions) {
    super();
    this.log = opts.log ?? nullLogger;
    this.policy = { ...DEFAULT_RESTART_POLICY, ...opts.policy };
    this.now = opts.now ?? Date.now;
    this.rounds = new PeriodicRound(
      () => this.checkAll(),
      opts.intervalMs ?? DEFAULT_HEALTH_INTERVAL_MS,
      (e) => this.log.warn('Health round failed', { error: String(e) }),
    );
  }

  start(): void {
    this.rounds.start();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }

  /** The last computed health of a sandbox (healthy with no services before its first check). */
  current(sandbox: Sandbox): SandboxHealth {
    return (
      this.last.get(sandbox.name)?.health ?? {
        sandbox: sandbox.name,
        state: 'healthy',
        services: [],
        at: new Date(this.now()).toISOString(),
      }
    );
  }

  /**
   * The health a `Sandbox` answer carries: the last one computed, when the sandbox is active,
   * was active at that check, and has a serving container checked; otherwise none (see the
   * `health` field of `Sandbox`).
   */
  verdict(sandbox: Pick<Sandbox, 'name' | 'state'>): SandboxHealth | undefined {
    const last = this.last.get(sandbox.name);
    if (sandbox.state !== 'active' || !last?.active || last.health.services.length === 0) return undefined;
    return last.health;
  }

  /** The sandbox as clients see it: with its {@link verdict} as `health` when there is one. */
  withHealth(sandbox: Sandbox): Sandbox {
    const { health: _stale, ...rest } = sandbox;
    const health = this.verdict(sandbox);
    return health ? { ...rest, health } : rest;
  }

  /** Runs one round of checks now (also what the timer runs). */
  async checkAll(): Promise<void> {
    const sandboxes = this.opts.sandboxes.list();
    const known = new Set(sandboxes.map((s) => s.name));
    for (const name of [...this.trackers.keys()]) if (!known.has(name)) this.forget(name);
    await Promise.all(sandboxes.map((s) => this.checkSandbox(s)));
  }

  private forget(name: string): void {
    this.trackers.delete(name);
    this.last.delete(name);
  }

  private async checkSandbox(sandbox: Sandbox): Promise<void> {
    if (sandbox.state !== 'active') {
      // Suspended or expired: nothing runs on purpose; its services count as stopped.
      const trackers = this.trackers.get(sandbox.name);
      if (trackers) for (const [k, t] of trackers) trackers.set(k, { ...t, state: 'stopped', failures: 0, reason: `sandbox is ${sandbox.state}` });
      this.publish(sandbox.name, false);
      return;
    }
    const serving = sandbox.services.filter((s) => s.containerId !== undefined && !s.job);
    const before = this.trackers.get(sandbox.name) ?? new Map<string, ServiceTracker>();
    const trackers = new Map<string, ServiceTracker>();
    for (const s of serving) {
      const old = before.get(s.service);
      // A new container (a deployment switched over) starts with a clean record.
      trackers.set(s.service, old && old.containerId === s.containerId ? old : newTracker(s.service, s.containerId!));
    }
    this.trackers.set(sandbox.name, trackers);
    const project = this.projectOf(sandbox);
    await Promise.all(
      serving.map(async (s) => {
        const config = project?.services[s.service];
        const spec = serviceProbeSpec(config);
        const tracker = trackers.get(s.service)!;
        const observation = await this.observe(tracker.containerId, s.hostPort, spec);
        if (!observation) return;
        const decided = afterCheck(tracker, observation, spec.retries, this.policy, this.now());
        // The engine restarts a container whose service has a restart policy: the monitor does not too.
        const engineRestarts = config?.restart !== undefined && config.restart.name !== 'no';
        const cause = observation.probe?.detail ?? `the container is ${observation.dockerState}`;
        const next =
          engineRestarts && decided.restart
            ? { ...decided.tracker, restarts: tracker.restarts, nextRestartAt: 0, reason: `${cause}; the engine restarts it (restart: ${config.restart!.name})` }
            : decided.tracker;
        const restart = decided.restart && !engineRestarts && !this.opts.stoppedForReplacement?.(sandbox.name, next.service);
        trackers.set(s.service, next);
        this.opts.uptime?.record(sandbox.name, s.service, next.state === 'healthy');
        if (restart) await this.restart(sandbox.name, next, trackers);
        else if (next.state === 'unhealthy' && tracker.state !== 'unhealthy') {
          this.log.warn(`Service ${sandbox.name}/${s.service} is unhealthy: ${next.reason ?? ''}`, { sandbox: sandbox.name, service: s.service });
        }
      }),
    );
    this.publish(sandbox.name, true);
  }

  /** What one check sees; undefined when Docker cannot be asked (the round is skipped for it). */
  private async observe(containerId: string, port: number | undefined, spec: HealthSpec): Promise<Observation | undefined> {
    let state;
    try {
      state = await this.opts.docker.inspect(containerId);
    } catch (e) {
      this.log.debug('Health check skipped: Docker unavailable', { container: containerId.slice(0, 12), error: String(e) });
      return undefined;
    }
    if (!state) return { running: false, dockerState: 'removed' };
    if (!state.running) {
      return { running: false, dockerState: state.state, ...(state.health ? { dockerHealth: state.health } : {}) };
    }
    if (port === undefined) {
      // Nothing published to probe: Docker's health status when there is one, else running is up.
      const probe = state.health ? { ok: state.health === 'healthy', detail: `Docker reports its health check ${state.health}` } : { ok: true, detail: 'the container is running' };
      return { running: true, dockerState: state.state, ...(state.health ? { dockerHealth: state.health } : {}), probe };
    }
    const probe = await (this.opts.probe ?? probeOnce)(port, spec);
    return { running: true, dockerState: state.state, ...(state.health ? { dockerHealth: state.health } : {}), probe };
  }

  private async restart(sandbox: string, t: ServiceTracker, trackers: Map<string, ServiceTracker>): Promise<void> {
    // Read again: a suspend, delete or new deployment since this round began is not undone.
    const now = this.opts.sandboxes.get(sandbox);
    if (now?.state !== 'active' || !now.services.some((s) => s.containerId === t.containerId)) return;
    this.log.warn(`Restarting ${sandbox}/${t.service} (${t.restarts} of ${this.policy.maxRestarts}): ${t.reason ?? ''}`, {
      sandbox,
      service: t.service,
      container: t.containerId.slice(0, 12),
    });
    // Published first, so watchers see the unhealthy state that caused the restart.
    this.publish(sandbox, true);
    try {
      await this.opts.docker.restart(t.containerId, RESTART_STOP_TIMEOUT_S, { sandbox, service: t.service });
      trackers.set(t.service, afterRestart(t));
    } catch (e) {
      const reason = isRpcError(e) ? e.message : String(e);
      this.log.warn(`Failed to restart ${sandbox}/${t.service}: ${reason}`, { sandbox, service: t.service });
      trackers.set(t.service, { ...t, reason: `restart failed: ${reason}` });
    }
  }

  /** Emits the sandbox's health when it differs from the last one emitted. */
  private publish(sandbox: string, active: boolean): void {
    const trackers = this.trackers.get(sandbox);
    const services = [...(trackers?.values() ?? [])].map(serviceHealthView);
    const state = sandboxHealthOf(services);
    const signature = JSON.stringify([state, services.map((s) => [s.service, s.containerId, s.state, s.restartCount, s.reason])]);
    const last = this.last.get(sandbox);
    if (last?.signature === signature) {
      if (last.active !== active) this.last.set(sandbox, { ...last, active });
      return;
    }
    const health: SandboxHealth = { sandbox, state, services, at: new Date(this.now()).toISOString() };
    this.last.set(sandbox, { signature, health, active });
    this.emit('health', health);
  }

  private projectOf(sandbox: Sandbox): Pick<Project, 'services'> | undefined {
    if (sandbox.repoPath === undefined) return undefined;
    try {
      return this.opts.loadProject(sandbox.repoPath);
    } catch {
      return undefined;
    }
  }
}

