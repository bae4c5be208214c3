/**
 * The health monitor's decisions as pure functions: failing → unhealthy after `retries`,
 * immediate restart then a doubling backoff, bounded restarts, and the sandbox's health.
 */
import { describe, expect, it } from 'vitest';
import { afterCheck, afterRestart, newTracker, sandboxHealthOf, type Observation, type ServiceTracker } from '../../../daemon/src/lifecycle/health-state';

const policy = { maxRestarts: 2, backoffMs: 1_000, maxBackoffMs: 1_500 };
const good: Observation = { running: true, dockerState: 'running', probe: { ok: true, detail: 'GET /healthz answered 200: ok' } };
const bad: Observation = { running: true, dockerState: 'running', probe: { ok: false, detail: 'GET /healthz answered 500' } };
const exited: Observation = { running: false, dockerState: 'exited' };

function check(t: ServiceTracker, o: Observation, now: number) {
  return afterCheck(t, o, 3, policy, now);
}

describe('afterCheck', () => {
  it('a passing probe is healthy and clears the failures', () => {
    const { tracker, restart } = check({ ...newTracker('a', 'c1'), failures: 2, state: 'failing' }, good, 0);
    expect(tracker).toMatchObject({ state: 'healthy', failures: 0, probe: 'GET /healthz answered 200: ok' });
    expect(tracker.reason).toBeUndefined();
    expect(restart).toBe(false);
  });

  it('fails `retries` probes before it is unhealthy, then restarts at once', () => {
    let t: ServiceTracker = { ...newTracker('a', 'c1'), state: 'healthy' };
    ({ tracker: t } = check(t, bad, 0));
    expect(t).toMatchObject({ state: 'failing', failures: 1 });
    ({ tracker: t } = check(t, bad, 100));
    expect(t.state).toBe('failing');
    const third = check(t, bad, 200);
    expect(third.tracker).toMatchObject({ state: 'unhealthy', restarts: 1, nextRestartAt: 1_200 });
    expect(third.restart).toBe(true);
  });

  it('a container that is not running is unhealthy at the first check', () => {
    const { tracker, restart } = check({ ...newTracker('a', 'c1'), state: 'healthy' }, exited, 0);
    expect(tracker).toMatchObject({ state: 'unhealthy', reason: 'the container is exited; restarting (1 of 2)' });
    expect(restart).toBe(true);
  });

  it('waits the backoff before the next restart, doubles it (capped), and gives up after maxRestarts', () => {
    let t = afterRestart(check(newTracker('a', 'c1'), exited, 0).tracker);
    expect(t.state).toBe('starting');
    let r = check(t, exited, 500);
    expect(r.restart).toBe(false);
    expect(r.tracker.reason).toMatch(/restart 2 of 2 at/);
    r = check(r.tracker, exited, 1_000);
    expect(r.restart).toBe(true);
    expect(r.tracker).toMatchObject({ restarts: 2, nextRestartAt: 2_500 });
    t = afterRestart(r.tracker);
    r = check(t, exited, 10_000);
    expect(r.restart).toBe(false);
    expect(r.tracker).toMatchObject({ state: 'unhealthy', reason: 'left alone after 2 restarts: the container is exited' });
  });

  it('stays starting after a restart until a probe passes or retries fail', () => {
    let t = afterRestart({ ...newTracker('a', 'c1'), restarts: 1 });
    ({ tracker: t } = check(t, bad, 0));
    expect(t.state).toBe('starting');
    ({ tracker: t } = check(t, good, 1));
    expect(t.state).toBe('healthy');
  });

  it("counts Docker's own unhealthy status as a failure", () => {
    const { tracker } = check({ ...newTracker('a', 'c1'), state: 'healthy' }, { ...good, dockerHealth: 'unhealthy' }, 0);
    expect(tracker).toMatchObject({ state: 'failing', reason: 'Docker reports its health check unhealthy (1 of 3 failed probes)' });
  });
});

describe('sandboxHealthOf', () => {
  it('healthy, degraded, unhealthy', () => {
    expect(sandboxHealthOf([])).toBe('healthy');
    expect(sandboxHealthOf([{ state: 'healthy' }, { state: 'healthy' }])).toBe('healthy');
    expect(sandboxHealthOf([{ state: 'healthy' }, { state: 'failing' }])).toBe('degraded');
    expect(sandboxHealthOf([{ state: 'starting' }])).toBe('degraded');
    expect(sandboxHealthOf([{ state: 'healthy' }, { state: 'unhealthy' }])).toBe('degraded');
    expect(sandboxHealthOf([{ state: 'unhealthy' }, { state: 'stopped' }])).toBe('unhealthy');
  });
});
