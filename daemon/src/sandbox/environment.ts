/**
 * The environment of sandboxes: variables and secrets per sandbox (every service) and per
 * service, injected at deploy. Secrets are stored encrypted ({@link SecretBox}); every
 * reader outside the deploy path gets them as `***`, and every clear value this module ever
 * sees is registered with the daemon's Redactor, so logs and errors mask it too.
 */
import type { EnvEntry } from '../../../schemas/src/sandbox';
import { REDACTED, type Redactor } from '../runtime/log';
import type { Store } from '../state/store';
import { validateEnvKey } from './names';
import type { SecretBox } from './secrets';

/** An entry as stored: a secret's value is its ciphertext. Snapshots and clones copy these. */
export interface StoredEnvEntry {
  readonly service: string | undefined;
  readonly key: string;
  readonly value: string;
  readonly secret: boolean;
}

interface EnvRow {
  sandbox: string;
  service: string;
  key: string;
  value: string;
  secret: 0 | 1;
  updated_at: string;
}

/** The service column of a sandbox-level entry. */
const SANDBOX_LEVEL = '';

export class EnvironmentStore {
  private readonly sql;

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly redactor: Redactor,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = store.db;
    this.sql = {
      all: db.prepare<[string], EnvRow>('SELECT * FROM env_vars WHERE sandbox = ? ORDER BY service, key'),
      ofService: db.prepare<[string, string], EnvRow>(
        'SELECT * FROM env_vars WHERE sandbox = ? AND service = ? ORDER BY key',
      ),
      one: db.prepare<[string, string, string], EnvRow>(
        'SELECT * FROM env_vars WHERE sandbox = ? AND service = ? AND key = ?',
      ),
      upsert: db.prepare(
        `INSERT INTO env_vars (sandbox, service, key, value, secret, updated_at) VALUES (@sandbox, @service, @key, @value, @secret, @at)
         ON CONFLICT (sandbox, service, key) DO UPDATE SET value = excluded.value, secret = excluded.secret, updated_at = excluded.updated_at`,
      ),
      remove: db.prepare<[string, string, string]>(
        'DELETE FROM env_vars WHERE sandbox = ? AND service = ? AND key = ?',
      ),
      clear: db.prepare<[string]>('DELETE FROM env_vars WHERE sandbox = ?'),
      secrets: db.prepare<[], EnvRow>('SELECT * FROM env_vars WHERE secret = 1'),
    };
  }

  /** Every entry of the sandbox, or of one service, secrets masked. */
  list(sandbox: string, service?: string): EnvEntry[] {
    const rows = service === undefined ? this.sql.all.all(sandbox) : this.sql.ofService.all(sandbox, service);
    return rows.map(masked);
  }

  get(sandbox: string, service: string | undefined, key: string): EnvEntry | undefined {
    validateEnvKey(key);
    const row = this.sql.one.get(sandbox, service ?? SANDBOX_LEVEL, key);
    return row && masked(row);
  }

  /** Sets a variable or secret; answers the entry as clients see it (a secret masked). */
  set(sandbox: string, service: string | undefined, key: string, value: string, secret: boolean): EnvEntry {
    validateEnvKey(key);
    if (secret) this.redactor.addSecret(value);
    this.sql.upsert.run({
      sandbox,
      service: service ?? SANDBOX_LEVEL,
      key,
      value: secret ? this.secrets.encrypt(value) : value,
      secret: secret ? 1 : 0,
      at: this.now().toISOString(),
    });
    return this.get(sandbox, service, key)!;
  }

  delete(sandbox: string, service: string | undefined, key: string): boolean {
    validateEnvKey(key);
    return this.sql.remove.run(sandbox, service ?? SANDBOX_LEVEL, key).changes > 0;
  }

  /**
   * What a deployment of `service` passes to Docker: sandbox-level entries overridden by the
   * service's own, secrets decrypted (and registered with the Redactor).
   */
  resolve(sandbox: string, service: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const level of [SANDBOX_LEVEL, service]) {
      for (const row of this.sql.ofService.all(sandbox, level)) out[row.key] = this.clear(row);
    }
    return out;
  }

  /** The clear values of every secret of the sandbox, to mask them in deploy logs. */
  secretValues(sandbox: string): string[] {
    return this.sql.all
      .all(sandbox)
      .filter((row) => row.secret === 1)
      .map((row) => this.clear(row));
  }

  /** The entries as stored (secrets still encrypted), for snapshots and clones. */
  stored(sandbox: string): StoredEnvEntry[] {
    return this.sql.all.all(sandbox).map((row) => ({
      service: row.service === SANDBOX_LEVEL ? undefined : row.service,
      key: row.key,
      value: row.value,
      secret: row.secret === 1,
    }));
  }

  /** Replaces the sandbox's environment with stored entries (secrets stay encrypted). */
  replaceStored(sandbox: string, entries: readonly StoredEnvEntry[]): void {
    const at = this.now().toISOString();
    this.store.transaction(() => {
      this.sql.clear.run(sandbox);
      for (const e of entries) {
        this.sql.upsert.run({
          sandbox,
          service: e.service ?? SANDBOX_LEVEL,
          key: e.key,
          value: e.value,
          secret: e.secret ? 1 : 0,
          at,
        });
      }
    });
    for (const e of entries) if (e.secret) this.redactor.addSecret(this.secrets.decrypt(e.value));
  }

  /** Registers every stored secret with the Redactor (at start, so nothing logged before a deploy leaks one). */
  registerAll(): number {
    const rows = this.sql.secrets.all();
    for (const row of rows) this.clear(row);
    return rows.length;
  }

  private clear(row: EnvRow): string {
    if (row.secret !== 1) return row.value;
    const value = this.secrets.decrypt(row.value);
    this.redactor.addSecret(value);
    return value;
  }
}

function masked(row: EnvRow): EnvEntry {
  return {
    sandbox: row.sandbox,
    ...(row.service !== SANDBOX_LEVEL ? { service: row.service } : {}),
    key: row.key,
    value: row.secret === 1 ? REDACTED : row.value,
    secret: row.secret === 1,
    updatedAt: row.updated_at,
  };
}
