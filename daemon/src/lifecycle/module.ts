/**
 * Assembles the sandbox lifecycle for the composition root: suspend/resume over the sandbox
 * store and Docker, the health monitor with its uptime history, and their handlers.
 */
import type Docker from 'dockerode';
import type { Project } from '../../../schemas/src/project';
import { sandboxLifecycleHandlers } from '../methods/sandbox-lifecycle';
import type { Logger } from '../runtime/log';
import type { SandboxStore } from '../sandbox/sandbox-store';
import type { Store } from '../state/store';
import { HealthMonitor } from './health-monitor';
import type { RestartPolicy } from './health-state';
import { DockerodeLifecycleDocker } from './lifecycle-docker';
import { SandboxSuspension } from './suspension';
import { UptimeHistory } from './uptime';

export interface LifecycleModuleOptions {
  readonly store: Store;
  readonly sandboxes: SandboxStore;
  /** The connected engine's dockerode (throws DockerUnavailable when there is none). */
  readonly docker: () => Docker;
  readonly loadProject: (repoPath: string) => Pick<Project, 'services'>;
  readonly cancelDeploys: (sandbox: string, reason: string) => Promise<void>;
  readonly log: Logger;
  readonly healthIntervalMs?: number;
  readonly restartPolicy?: Partial<RestartPolicy>;
}

export interface LifecycleModule {
  readonly suspension: SandboxSuspension;
  readonly health: HealthMonitor;
  readonly handlers: ReturnType<typeof sandboxLifecycleHandlers>;
  /** Starts the health monitor. */
  start(): void;
  stop(): Promise<void>;
}

export function openLifecycleModule(opts: LifecycleModuleOptions): LifecycleModule {
  const log = opts.log.child({ component: 'lifecycle' });
  const docker = new DockerodeLifecycleDocker(opts.docker);
  const suspension = new SandboxSuspension({
    sandboxes: opts.sandboxes,
    docker,
    cancelDeploys: opts.cancelDeploys,
    loadProject: opts.loadProject,
    log,
  });
  const uptime = new UptimeHistory(opts.store);
  const health = new HealthMonitor({
    sandboxes: opts.sandboxes,
    docker,
    loadProject: opts.loadProject,
    uptime,
    log: log.child({ component: 'health' }),
    ...(opts.healthIntervalMs !== undefined ? { intervalMs: opts.healthIntervalMs } : {}),
    ...(opts.restartPolicy ? { policy: opts.restartPolicy } : {}),
  });
  return {
    suspension,
    health,
    handlers: sandboxLifecycleHandlers({ sandboxes: opts.sandboxes, suspension, health, uptime }),
    start: () => health.start(),
    stop: () => health.stop(),
  };
}
