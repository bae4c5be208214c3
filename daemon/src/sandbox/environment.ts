/**
 * The environment of sandboxes: variables and secrets per sandbox (every service) and per
 * service, injected at deploy. Secrets are stored encrypted ({@link SecretBox}); every
 * reader outside the deploy path gets them as `***`.
 *
 * The store keeps the daemon's Redactor current: after every change (and at start) it hands
 * it the clear value of every secret of every sandbox, plus the values retired in the last
 * {@link RETIRED_SECRET_DAYS} days — a secret changed or deleted (or whose sandbox was
 * deleted) may still be in the environment of a container deployed before, and in its output.
 * Retired values are kept encrypted in the meta table so a restarted daemon masks them too.
 */
import type { EnvEntry } from '../../../schemas/src/sandbox';
import { isMaskable, MIN_SECRET_LENGTH, REDACTED, type Redactor } from '../runtime/redactor';
import type { Store } from '../state/store';
import { validateEnvKey } from './names';
import type { SecretBox } from './secrets';

/** How long a secret value stays masked after it was changed or deleted. */
export const RETIRED_SECRET_DAYS = 30;
/** At most this many retired values are kept (the newest). */
const MAX_RETIRED = 200;
/** The meta key of the retired values (`[{v, at}]`, encrypted). */
const RETIRED_META = 'environment.retired-secrets';
/** The Redactor source this store fills. */
export const ENVIRONMENT_SECRETS = 'environment';

interface Retired {
  readonly v: string;
  /** When it stopped being a current secret (ms since the epoch). */
  readonly at: number;
}

/**
 * Why a secret value will not be masked in output (it is shorter than
 * {@link MIN_SECRET_LENGTH}); undefined for a value that will be.
 */
export function unmaskedSecretWarning(key: string, value: string): string | undefined {
  if (isMaskable(value)) return undefined;
  return (
    `The value of secret ${key} is shorter than ${MIN_SECRET_LENGTH} characters: it is stored encrypted and never ` +
    'answered, but it is not masked where it appears inside logs or other output (a value that short would mask ' +
    'ordinary text). Use a longer value if it must not appear there.'
  );
}

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
  /** The current secret values handed to the Redactor last time. */
  private current = new Set<string>();
  /** How many retired values the meta table holds. */
  private retiredCount = 0;

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
    this.sql.upsert.run({
      sandbox,
      service: service ?? SANDBOX_LEVEL,
      key,
      value: secret ? this.secrets.encrypt(value) : value,
      secret: secret ? 1 : 0,
      at: this.now().toISOString(),
    });
    this.publishSecrets();
    return this.get(sandbox, service, key)!;
  }

  delete(sandbox: string, service: string | undefined, key: string): boolean {
    validateEnvKey(key);
    const deleted = this.sql.remove.run(sandbox, service ?? SANDBOX_LEVEL, key).changes > 0;
    if (deleted) this.publishSecrets();
    return deleted;
  }

  /**
   * What a deployment of `service` passes to Docker: sandbox-level entries overridden by the
   * service's own, secrets decrypted (the Redactor already knows them).
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
    this.publishSecrets();
  }

  /**
   * Hands the Redactor every secret of every sandbox and the recently retired ones; a value
   * that was current last time and is not now (changed, deleted, its sandbox deleted) is
   * retired. Called after each change here, at start, and when a sandbox is deleted (its
   * entries go with it). Answers how many secrets are current.
   */
  publishSecrets(): number {
    const now = this.now().getTime();
    const current = new Set(this.sql.secrets.all().map((row) => this.secrets.decrypt(row.value)));
    const gone = [...this.current].filter((v) => !current.has(v));
    const retired = this.retired(now).filter((r) => !current.has(r.v) && !gone.includes(r.v));
    const kept = [...retired, ...gone.map((v) => ({ v, at: now }))].slice(-MAX_RETIRED);
    if (gone.length > 0 || kept.length !== this.retiredCount) this.saveRetired(kept);
    this.current = current;
    this.redactor.setSecrets(ENVIRONMENT_SECRETS, [...current, ...kept.map((r) => r.v)]);
    return current.size;
  }

  /** The retired values still within their time, oldest first. */
  private retired(now: number): Retired[] {
    const stored = this.store.getMeta(RETIRED_META);
    if (stored === undefined) return [];
    const list = JSON.parse(this.secrets.decrypt(stored)) as Retired[];
    this.retiredCount = list.length;
    return list.filter((r) => now - r.at < RETIRED_SECRET_DAYS * 86_400_000);
  }

  private saveRetired(list: readonly Retired[]): void {
    this.store.setMeta(RETIRED_META, this.secrets.encrypt(JSON.stringify(list)));
    this.retiredCount = list.length;
  }

  private clear(row: EnvRow): string {
    return row.secret === 1 ? this.secrets.decrypt(row.value) : row.value;
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
