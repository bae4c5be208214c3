/**
 * The health monitor's decisions, as pure functions of what one check observed (no Docker, no
 * clock of its own): a service's state after a check, whether to restart its container now,
 * and a sandbox's health from its services'.
 *
 * A service is `healthy` when its container runs and its probe passes; `failing` after fewer
 * failed probes in a row than its health check's `retries`; `unhealthy` after that many, or
 * as soon as its container is not running. An unhealthy service is restarted at once, and
 * again while it stays unhealthy, each time after a backoff that doubles (`backoffMs`, 2×, 4×…
 * up to `maxBackoffMs`), at most `maxRestarts` times; then it is left alone with the reason.
 * After a restart it is `starting` until a probe passes or `retries` probes failed.
 */
import type { SandboxHealthState, ServiceHealth, ServiceHealthState } from '../../../schemas/src/lifecycle-sandbox';

export interface RestartPolicy {
  readonly maxRestarts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxRestarts: 3, backoffMs: 5_000, maxBackoffMs: 5 * 60_000 };

/** What one check of a service saw. */
export interface Observation {
  readonly running: boolean;
  readonly dockerState: string;
  readonly dockerHealth?: string;
  /** The probe's result; absent when the container does not run (not probed). */
  readonly probe?: { readonly ok: boolean; readonly detail: string };
}

/** What the monitor remembers of one serving container between checks. */
export interface ServiceTracker {
  readonly service: string;
  readonly containerId: string;
  readonly state: ServiceHealthState;
  readonly failures: number;
  readonly restarts: number;
  /** Not restarted again before this time (ms since the epoch). */
  readonly nextRestartAt: number;
  readonly reason?: string;
  readonly probe?: string;
  readonly dockerState?: string;
  readonly dockerHealth?: string;
  readonly checkedAt?: number;
}

export function newTracker(service: string, containerId: string): ServiceTracker {
  return { service, containerId, state: 'starting', failures: 0, restarts: 0, nextRestartAt: 0 };
}

/** The tracker after a check at `now`, and whether to restart the container now. */
export function afterCheck(
  t: ServiceTracker,
  o: Observation,
  retries: number,
  policy: RestartPolicy,
  now: number,
): { tracker: ServiceTracker; restart: boolean } {
  const seen = {
    ...t,
    dockerState: o.dockerState,
    ...(o.dockerHealth !== undefined ? { dockerHealth: o.dockerHealth } : {}),
    ...(o.probe ? { probe: o.probe.detail } : {}),
    checkedAt: now,
  };
  const ok = o.running && o.probe?.ok === true && o.dockerHealth !== 'unhealthy';
  if (ok) {
    const { reason: _reason, ...rest } = seen;
    return { tracker: { ...rest, state: 'healthy', failures: 0 }, restart: false };
  }
  const failures = t.failures + 1;
  const cause = !o.running
    ? `the container is ${o.dockerState}`
    : o.dockerHealth === 'unhealthy' && o.probe?.ok
      ? 'Docker reports its health check unhealthy'
      : (o.probe?.detail ?? 'not probed');
  if (o.running && failures < Math.max(1, retries)) {
    const state: ServiceHealthState = t.state === 'starting' ? 'starting' : 'failing';
    return { tracker: { ...seen, state, failures, reason: `${cause} (${failures} of ${retries} failed probes)` }, restart: false };
  }
  if (t.restarts >= policy.maxRestarts) {
    const reason = `left alone after ${t.restarts} restart${t.restarts === 1 ? '' : 's'}: ${cause}`;
    return { tracker: { ...seen, state: 'unhealthy', failures, reason }, restart: false };
  }
  if (now < t.nextRestartAt) {
    const reason = `${cause}; restart ${t.restarts + 1} of ${policy.maxRestarts} at ${new Date(t.nextRestartAt).toISOString()}`;
    return { tracker: { ...seen, state: 'unhealthy', failures, reason }, restart: false };
  }
  const restarts = t.restarts + 1;
  const wait = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (restarts - 1));
  return {
    tracker: {
      ...seen,
      state: 'unhealthy',
      failures,
      restarts,
      nextRestartAt: now + wait,
      reason: `${cause}; restarting (${restarts} of ${policy.maxRestarts})`,
    },
    restart: true,
  };
}

/** The tracker once its container was restarted: starting again, probes counted from zero. */
export function afterRestart(t: ServiceTracker): ServiceTracker {
  return { ...t, state: 'starting', failures: 0 };
}

/** healthy: all healthy (or nothing serving); unhealthy: none is up; degraded otherwise. */
export function sandboxHealthOf(services: readonly Pick<ServiceHealth, 'state'>[]): SandboxHealthState {
  if (services.every((s) => s.state === 'healthy')) return 'healthy';
  if (services.every((s) => s.state === 'unhealthy' || s.state === 'stopped')) return 'unhealthy';
  return 'degraded';
}

/** The protocol's view of a tracker. */
export function serviceHealthView(t: ServiceTracker): ServiceHealth {
  return {
    service: t.service,
    containerId: t.containerId,
    state: t.state,
    ...(t.dockerState !== undefined ? { dockerState: t.dockerState } : {}),
    ...(t.dockerHealth !== undefined ? { dockerHealth: t.dockerHealth } : {}),
    restartCount: t.restarts,
    ...(t.probe !== undefined ? { probe: t.probe } : {}),
    failures: t.failures,
    ...(t.reason !== undefined ? { reason: t.reason } : {}),
    checkedAt: new Date(t.checkedAt ?? 0).toISOString(),
  };
}
