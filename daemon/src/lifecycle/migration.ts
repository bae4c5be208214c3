/**
 * Schema version 4: the sandbox lifecycle — the uptime history of each service
 * (one row per service and minute, kept 24 h) and the expiry bookkeeping of each sandbox.
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const lifecycleMigration: Migration = {
  version: 4,
  name: 'service uptime per minute, sandbox expiry',
  up(db) {
    db.exec(`
      CREATE TABLE service_uptime (
        sandbox TEXT NOT NULL REFERENCES sandboxes (name) ON DELETE CASCADE,
        service TEXT NOT NULL,
        minute  TEXT NOT NULL,
        ok      INTEGER NOT NULL,
        total   INTEGER NOT NULL,
        PRIMARY KEY (sandbox, service, minute)
      ) STRICT;
      CREATE INDEX service_uptime_minute ON service_uptime (minute);

      CREATE TABLE sandbox_expiry (
        sandbox     TEXT PRIMARY KEY REFERENCES sandboxes (name) ON DELETE CASCADE,
        extended_ms INTEGER NOT NULL DEFAULT 0,
        activity_at TEXT,
        warned_at   TEXT,
        expired_at  TEXT
      ) STRICT;
    `);
  },
};
