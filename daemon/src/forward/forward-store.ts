/**
 * The forwards and each project's current sandbox (tables `forwards` and `forward_current`,
 * ./migration.ts). The only code that reads or writes them.
 */
import type { Store } from '../state/store';

/** One forward as stored: 127.0.0.1:<localPort> → `containerPort` of `service` in the project's current sandbox. */
export interface ForwardSpec {
  readonly project: string;
  readonly service: string;
  readonly containerPort: number;
  readonly localPort: number;
}

interface ForwardRow {
  project: string;
  service: string;
  container_port: number;
  local_port: number;
}

interface CurrentRow {
  project: string;
  sandbox: string;
}

const spec = (r: ForwardRow): ForwardSpec => ({ project: r.project, service: r.service, containerPort: r.container_port, localPort: r.local_port });

export class ForwardStore {
  private readonly sql;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = store.db;
    this.sql = {
      all: db.prepare<[], ForwardRow>('SELECT * FROM forwards ORDER BY project, service, container_port'),
      byLocalPort: db.prepare<[number], ForwardRow>('SELECT * FROM forwards WHERE local_port = ?'),
      insert: db.prepare<[string, string, number, number, string]>(
        'INSERT INTO forwards (project, service, container_port, local_port, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      remove: db.prepare<[string, string, number]>('DELETE FROM forwards WHERE project = ? AND service = ? AND container_port = ?'),
      currents: db.prepare<[], CurrentRow>('SELECT project, sandbox FROM forward_current ORDER BY project'),
      setCurrent: db.prepare<[string, string, string]>(
        'INSERT INTO forward_current (project, sandbox, set_at) VALUES (?, ?, ?) ON CONFLICT (project) DO UPDATE SET sandbox = excluded.sandbox, set_at = excluded.set_at',
      ),
      unsetCurrent: db.prepare<[string]>('DELETE FROM forward_current WHERE project = ?'),
      unsetSandbox: db.prepare<[string], CurrentRow>('DELETE FROM forward_current WHERE sandbox = ? RETURNING project, sandbox'),
    };
  }

  /** Every forward, by project, service and container port. */
  list(): ForwardSpec[] {
    return this.sql.all.all().map(spec);
  }

  /** The forward holding a local port, if any. */
  holding(localPort: number): ForwardSpec | undefined {
    const row = this.sql.byLocalPort.get(localPort);
    return row ? spec(row) : undefined;
  }

  add(forward: ForwardSpec): void {
    this.sql.insert.run(forward.project, forward.service, forward.containerPort, forward.localPort, this.now().toISOString());
  }

  remove(forward: ForwardSpec): void {
    this.sql.remove.run(forward.project, forward.service, forward.containerPort);
  }

  /** The current sandbox of each project that has one. */
  currents(): Map<string, string> {
    return new Map(this.sql.currents.all().map((r) => [r.project, r.sandbox]));
  }

  /** Sets (or, with null, unsets) the project's current sandbox. */
  setCurrent(project: string, sandbox: string | null): void {
    if (sandbox === null) this.sql.unsetCurrent.run(project);
    else this.sql.setCurrent.run(project, sandbox, this.now().toISOString());
  }

  /** Unsets `sandbox` wherever it is current (it was deleted); answers the projects it was current for. */
  forgetSandbox(sandbox: string): string[] {
    return this.store.transaction(() => this.sql.unsetSandbox.all(sandbox).map((r) => r.project));
  }
}
