/**
 * Schema version 7: what compose services add to deployments and to what serves.
 *
 * - `deployments.status` may be `completed` (a job that exited 0): SQLite cannot change a
 *   CHECK constraint, so the table is rebuilt — with its stage and log tables, whose foreign
 *   keys would otherwise follow the old table (dropping it would cascade to them).
 * - `deployments.ports`: the published ports of the deployment's container as JSON
 *   (`[{container, protocol, hostPort, published?}]`), each host port a lease of the allocator.
 * - `sandbox_services.ports` / `.job`: the same for the container serving, and whether it is a job.
 *
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

const DEPLOYMENT_COLUMNS =
  'id, sandbox, service, repo_path, ref, commit_sha, include_uncommitted, status, diagnosis, source_hash, image, build_reused, ' +
  'container_id, container_name, host_port, previous_container, superseded_by, requested_by, created_at, started_at, finished_at';

export const composeRuntimeMigration: Migration = {
  version: 7,
  name: 'completed jobs, published ports',
  up(db) {
    db.exec(`
      CREATE TABLE deployments_v7 (
        id                  TEXT PRIMARY KEY,
        sandbox             TEXT NOT NULL,
        service             TEXT NOT NULL,
        repo_path           TEXT NOT NULL,
        ref                 TEXT,
        commit_sha          TEXT,
        include_uncommitted INTEGER NOT NULL DEFAULT 0 CHECK (include_uncommitted IN (0, 1)),
        status              TEXT NOT NULL CHECK (status IN ('queued', 'preparing', 'building', 'starting',
                              'health-checking', 'running', 'completed', 'failed', 'cancelled', 'stopped', 'superseded')),
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
        finished_at         TEXT,
        ports               TEXT
      ) STRICT;
      INSERT INTO deployments_v7 (rowid, ${DEPLOYMENT_COLUMNS}) SELECT rowid, ${DEPLOYMENT_COLUMNS} FROM deployments;

      CREATE TABLE deployment_stages_v7 (
        deployment_id TEXT NOT NULL REFERENCES deployments_v7 (id) ON DELETE CASCADE,
        stage         TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        duration_ms   INTEGER,
        outcome       TEXT,
        PRIMARY KEY (deployment_id, stage)
      ) STRICT;
      INSERT INTO deployment_stages_v7 (rowid, deployment_id, stage, started_at, finished_at, duration_ms, outcome)
        SELECT rowid, deployment_id, stage, started_at, finished_at, duration_ms, outcome FROM deployment_stages;

      CREATE TABLE deployment_logs_v7 (
        deployment_id TEXT NOT NULL REFERENCES deployments_v7 (id) ON DELETE CASCADE,
        seq           INTEGER NOT NULL,
        at            TEXT NOT NULL,
        source        TEXT NOT NULL,
        line          TEXT NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      ) STRICT;
      INSERT INTO deployment_logs_v7 (deployment_id, seq, at, source, line) SELECT deployment_id, seq, at, source, line FROM deployment_logs;

      DROP TABLE deployment_logs;
      DROP TABLE deployment_stages;
      DROP TABLE deployments;
      ALTER TABLE deployments_v7 RENAME TO deployments;
      ALTER TABLE deployment_stages_v7 RENAME TO deployment_stages;
      ALTER TABLE deployment_logs_v7 RENAME TO deployment_logs;
      CREATE INDEX deployments_target ON deployments (sandbox, service, created_at);
      CREATE INDEX deployments_status ON deployments (status);

      ALTER TABLE sandbox_services ADD COLUMN ports TEXT;
      ALTER TABLE sandbox_services ADD COLUMN job INTEGER NOT NULL DEFAULT 0 CHECK (job IN (0, 1));
    `);
  },
};
