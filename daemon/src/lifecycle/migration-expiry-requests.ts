/**
 * Schema version 5: when a request last went through a sandbox's gateway, kept with its
 * expiry bookkeeping so a TTL counted from gateway requests survives a daemon restart.
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const gatewayActivityMigration: Migration = {
  version: 5,
  name: 'last gateway request per sandbox',
  up(db) {
    db.exec('ALTER TABLE sandbox_expiry ADD COLUMN request_at TEXT');
  },
};
