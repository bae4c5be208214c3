/**
 * Schema version 10: which sandboxes follow their branches (`sandbox/follow`), and what follow
 * last did for each — its last check, its last redeploy, its last error, and the head each
 * service failed at (not tried again until the branch moves). Owned by FollowStore; a row goes
 * with its sandbox. Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const followMigration: Migration = {
  version: 10,
  name: 'sandbox follow',
  up(db) {
    db.exec(`
      CREATE TABLE sandbox_follow (
        sandbox       TEXT PRIMARY KEY REFERENCES sandboxes (name) ON DELETE CASCADE,
        since         TEXT NOT NULL,
        last_check_at TEXT,
        last_redeploy TEXT,
        last_error    TEXT,
        failed        TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
    `);
  },
};
