/**
 * Schema version 8: forwards (a stable 127.0.0.1 port per service port of a project) and each
 * project's current sandbox, which new connections of its forwards reach. Owned by
 * ForwardStore. Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const forwardMigration: Migration = {
  version: 8,
  name: 'forwards',
  up(db) {
    db.exec(`
      CREATE TABLE forwards (
        project        TEXT NOT NULL,
        service        TEXT NOT NULL,
        container_port INTEGER NOT NULL,
        local_port     INTEGER NOT NULL UNIQUE,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (project, service, container_port)
      ) STRICT;
      CREATE TABLE forward_current (
        project TEXT PRIMARY KEY,
        sandbox TEXT NOT NULL,
        set_at  TEXT NOT NULL
      ) STRICT;
    `);
  },
};
