/**
 * The uptime history of each service: every health check counts into its minute
 * (`service_uptime`: ok and total checks), rows older than 24 h are dropped. A minute is `up`
 * when every check passed, `down` when none did, `degraded` otherwise.
 */
import type { Store } from '../state/store';

export const UPTIME_WINDOW_MS = 24 * 60 * 60_000;

export type MinuteStatus = 'up' | 'degraded' | 'down';

export interface ServiceUptime {
  readonly service: string;
  readonly minutes: { readonly minute: string; readonly status: MinuteStatus }[];
}

interface UptimeRow {
  service: string;
  minute: string;
  ok: number;
  total: number;
}

/** The start of the UTC minute of `at`, as an ISO timestamp. */
export function minuteOf(at: Date): string {
  const d = new Date(at.getTime());
  d.setUTCSeconds(0, 0);
  return d.toISOString();
}

export function minuteStatus(ok: number, total: number): MinuteStatus {
  if (ok >= total) return 'up';
  return ok === 0 ? 'down' : 'degraded';
}

export class UptimeHistory {
  private readonly sql;
  private lastPrune = 0;

  constructor(
    store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = store.db;
    this.sql = {
      record: db.prepare<[string, string, string, number]>(
        `INSERT INTO service_uptime (sandbox, service, minute, ok, total) VALUES (?, ?, ?, ?, 1)
         ON CONFLICT (sandbox, service, minute) DO UPDATE SET ok = ok + excluded.ok, total = total + 1`,
      ),
      exists: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM sandboxes WHERE name = ?'),
      of: db.prepare<[string, string], UptimeRow>(
        'SELECT service, minute, ok, total FROM service_uptime WHERE sandbox = ? AND minute >= ? ORDER BY service, minute',
      ),
      prune: db.prepare<[string]>('DELETE FROM service_uptime WHERE minute < ?'),
    };
  }

  /** Counts one check of `service` of `sandbox` (a sandbox deleted meanwhile is skipped). */
  record(sandbox: string, service: string, ok: boolean): void {
    const now = this.now();
    if ((this.sql.exists.get(sandbox)?.n ?? 0) === 0) return;
    this.sql.record.run(sandbox, service, minuteOf(now), ok ? 1 : 0);
    if (now.getTime() - this.lastPrune > 60_000) {
      this.lastPrune = now.getTime();
      this.sql.prune.run(minuteOf(new Date(now.getTime() - UPTIME_WINDOW_MS)));
    }
  }

  /** The last 24 h of each service of the sandbox, oldest minute first. */
  of(sandbox: string): ServiceUptime[] {
    const since = minuteOf(new Date(this.now().getTime() - UPTIME_WINDOW_MS));
    const by = new Map<string, ServiceUptime['minutes']>();
    for (const row of this.sql.of.all(sandbox, since)) {
      const list = by.get(row.service) ?? [];
      list.push({ minute: row.minute, status: minuteStatus(row.ok, row.total) });
      by.set(row.service, list);
    }
    return [...by].map(([service, minutes]) => ({ service, minutes }));
  }
}
