/**
 * The `sandbox_follow` table: which sandboxes follow their branches and what follow last did
 * for each. Part of the sandbox's row as clients see it (`Sandbox.follow`); every change is
 * announced as a change of the sandbox. The decisions are daemon/src/follow/'s.
 */
import type { SandboxFollow } from '../../../schemas/src/sandbox';
import type { Store } from '../state/store';

export type { SandboxFollow };
type LastRedeploy = NonNullable<SandboxFollow['lastRedeploy']>;
type LastError = NonNullable<SandboxFollow['lastError']>;

/** The head each service's redeploy by follow failed at: `{ service: commit }`. */
export type FailedHeads = Readonly<Record<string, string>>;

interface FollowRow {
  sandbox: string;
  since: string;
  last_check_at: string | null;
  last_redeploy: string | null;
  last_error: string | null;
  failed: string;
}

export class FollowStore {
  private readonly sql;

  constructor(
    private readonly store: Store,
    /** Announces a change of the sandbox. */
    private readonly changed: (sandbox: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = store.db;
    this.sql = {
      get: db.prepare<[string], FollowRow>('SELECT * FROM sandbox_follow WHERE sandbox = ?'),
      list: db.prepare<[], { sandbox: string }>('SELECT sandbox FROM sandbox_follow ORDER BY sandbox'),
      insert: db.prepare<[string, string]>('INSERT INTO sandbox_follow (sandbox, since) VALUES (?, ?) ON CONFLICT (sandbox) DO NOTHING'),
      remove: db.prepare<[string]>('DELETE FROM sandbox_follow WHERE sandbox = ?'),
      check: db.prepare<[string, string]>('UPDATE sandbox_follow SET last_check_at = ? WHERE sandbox = ?'),
      redeploy: db.prepare<[string, string]>('UPDATE sandbox_follow SET last_redeploy = ? WHERE sandbox = ?'),
      outcome: db.prepare<[string | null, string, string]>('UPDATE sandbox_follow SET last_error = ?, failed = ? WHERE sandbox = ?'),
    };
  }

  /** The sandbox's follow state; undefined when it does not follow. */
  get(sandbox: string): SandboxFollow | undefined {
    const row = this.sql.get.get(sandbox);
    return row && view(row);
  }

  /** The sandboxes that follow, by name. */
  followers(): string[] {
    return this.sql.list.all().map((r) => r.sandbox);
  }

  /** Turns follow on or off; answers whether that changed anything. The sandbox's row must exist. */
  set(sandbox: string, follow: boolean): boolean {
    const changes = follow ? this.sql.insert.run(sandbox, this.now().toISOString()).changes : this.sql.remove.run(sandbox).changes;
    if (changes) this.changed(sandbox);
    return changes > 0;
  }

  /** The heads each service's redeploy failed at. */
  failedHeads(sandbox: string): FailedHeads {
    const row = this.sql.get.get(sandbox);
    return row ? (JSON.parse(row.failed) as FailedHeads) : {};
  }

  recordCheck(sandbox: string, at: Date = this.now()): void {
    if (this.sql.check.run(at.toISOString(), sandbox).changes) this.changed(sandbox);
  }

  recordRedeploy(sandbox: string, redeploy: LastRedeploy): void {
    if (this.sql.redeploy.run(JSON.stringify(redeploy), sandbox).changes) this.changed(sandbox);
  }

  /** What follow's last redeploys came to: the heads failed at, and the last error (null clears it; undefined keeps it). */
  recordOutcome(sandbox: string, failed: FailedHeads, lastError: LastError | null | undefined): void {
    const row = this.sql.get.get(sandbox);
    if (!row) return;
    const error = lastError === undefined ? row.last_error : lastError === null ? null : JSON.stringify(lastError);
    const failedText = JSON.stringify(failed);
    if (error === row.last_error && failedText === row.failed) return;
    this.store.transaction(() => this.sql.outcome.run(error, failedText, sandbox));
    this.changed(sandbox);
  }
}

function view(row: FollowRow): SandboxFollow {
  return {
    since: row.since,
    ...(row.last_check_at !== null ? { lastCheckAt: row.last_check_at } : {}),
    ...(row.last_redeploy !== null ? { lastRedeploy: JSON.parse(row.last_redeploy) as LastRedeploy } : {}),
    ...(row.last_error !== null ? { lastError: JSON.parse(row.last_error) as LastError } : {}),
  };
}
