/**
 * Assembles the sandbox lifecycle for the composition root: suspend/resume over the sandbox
 * store and Docker, the health monitor with its uptime history, the reconciler, the expiry
 * reaper, the resource gate of deploys, and their handlers.
 */
import type { Project } from '../../../schemas/src/project';
import { sandboxLifecycleHandlers } from '../methods/sandbox-lifecycle';
import type { Logger } from '../runtime/log';
import type { SandboxStore } from '../sandbox/sandbox-store';
import type { Store } from '../state/store';
import { HealthMonitor } from './health-monitor';
import type { RestartPolicy } from './health-state';
import type { PortAllocator } from '../sandbox/ports';
import type { ScopedDocker } from '../docker/scoped-docker';
import { lifecycleDockerOf } from './lifecycle-docker';
import { ExpiryReaper } from './expiry';
import { Reconciler, type ReconcilerDeployments } from './reconciler';
import { ResourceGate, type ResourceLimits } from './resource-gate';
import type { AuditEntry } from '../rpc/dispatcher';
import { SandboxSuspension, type SuspensionDeps } from './suspension';
import { UptimeHistory } from './uptime';

export interface LifecycleModuleOptions {
  readonly store: Store;
  /** The deployments (the deploy pipeline's store): what reconciliation and expiry read of them. */
  readonly deployments: ReconcilerDeployments;
  readonly sandboxes: SandboxStore;
  /** The deploy pipeline's: a serving container stopped by the deployment replacing it is not restarted by the health monitor. */
  readonly stoppedForReplacement?: (sandbox: string, service: string) => boolean;
  readonly ports: PortAllocator;
  /** The daemon's labels (its instance label and the --label extras): reconciliation only touches objects carrying them. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** The daemon's label-scoped Docker client: suspend, resume, restarts and reaping only touch this instance's objects. */
  readonly docker: ScopedDocker;
  readonly loadProject: (repoPath: string) => Pick<Project, 'services'>;
  readonly cancelInFlight: (sandbox: string, reason: string) => Promise<void>;
  /** How resume brings back a service whose port was taken while it slept (SuspensionDeps.redeploy). */
  readonly redeploy?: SuspensionDeps['redeploy'];
  readonly log: Logger;
  readonly healthIntervalMs?: number;
  readonly restartPolicy?: Partial<RestartPolicy>;
  readonly reconcileIntervalMs?: number;
  readonly orphanGraceMs?: number;
  readonly keepImagesPerService?: number;
  /** Deletes a sandbox (the sandbox service's delete), for expiry after retention. */
  readonly deleteSandbox: (name: string) => Promise<unknown>;
  readonly lastGatewayRequest?: (sandbox: string) => number | undefined;
  readonly audit?: (entry: AuditEntry) => void;
  readonly expiryIntervalMs?: number;
  readonly expiryWarningMs?: number;
  readonly resourceLimits?: ResourceLimits;
}

export interface LifecycleModule {
  readonly suspension: SandboxSuspension;
  readonly health: HealthMonitor;
  readonly reconciler: Reconciler;
  readonly expiry: ExpiryReaper;
  /** Refuses deploys beyond the resource limits (put in front of deploy/start). */
  readonly gate: ResourceGate;
  readonly handlers: ReturnType<typeof sandboxLifecycleHandlers>;
  /** Starts the health monitor and the reconciler (a first round at once). */
  start(): void;
  stop(): Promise<void>;
}

export function openLifecycleModule(opts: LifecycleModuleOptions): LifecycleModule {
  const log = opts.log.child({ component: 'lifecycle' });
  const docker = lifecycleDockerOf(opts.docker);
  const suspension = new SandboxSuspension({
    sandboxes: opts.sandboxes,
    docker,
    cancelInFlight: opts.cancelInFlight,
    ...(opts.redeploy ? { redeploy: opts.redeploy } : {}),
    loadProject: opts.loadProject,
    log,
    // Called only after a resume, long after `expiry` below exists.
    onActive: (name) => expiry.activated(name),
  });
  const expiry = new ExpiryReaper({
    store: opts.store,
    deployments: opts.deployments,
    sandboxes: opts.sandboxes,
    suspension,
    deleteSandbox: opts.deleteSandbox,
    log: log.child({ component: 'expiry' }),
    ...(opts.lastGatewayRequest ? { lastGatewayRequest: opts.lastGatewayRequest } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
    ...(opts.expiryIntervalMs !== undefined ? { intervalMs: opts.expiryIntervalMs } : {}),
    ...(opts.expiryWarningMs !== undefined ? { warningMs: opts.expiryWarningMs } : {}),
  });
  const uptime = new UptimeHistory(opts.store);
  const health = new HealthMonitor({
    sandboxes: opts.sandboxes,
    docker,
    loadProject: opts.loadProject,
    ...(opts.stoppedForReplacement ? { stoppedForReplacement: opts.stoppedForReplacement } : {}),
    uptime,
    log: log.child({ component: 'health' }),
    ...(opts.healthIntervalMs !== undefined ? { intervalMs: opts.healthIntervalMs } : {}),
    ...(opts.restartPolicy ? { policy: opts.restartPolicy } : {}),
  });
  const reconciler = new Reconciler({
    deployments: opts.deployments,
    sandboxes: opts.sandboxes,
    ports: opts.ports,
    docker,
    log: log.child({ component: 'reconcile' }),
    ...(opts.extraLabels ? { extraLabels: opts.extraLabels } : {}),
    ...(opts.reconcileIntervalMs !== undefined ? { intervalMs: opts.reconcileIntervalMs } : {}),
    ...(opts.orphanGraceMs !== undefined ? { graceMs: opts.orphanGraceMs } : {}),
    ...(opts.keepImagesPerService !== undefined ? { keepImagesPerService: opts.keepImagesPerService } : {}),
  });
  return {
    suspension,
    health,
    reconciler,
    expiry,
    gate: new ResourceGate({ sandboxes: opts.sandboxes, loadProject: opts.loadProject, limits: opts.resourceLimits ?? {} }),
    handlers: sandboxLifecycleHandlers({ sandboxes: opts.sandboxes, suspension, health, uptime, expiry }),
    start: () => {
      reconciler.start();
      health.start();
      expiry.start();
    },
    stop: async () => {
      await Promise.all([health.stop(), reconciler.stop(), expiry.stop()]);
    },
  };
}
