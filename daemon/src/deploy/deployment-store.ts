/**
 * Deployments in SQLite (tables of ./migration.ts): one row per deployment, its stages with
 * start, end and duration, and its log lines. Every write is synchronous, so a status is on
 * disk before the progress item announcing it is sent.
 *
 * Retention: records and stages are kept; log lines are kept for the newest
 * {@link KEPT_DEPLOYMENT_LOGS} deployments of each sandbox and service (and for any running
 * one). When a deployment finishes, the logs of older ones are replaced by one line saying so.
 */
import type { Store } from '../state/store';
import type { DeployLogLine, DeploymentRecord, DeploymentStatus, DeployStage, LogSource, StageOutcome, StageRecord } from './types';
import { FINAL_STATUSES } from './types';

/** A deployments row, camelCase. */
export interface DeploymentRow {
  readonly id: string;
  readonly sandbox: string;
  readonly service: string;
  readonly repoPath: string;
  readonly ref: string | null;
  readonly commit: string | null;
  readonly includeUncommitted: boolean;
  readonly status: DeploymentStatus;
  readonly diagnosis: string | null;
  readonly sourceHash: string | null;
  readonly image: string | null;
  readonly buildReused: boolean | null;
  readonly containerId: string | null;
  readonly containerName: string | null;
  readonly hostPort: number | null;
  readonly previousContainer: string | null;
  readonly supersededBy: string | null;
  readonly requestedBy: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** The published ports of its container, as JSON `ServedPort[]` (migration-compose.ts). */
  readonly ports: string | null;
}

/** The columns a pipeline step may set. */
export type DeploymentUpdate = Partial<Omit<DeploymentRow, 'id' | 'sandbox' | 'service' | 'repoPath' | 'createdAt' | 'requestedBy'>>;

const COLUMNS: Readonly<Record<keyof DeploymentRow, string>> = {
  id: 'id',
  sandbox: 'sandbox',
  service: 'service',
  repoPath: 'repo_path',
  ref: 'ref',
  commit: 'commit_sha',
  includeUncommitted: 'include_uncommitted',
  status: 'status',
  diagnosis: 'diagnosis',
  sourceHash: 'source_hash',
  image: 'image',
  buildReused: 'build_reused',
  containerId: 'container_id',
  containerName: 'container_name',
  hostPort: 'host_port',
  previousContainer: 'previous_container',
  supersededBy: 'superseded_by',
  requestedBy: 'requested_by',
  createdAt: 'created_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  ports: 'ports',
};
const BOOLEAN_COLUMNS = new Set<keyof DeploymentRow>(['includeUncommitted', 'buildReused']);
const SELECT = `SELECT ${Object.entries(COLUMNS)
  .map(([key, column]) => `${column} AS "${key}"`)
  .join(', ')} FROM deployments`;

export const isFinal = (status: DeploymentStatus): boolean => (FINAL_STATUSES as readonly string[]).includes(status);

/** The statuses of a deployment whose container serves its service: running, or a job that completed (its exited container kept). */
export const SERVING_STATUSES = ['running', 'completed'] as const;
export const isServing = (status: DeploymentStatus | undefined): boolean => status !== undefined && (SERVING_STATUSES as readonly string[]).includes(status);

export interface ListFilter {
  readonly sandbox?: string;
  readonly service?: string;
  readonly status?: readonly DeploymentStatus[];
  readonly limit?: number;
}

interface StageRow {
  deploymentId: string;
  stage: DeployStage;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  outcome: StageOutcome | null;
}

/** Deployments per sandbox and service whose log lines are kept. */
export const KEPT_DEPLOYMENT_LOGS = 20;

export class DeploymentStore {
  private readonly nextSeq = new Map<string, number>();
  private readonly insertLog;
  private readonly sql;

  constructor(
    private readonly store: Store,
    private readonly keptLogs = KEPT_DEPLOYMENT_LOGS,
  ) {
    const db = store.db;
    this.insertLog = db.prepare<[string, number, string, string, string]>(
      'INSERT INTO deployment_logs (deployment_id, seq, at, source, line) VALUES (?, ?, ?, ?, ?)',
    );
    const final = FINAL_STATUSES.filter((s) => !isServing(s))
      .map((s) => `'${s}'`)
      .join(', ');
    this.sql = {
      // Finished deployments past the newest `keptLogs` of their service that still hold more than the one pruning line.
      prunable: db.prepare<[string, string, string, string, number], { id: string }>(
        `SELECT id FROM deployments d
         WHERE sandbox = ? AND service = ? AND status IN (${final})
           AND id NOT IN (SELECT id FROM deployments WHERE sandbox = ? AND service = ? ORDER BY created_at DESC LIMIT ?)
           AND EXISTS (SELECT 1 FROM deployment_logs WHERE deployment_id = d.id AND seq > 1)`,
      ),
      dropLog: db.prepare<[string]>('DELETE FROM deployment_logs WHERE deployment_id = ?'),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.store.transaction(fn);
  }

  insert(row: Pick<DeploymentRow, 'id' | 'sandbox' | 'service' | 'repoPath' | 'ref' | 'commit' | 'includeUncommitted' | 'requestedBy' | 'createdAt'>): void {
    this.store.db
      .prepare(
        `INSERT INTO deployments (id, sandbox, service, repo_path, ref, commit_sha, include_uncommitted, status, requested_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(row.id, row.sandbox, row.service, row.repoPath, row.ref, row.commit, row.includeUncommitted ? 1 : 0, row.requestedBy, row.createdAt);
  }

  update(id: string, fields: DeploymentUpdate): void {
    const keys = Object.keys(fields) as (keyof DeploymentUpdate)[];
    if (keys.length === 0) return;
    const values = keys.map((k) => {
      const v = fields[k];
      if (v === undefined) return null;
      return BOOLEAN_COLUMNS.has(k) ? (v ? 1 : 0) : v;
    });
    this.store.db.prepare(`UPDATE deployments SET ${keys.map((k) => `${COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`).run(...values, id);
  }

  row(id: string): DeploymentRow | undefined {
    const raw = this.store.db.prepare(`${SELECT} WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return raw ? fromRaw(raw) : undefined;
  }

  /** Every deployment not in a final status (recovery). */
  nonFinal(): DeploymentRow[] {
    const placeholders = FINAL_STATUSES.map(() => '?').join(', ');
    return (this.store.db.prepare(`${SELECT} WHERE status NOT IN (${placeholders}) ORDER BY created_at`).all(...FINAL_STATUSES) as Record<string, unknown>[]).map(fromRaw);
  }

  /** The statuses of the given ids that exist (recovery matches containers' labels against them). */
  statusesOf(ids: readonly string[]): Map<string, DeploymentRow> {
    const out = new Map<string, DeploymentRow>();
    const get = this.store.db.prepare(`${SELECT} WHERE id = ?`);
    for (const id of ids) {
      const raw = get.get(id) as Record<string, unknown> | undefined;
      if (raw) out.set(id, fromRaw(raw));
    }
    return out;
  }

  /** How many deployments of the sandbox (and service) are in flight: queued or in a stage before running. */
  inFlight(sandbox: string, service?: string): number {
    const placeholders = FINAL_STATUSES.map(() => '?').join(', ');
    const row = (
      service === undefined
        ? this.store.db.prepare(`SELECT count(*) AS n FROM deployments WHERE sandbox = ? AND status NOT IN (${placeholders})`).get(sandbox, ...FINAL_STATUSES)
        : this.store.db
            .prepare(`SELECT count(*) AS n FROM deployments WHERE sandbox = ? AND service = ? AND status NOT IN (${placeholders})`)
            .get(sandbox, service, ...FINAL_STATUSES)
    ) as { n: number };
    return row.n;
  }

  /**
   * The images (tags or ids) deployments reference that are kept: those of deployments in
   * flight (whatever their sandbox: it may be on its way out), and, of a sandbox that
   * `exists`, those of running deployments and each service's newest `perService` distinct
   * images that served (for a quick redeploy or rollback of recent commits). Every other image a
   * deployment built is reclaimable.
   */
  imagesToKeep(exists: (sandbox: string) => boolean, perService: number): Set<string> {
    const rows = this.store.db
      .prepare('SELECT sandbox, service, image, status FROM deployments WHERE image IS NOT NULL ORDER BY created_at DESC, rowid DESC')
      .all() as { sandbox: string; service: string; image: string; status: DeploymentStatus }[];
    const keep = new Set<string>();
    const recent = new Map<string, Set<string>>();
    for (const r of rows) {
      if (!isFinal(r.status)) keep.add(r.image);
      if (!exists(r.sandbox)) continue;
      if (isServing(r.status)) keep.add(r.image);
      // Only images that served count among the newest: a failed or cancelled build's may not even exist.
      if (r.status === 'failed' || r.status === 'cancelled') continue;
      const key = `${r.sandbox}\u0000${r.service}`;
      const images = recent.get(key) ?? new Set<string>();
      recent.set(key, images);
      if (images.size < perService) images.add(r.image);
    }
    for (const images of recent.values()) for (const image of images) keep.add(image);
    return keep;
  }

  /** How many deployments are preparing or building (a build may be reusing any image's layers from the cache). */
  buildsInFlight(): number {
    return (this.store.db.prepare("SELECT count(*) AS n FROM deployments WHERE status IN ('preparing', 'building')").get() as { n: number }).n;
  }

  /** Services with a deployment in flight that has not yet picked its image (it may reuse any of its service's). */
  servicesChoosingImage(): Set<string> {
    const placeholders = FINAL_STATUSES.map(() => '?').join(', ');
    const rows = this.store.db
      .prepare(`SELECT DISTINCT service FROM deployments WHERE image IS NULL AND status NOT IN (${placeholders})`)
      .all(...FINAL_STATUSES) as { service: string }[];
    return new Set(rows.map((r) => r.service));
  }

  /** Running deployments (the ones serving: running, or a completed job), optionally of one sandbox. */
  running(sandbox?: string): DeploymentRow[] {
    const serving = `status IN (${SERVING_STATUSES.map((s) => `'${s}'`).join(', ')})`;
    const rows = sandbox === undefined
      ? this.store.db.prepare(`${SELECT} WHERE ${serving}`).all()
      : this.store.db.prepare(`${SELECT} WHERE ${serving} AND sandbox = ?`).all(sandbox);
    return (rows as Record<string, unknown>[]).map(fromRaw);
  }

  beginStage(id: string, stage: DeployStage, at: Date): void {
    this.store.db
      .prepare(
        `INSERT INTO deployment_stages (deployment_id, stage, started_at) VALUES (?, ?, ?)
         ON CONFLICT (deployment_id, stage) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL, duration_ms = NULL, outcome = NULL`,
      )
      .run(id, stage, at.toISOString());
  }

  /** Ends the stage; answers its duration. */
  endStage(id: string, stage: DeployStage, at: Date, outcome: StageOutcome): number {
    const started = this.store.db
      .prepare('SELECT started_at AS startedAt FROM deployment_stages WHERE deployment_id = ? AND stage = ?')
      .get(id, stage) as { startedAt: string } | undefined;
    const durationMs = started ? Math.max(0, at.getTime() - Date.parse(started.startedAt)) : 0;
    this.store.db
      .prepare('UPDATE deployment_stages SET finished_at = ?, duration_ms = ?, outcome = ? WHERE deployment_id = ? AND stage = ?')
      .run(at.toISOString(), durationMs, outcome, id, stage);
    return durationMs;
  }

  /** The stage that began and did not end, if any. */
  openStage(id: string): DeployStage | undefined {
    const row = this.store.db
      .prepare('SELECT stage FROM deployment_stages WHERE deployment_id = ? AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1')
      .get(id) as { stage: DeployStage } | undefined;
    return row?.stage;
  }

  stages(id: string): StageRecord[] {
    const rows = this.store.db
      .prepare(
        `SELECT deployment_id AS deploymentId, stage, started_at AS startedAt, finished_at AS finishedAt,
                duration_ms AS durationMs, outcome
         FROM deployment_stages WHERE deployment_id = ? ORDER BY started_at, rowid`,
      )
      .all(id) as StageRow[];
    return rows.map(stageRecord);
  }

  /** Appends a log line; answers its sequence number. */
  appendLog(id: string, source: LogSource, line: string, at: Date): number {
    let seq = this.nextSeq.get(id);
    if (seq === undefined) {
      const max = this.store.db.prepare('SELECT MAX(seq) AS max FROM deployment_logs WHERE deployment_id = ?').get(id) as { max: number | null };
      seq = (max.max ?? 0) + 1;
    }
    this.insertLog.run(id, seq, at.toISOString(), source, line);
    this.nextSeq.set(id, seq + 1);
    return seq;
  }

  /**
   * The deployment will log no more: drops its cached counter and the log lines of its
   * service's deployments beyond the newest {@link KEPT_DEPLOYMENT_LOGS}. Answers how many
   * deployments' logs were dropped.
   */
  finishLog(deployment: Pick<DeploymentRow, 'id' | 'sandbox' | 'service'>, now = new Date()): number {
    const { id, sandbox, service } = deployment;
    this.nextSeq.delete(id);
    return this.transaction(() => {
      const old = this.sql.prunable.all(sandbox, service, sandbox, service, this.keptLogs);
      for (const { id: oldId } of old) {
        this.sql.dropLog.run(oldId);
        this.insertLog.run(oldId, 1, now.toISOString(), 'daemon', `Log dropped: Branchbox keeps the logs of the newest ${this.keptLogs} deployments of each service.`);
      }
      return old.length;
    });
  }

  logs(id: string, afterSeq = 0, limit = 1000): { lines: DeployLogLine[]; more: boolean } {
    const rows = this.store.db
      .prepare('SELECT seq, at AS t, source, line FROM deployment_logs WHERE deployment_id = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(id, afterSeq, limit + 1) as DeployLogLine[];
    const more = rows.length > limit;
    return { lines: more ? rows.slice(0, limit) : rows, more };
  }

  get(id: string): DeploymentRecord | undefined {
    const row = this.row(id);
    return row ? this.record(row) : undefined;
  }

  list(filter: ListFilter = {}): DeploymentRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.sandbox !== undefined) {
      where.push('sandbox = ?');
      args.push(filter.sandbox);
    }
    if (filter.service !== undefined) {
      where.push('service = ?');
      args.push(filter.service);
    }
    if (filter.status?.length) {
      where.push(`status IN (${filter.status.map(() => '?').join(', ')})`);
      args.push(...filter.status);
    }
    const sql = `${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    const rows = this.store.db.prepare(sql).all(...args, filter.limit ?? 50) as Record<string, unknown>[];
    return rows.map((raw) => this.record(fromRaw(raw)));
  }

  record(row: DeploymentRow): DeploymentRecord {
    const duration = row.startedAt && row.finishedAt ? Math.max(0, Date.parse(row.finishedAt) - Date.parse(row.startedAt)) : undefined;
    const out: DeploymentRecord = {
      id: row.id,
      sandbox: row.sandbox,
      service: row.service,
      repoPath: row.repoPath,
      includeUncommitted: row.includeUncommitted,
      status: row.status,
      createdAt: row.createdAt,
      stages: this.stages(row.id),
    };
    if (row.ref !== null) out.ref = row.ref;
    if (row.commit !== null) out.commit = row.commit;
    if (row.sourceHash !== null) out.sourceHash = row.sourceHash;
    if (row.diagnosis !== null) out.diagnosis = row.diagnosis;
    if (row.image !== null) out.image = row.image;
    if (row.buildReused !== null) out.buildReused = row.buildReused;
    if (row.containerId !== null) out.containerId = row.containerId;
    if (row.containerName !== null) out.containerName = row.containerName;
    if (row.hostPort !== null) {
      out.hostPort = row.hostPort;
      out.url = `http://127.0.0.1:${row.hostPort}`;
    }
    if (row.supersededBy !== null) out.supersededBy = row.supersededBy;
    if (row.requestedBy !== null) out.requestedBy = row.requestedBy;
    if (row.startedAt !== null) out.startedAt = row.startedAt;
    if (row.finishedAt !== null) out.finishedAt = row.finishedAt;
    if (duration !== undefined) out.durationMs = duration;
    return out;
  }
}

function fromRaw(raw: Record<string, unknown>): DeploymentRow {
  const row = { ...raw } as Record<string, unknown>;
  row.includeUncommitted = raw.includeUncommitted === 1;
  row.buildReused = raw.buildReused === null ? null : raw.buildReused === 1;
  return row as unknown as DeploymentRow;
}

function stageRecord(row: StageRow): StageRecord {
  const out: StageRecord = { stage: row.stage, startedAt: row.startedAt };
  if (row.finishedAt !== null) out.finishedAt = row.finishedAt;
  if (row.durationMs !== null) out.durationMs = row.durationMs;
  if (row.outcome !== null) out.outcome = row.outcome;
  return out;
}
