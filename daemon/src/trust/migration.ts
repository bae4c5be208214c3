/**
 * Schema version 6: the host build commands the user trusted, per repository (the real path
 * of its root) and build context, as exact argument lists (JSON arrays). Owned by TrustStore.
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const trustMigration: Migration = {
  version: 6,
  name: 'trusted host commands',
  up(db) {
    db.exec(`
      CREATE TABLE trusted_commands (
        id         INTEGER PRIMARY KEY,
        repo_path  TEXT NOT NULL,
        context    TEXT NOT NULL,
        command    TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        granted_by TEXT,
        UNIQUE (repo_path, context, command)
      ) STRICT;
    `);
  },
};
