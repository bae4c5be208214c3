/**
 * Snapshots: a sandbox frozen under a name — its exact commits, routes, settings and
 * environment (secrets still encrypted) — kept after the sandbox itself is gone, to recreate
 * it with `sandbox/restore` — and the data of its named volumes, as tar files beside the state
 * database (`snapshot-files.ts`; the spec records each volume's name and size).
 */
import type { Resources, RouteKind } from '../../../schemas/src/project';
import type { SnapshotSummary, TtlPolicy } from '../../../schemas/src/sandbox';
import { RpcError } from '../rpc/errors';
import type { Store } from '../state/store';
import type { StoredEnvEntry } from './environment';

export interface SnapshotService {
  readonly service: string;
  readonly route: RouteKind;
  readonly routeUrl?: string;
  readonly branch?: string;
  readonly commit?: string;
}

/** A volume whose data the snapshot holds (`<stateDir>/snapshots/<snapshot>/<name>.tar`). */
export interface SnapshotVolume {
  readonly name: string;
  /** The size of its tar. */
  readonly bytes: number;
}

/** What the `spec` column holds. */
export interface SnapshotSpec {
  readonly version: 1;
  readonly sandbox: string;
  readonly project?: string;
  readonly repoPath?: string;
  readonly template?: string;
  readonly ttl?: TtlPolicy;
  readonly resources?: Resources;
  readonly services: readonly SnapshotService[];
  readonly env: readonly StoredEnvEntry[];
  /** Absent in snapshots taken before volumes were captured: none. */
  readonly volumes?: readonly SnapshotVolume[];
}

export interface Snapshot extends SnapshotSpec {
  readonly name: string;
  readonly createdAt: string;
}

interface SnapshotRow {
  name: string;
  sandbox: string;
  spec: string;
  created_at: string;
}

export class SnapshotStore {
  private readonly sql;

  constructor(
    store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = store.db;
    this.sql = {
      insert: db.prepare(
        'INSERT INTO snapshots (name, sandbox, spec, created_at) VALUES (@name, @sandbox, @spec, @at)',
      ),
      one: db.prepare<[string], SnapshotRow>('SELECT * FROM snapshots WHERE name = ?'),
      all: db.prepare<[], SnapshotRow>('SELECT * FROM snapshots ORDER BY created_at DESC, name'),
      ofSandbox: db.prepare<[string], SnapshotRow>(
        'SELECT * FROM snapshots WHERE sandbox = ? ORDER BY created_at DESC, name',
      ),
      remove: db.prepare<[string]>('DELETE FROM snapshots WHERE name = ?'),
    };
  }

  /** @throws RpcError NameTaken */
  save(name: string, spec: SnapshotSpec): Snapshot {
    try {
      this.sql.insert.run({ name, sandbox: spec.sandbox, spec: JSON.stringify(spec), at: this.now().toISOString() });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new RpcError(
          'NameTaken',
          `A snapshot named "${name}" already exists; delete it first or pick another name.`,
          { snapshot: name },
        );
      }
      throw e;
    }
    return this.require(name);
  }

  get(name: string): Snapshot | undefined {
    const row = this.sql.one.get(name);
    return row ? fromRow(row) : undefined;
  }

  /** @throws RpcError SnapshotNotFound */
  require(name: string): Snapshot {
    const row = this.sql.one.get(name);
    if (!row)
      throw new RpcError('SnapshotNotFound', `No snapshot "${name}". snapshot/list shows the existing ones.`, {
        snapshot: name,
      });
    return fromRow(row);
  }

  list(sandbox?: string): Snapshot[] {
    return (sandbox === undefined ? this.sql.all.all() : this.sql.ofSandbox.all(sandbox)).map(fromRow);
  }

  /** @throws RpcError SnapshotNotFound */
  delete(name: string): void {
    if (this.sql.remove.run(name).changes === 0)
      throw new RpcError('SnapshotNotFound', `No snapshot "${name}".`, { snapshot: name });
  }
}

export function summarize(snapshot: Snapshot): SnapshotSummary {
  return {
    name: snapshot.name,
    sandbox: snapshot.sandbox,
    ...(snapshot.project !== undefined ? { project: snapshot.project } : {}),
    createdAt: snapshot.createdAt,
    services: snapshot.services.map((s) => ({ ...s })),
    envKeys: snapshot.env.length,
    volumes: (snapshot.volumes ?? []).map((v) => ({ name: v.name, bytes: v.bytes })),
  };
}

function fromRow(row: SnapshotRow): Snapshot {
  return { ...(JSON.parse(row.spec) as SnapshotSpec), name: row.name, createdAt: row.created_at };
}
