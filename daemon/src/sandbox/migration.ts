/**
 * Schema version 2: sandboxes, their services, ports, environments, templates, snapshots.
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const sandboxMigration: Migration = {
  version: 2,
  name: 'sandboxes, services, ports, environments, templates, snapshots',
  up(db) {
    db.exec(`
      CREATE TABLE sandboxes (
        name           TEXT PRIMARY KEY,
        project        TEXT,
        repo_path      TEXT,
        state          TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'expired', 'deleting')),
        owner          TEXT NOT NULL,
        template       TEXT,
        ttl_policy     TEXT,
        resources      TEXT,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        last_deploy_at TEXT
      ) STRICT;

      CREATE TABLE sandbox_services (
        sandbox       TEXT NOT NULL REFERENCES sandboxes (name) ON DELETE CASCADE,
        service       TEXT NOT NULL,
        route         TEXT NOT NULL DEFAULT 'sandbox' CHECK (route IN ('sandbox', 'baseline', 'url')),
        route_url     TEXT,
        branch        TEXT,
        commit_sha    TEXT,
        container_id  TEXT,
        host_port     INTEGER,
        deployment_id TEXT,
        PRIMARY KEY (sandbox, service)
      ) STRICT;

      CREATE TABLE ports (
        port          INTEGER PRIMARY KEY,
        sandbox       TEXT NOT NULL,
        service       TEXT,
        purpose       TEXT NOT NULL CHECK (purpose IN ('service', 'gateway')),
        deployment_id TEXT,
        allocated_at  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX ports_sandbox ON ports (sandbox);

      CREATE TABLE env_vars (
        sandbox    TEXT NOT NULL REFERENCES sandboxes (name) ON DELETE CASCADE,
        service    TEXT NOT NULL DEFAULT '',
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        secret     INTEGER NOT NULL CHECK (secret IN (0, 1)),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (sandbox, service, key)
      ) STRICT;

      CREATE TABLE templates (
        name       TEXT PRIMARY KEY,
        spec       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE snapshots (
        name       TEXT PRIMARY KEY,
        sandbox    TEXT NOT NULL,
        spec       TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
