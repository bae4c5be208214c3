/**
 * Expiry deadlines as a pure function: idle time from the latest activity (creation, last
 * deploy, last gateway request, resume/extension), extensions, retention after expiry.
 */
import { describe, expect, it } from 'vitest';
import { deadlinesOf } from '../../../daemon/src/lifecycle/expiry';

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
});
