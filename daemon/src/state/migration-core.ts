/**
 * Schema version 1: the store's own `meta` table and the audit trail (`./audit.ts`).
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from './migrations';

export const coreMigration: Migration = {
  version: 1,
  name: 'core tables: meta, audit',
  up(db) {
    db.exec(`
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE audit (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        client  TEXT,
        os_user TEXT,
        method  TEXT NOT NULL,
        target  TEXT,
        outcome TEXT NOT NULL,
        detail  TEXT
      ) STRICT;

      CREATE INDEX audit_at ON audit (at);
    `);
  },
};
