/**
 * Migration v7 on a state file written by v6: deployments, their stages and logs survive the
 * rebuild of the deployments table (foreign keys and cascades intact), `completed` becomes a
 * valid status, and the published-port and job columns exist.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrations } from '../../../daemon/src/state/migrations';
import { openStore } from '../../../daemon/src/state/store';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bb-mig7-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('keeps every deployment, stage and log line, and accepts completed jobs and published ports', () => {
  const file = join(dir, 'state.db');
  const v6 = openStore(file, { migrations: migrations.filter((m) => m.version <= 6) });
  v6.db.exec(`
    INSERT INTO deployments (id, sandbox, service, repo_path, status, host_port, created_at) VALUES ('d1', 'qa', 'web', '/r', 'running', 42001, '2026-01-01');
    INSERT INTO deployment_stages (deployment_id, stage, started_at, outcome) VALUES ('d1', 'build', '2026-01-01', 'ok');
    INSERT INTO deployment_logs (deployment_id, seq, at, source, line) VALUES ('d1', 1, '2026-01-01', 'daemon', 'hello');
    INSERT INTO sandboxes (name, owner, state, created_at, updated_at) VALUES ('qa', 'me', 'active', '2026-01-01', '2026-01-01');
    INSERT INTO sandbox_services (sandbox, service, route, host_port) VALUES ('qa', 'web', 'sandbox', 42001);
  `);
  expect(() => v6.db.prepare("UPDATE deployments SET status = 'completed' WHERE id = 'd1'").run()).toThrow(/CHECK/);
  v6.close();

  const v7 = openStore(file);
  expect(v7.schemaVersion).toBeGreaterThanOrEqual(7);
  expect(v7.db.prepare('SELECT id, status, host_port AS hostPort, ports FROM deployments').all()).toEqual([{ id: 'd1', status: 'running', hostPort: 42001, ports: null }]);
  expect(v7.db.prepare('SELECT stage, outcome FROM deployment_stages').all()).toEqual([{ stage: 'build', outcome: 'ok' }]);
  expect(v7.db.prepare('SELECT line FROM deployment_logs').all()).toEqual([{ line: 'hello' }]);
  expect(v7.db.prepare('SELECT ports, job FROM sandbox_services').all()).toEqual([{ ports: null, job: 0 }]);
  v7.db.prepare("UPDATE deployments SET status = 'completed', ports = '[]' WHERE id = 'd1'").run();
  expect(v7.db.pragma('foreign_key_check')).toEqual([]);
  // The stage and log tables still cascade from the rebuilt deployments table.
  v7.db.prepare("DELETE FROM deployments WHERE id = 'd1'").run();
  expect(v7.db.prepare('SELECT count(*) AS n FROM deployment_logs').get()).toEqual({ n: 0 });
  expect(v7.db.prepare('SELECT count(*) AS n FROM deployment_stages').get()).toEqual({ n: 0 });
  v7.close();
});
