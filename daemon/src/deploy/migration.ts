/**
 * Schema version 3: deployments, their stages and their logs. Deployments outlive their
 * sandbox (history), so they do not reference the sandboxes table.
 *
 * Invariants the pipeline keeps (recovery relies on them): a deployment holds `host_port` in
 * the port allocator while its status is not final or is `running`, and releases it in the
 * same transaction that makes it final otherwise; `previous_container` is the container that
 * served before, renamed away during switch-over, so an interrupted switch-over can put it back.
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const deployMigration: Migration = {
  version: 3,
  name: 'deployments, stages, logs',
  up(db) {
    db.exec(`
      CREATE TABLE deployments (
        id                  TEXT PRIMARY KEY,
        sandbox             TEXT NOT NULL,
        service             TEXT NOT NULL,
        repo_path           TEXT NOT NULL,
        ref                 TEXT,
        commit_sha          TEXT,
        include_uncommitted INTEGER NOT NULL DEFAULT 0 CHECK (include_uncommitted IN (0, 1)),
        status              TEXT NOT NULL CHECK (status IN ('queued', 'preparing', 'building', 'starting',
                              'health-checking', 'running', 'failed', 'cancelled', 'stopped', 'superseded')),
        diagnosis           TEXT,
        source_hash         TEXT,
        image               TEXT,
        build_reused        INTEGER CHECK (build_reused IN (0, 1)),
        container_id        TEXT,
        container_name      TEXT,
        host_port           INTEGER,
        previous_container  TEXT,
        superseded_by       TEXT,
        requested_by        TEXT,
        created_at          TEXT NOT NULL,
        started_at          TEXT,
        finished_at         TEXT
      ) STRICT;
      CREATE INDEX deployments_target ON deployments (sandbox, service, created_at);
      CREATE INDEX deployments_status ON deployments (status);

      CREATE TABLE deployment_stages (
        deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        stage         TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        duration_ms   INTEGER,
        outcome       TEXT,
        PRIMARY KEY (deployment_id, stage)
      ) STRICT;

      CREATE TABLE deployment_logs (
        deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        seq           INTEGER NOT NULL,
        at            TEXT NOT NULL,
        source        TEXT NOT NULL,
        line          TEXT NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      ) STRICT;
    `);
  },
};
