/**
 * Expiry deadlines as a pure function: idle time from the activity the policy's basis names
 * (by default the latest of creation, last deploy, last gateway request; or creation, last
 * deploy or last request alone), or the last resume when later; extensions, retention after
 * expiry.
 */
import { describe, expect, it } from 'vitest';
import { activitySince, deadlinesOf } from '../../../daemon/src/lifecycle/expiry';

const t = (iso: string) => Date.parse(iso);
const created = '2026-01-01T00:00:00.000Z';

describe('deadlinesOf', () => {
  it('has no deadline without a TTL policy', () => {
    expect(deadlinesOf({ createdAt: created }, { extendedMs: 0 }, undefined)).toEqual({});
  });

  it('counts idle time from the latest activity', () => {
    const ttl = { idle: '1h' };
    expect(deadlinesOf({ ttl, createdAt: created }, { extendedMs: 0 }, undefined).expiresAt).toBe(t('2026-01-01T01:00:00Z'));
    expect(deadlinesOf({ ttl, createdAt: created, lastDeployAt: '2026-01-01T00:30:00Z' }, { extendedMs: 0 }, undefined).expiresAt).toBe(
      t('2026-01-01T01:30:00Z'),
    );
    expect(deadlinesOf({ ttl, createdAt: created }, { extendedMs: 0 }, t('2026-01-01T00:45:00Z')).expiresAt).toBe(t('2026-01-01T01:45:00Z'));
    expect(deadlinesOf({ ttl, createdAt: created }, { extendedMs: 0, activityAt: '2026-01-01T02:00:00Z' }, undefined).expiresAt).toBe(
      t('2026-01-01T03:00:00Z'),
    );
  });

  it('adds extensions; deletes `retain` after expiring', () => {
    const ttl = { idle: '30m', retain: '1d' };
    expect(deadlinesOf({ ttl, createdAt: created }, { extendedMs: 600_000 }, undefined)).toEqual({ expiresAt: t('2026-01-01T00:40:00Z') });
    expect(deadlinesOf({ ttl, createdAt: created }, { extendedMs: 0, expiredAt: '2026-01-01T00:30:00Z' }, undefined).deletesAt).toBe(
      t('2026-01-02T00:30:00Z'),
    );
    expect(deadlinesOf({ ttl: { idle: '30m' }, createdAt: created }, { extendedMs: 0, expiredAt: created }, undefined).deletesAt).toBeUndefined();
  });

  describe('by basis (`ttl.from`)', () => {
    const deployAt = '2026-01-01T00:30:00.000Z';
    const requestAt = t('2026-01-01T00:45:00Z');
    const sandbox = (from?: 'activity' | 'created' | 'deploy' | 'request', lastDeployAt?: string) => ({
      ttl: { idle: '1h', ...(from ? { from } : {}) },
      createdAt: created,
      ...(lastDeployAt ? { lastDeployAt } : {}),
    });
    const expiresAt = (s: ReturnType<typeof sandbox>, request?: number, record = { extendedMs: 0 }) =>
      deadlinesOf(s, record, request).expiresAt;

    it('activity (the default): the latest of creation, deploy and request', () => {
      expect(expiresAt(sandbox('activity', deployAt), requestAt)).toBe(t('2026-01-01T01:45:00Z'));
      expect(expiresAt(sandbox(undefined, deployAt), requestAt)).toBe(t('2026-01-01T01:45:00Z'));
      expect(expiresAt(sandbox('activity', deployAt))).toBe(t('2026-01-01T01:30:00Z'));
    });

    it('created: a fixed deadline that deploys and gateway requests do not move', () => {
      expect(expiresAt(sandbox('created'))).toBe(t('2026-01-01T01:00:00Z'));
      expect(expiresAt(sandbox('created', deployAt), requestAt)).toBe(t('2026-01-01T01:00:00Z'));
    });

    it('deploy: from the last deployment (creation before the first), not from requests', () => {
      expect(expiresAt(sandbox('deploy'), requestAt)).toBe(t('2026-01-01T01:00:00Z'));
      expect(expiresAt(sandbox('deploy', deployAt), requestAt)).toBe(t('2026-01-01T01:30:00Z'));
    });

    it('request: from the last gateway request; before the first, from creation or the last deploy', () => {
      expect(expiresAt(sandbox('request'))).toBe(t('2026-01-01T01:00:00Z'));
      expect(expiresAt(sandbox('request', deployAt))).toBe(t('2026-01-01T01:30:00Z'));
      expect(expiresAt(sandbox('request', deployAt), requestAt)).toBe(t('2026-01-01T01:45:00Z'));
      // Once a request came, a later deployment no longer postpones the expiry.
      expect(expiresAt(sandbox('request', '2026-01-01T00:50:00.000Z'), requestAt)).toBe(t('2026-01-01T01:45:00Z'));
      // A request remembered from before the sandbox was created does not count.
      expect(expiresAt(sandbox('request'), t('2025-12-31T23:00:00Z'))).toBe(t('2026-01-01T01:00:00Z'));
    });

    it('in every basis a resume starts the idle time afresh and an extension adds to the deadline', () => {
      const resumed = { extendedMs: 0, activityAt: '2026-01-01T02:00:00.000Z' };
      const extended = { extendedMs: 600_000 };
      for (const from of ['activity', 'created', 'deploy', 'request'] as const) {
        expect(expiresAt(sandbox(from, deployAt), requestAt, resumed), from).toBe(t('2026-01-01T03:00:00Z'));
        expect(expiresAt(sandbox(from), undefined, extended), from).toBe(t('2026-01-01T01:10:00Z'));
      }
      expect(expiresAt(sandbox('created', deployAt), requestAt, extended)).toBe(t('2026-01-01T01:10:00Z'));
    });

    it('activitySince names when the idle time began', () => {
      expect(activitySince(sandbox('deploy', deployAt), {}, requestAt)).toBe(t(deployAt));
      expect(activitySince(sandbox('created', deployAt), {}, requestAt)).toBe(t(created));
    });
  });
});
