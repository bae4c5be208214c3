/**
 * The daemon's SQLite state file: opening it safely, migrating its schema, closing it cleanly.
 *
 * An existing file is first checked read-only (`PRAGMA integrity_check`, schema version); a
 * corrupt file or one written by a newer daemon is refused with an error that says what to do,
 * and is left byte-for-byte untouched. Only then is it opened read-write in WAL mode and
 * migrated (see ./migrations).
 *
 * The file and its `-wal` and `-shm` companions are private (mode 0600) whatever the umask
 * or the mode of the state directory: a new file is created 0600 before SQLite opens it (SQLite
 * gives its companions the database's mode), and existing ones are set to 0600 before anything
 * reads them — they hold the audit trail and the deployment logs.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import Database from 'better-sqlite3';
import { nullLogger, type Logger } from '../runtime/log';
import { latestVersion, migrations as defaultMigrations, type Migration } from './migrations';

export type { Migration } from './migrations';

export interface Store {
  /** The open read-write connection. Prefer {@link Store.transaction} for multi-statement writes. */
  readonly db: Database.Database;
  /** Absolute path of the state file. */
  readonly path: string;
  /** `user_version` after migrations: the schema the file now has. */
  readonly schemaVersion: number;
  /**
   * Runs `fn` in a transaction (a savepoint when nested): committed when it returns, rolled back
   * when it throws. `fn` must be synchronous: an `await` inside would commit early.
   */
  transaction<T>(fn: () => T): T;
  /** Value of `key` in the meta table, or undefined. */
  getMeta(key: string): string | undefined;
  /** Sets (inserts or replaces) `key` in the meta table. */
  setMeta(key: string, value: string): void;
  /** Checkpoints the WAL into the main file and closes the connection. Idempotent. */
  close(): void;
}

export interface OpenStoreOptions {
  readonly log?: Logger;
  /** Replaces the daemon's migration list (tests). */
  readonly migrations?: readonly Migration[];
}

/** The state file is damaged or is not an SQLite database. The file has not been modified. */
export class StoreCorruptError extends Error {
  constructor(
    readonly path: string,
    /** The first problems reported by SQLite. */
    readonly problems: readonly string[],
  ) {
    super(
      `State database ${path} is corrupt (${problems.join('; ')}). ` +
        'Move the file away to start with an empty state; it has been left untouched.',
    );
    this.name = 'StoreCorruptError';
  }
}

/** The state file was written by a newer daemon. The file has not been modified. */
export class StoreVersionError extends Error {
  constructor(
    readonly path: string,
    readonly fileVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `State database ${path} has schema version ${fileVersion}, but this branchboxd only knows up to ` +
        `version ${supportedVersion}. Run a newer branchboxd, or move the file away to start with an ` +
        'empty state; it has been left untouched.',
    );
    this.name = 'StoreVersionError';
  }
}

/** A migration threw; it was rolled back and the file stays at `fileVersion`. */
export class StoreMigrationError extends Error {
  constructor(
    readonly path: string,
    readonly migration: Pick<Migration, 'version' | 'name'>,
    readonly fileVersion: number,
    cause: unknown,
  ) {
    super(
      `Migration ${migration.version} (${migration.name}) of state database ${path} failed: ` +
        `${cause instanceof Error ? cause.message : String(cause)}. It was rolled back; the file is still at ` +
        `schema version ${fileVersion}.`,
      { cause },
    );
    this.name = 'StoreMigrationError';
  }
}

/** How many integrity problems a StoreCorruptError quotes. */
const MAX_PROBLEMS_QUOTED = 5;
/** SQLite error codes that mean "this file is damaged", as opposed to "cannot access it". */
const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/**
 * Opens the state database at `path`, creating it (and migrating it to the latest schema) if
 * it does not exist. The parent directory must exist.
 *
 * @throws StoreCorruptError if the existing file fails `PRAGMA integrity_check` or is not a
 *   database; StoreVersionError if it is newer than this code; StoreMigrationError if a
 *   migration fails. In the first two cases the file is not modified at all.
 */
export function openStore(path: string, opts: OpenStoreOptions = {}): Store {
  const log = opts.log ?? nullLogger;
  const list = opts.migrations ?? defaultMigrations;
  checkMigrationList(list);
  const supported = latestVersion(list);
  const file = nodePath.resolve(path);

  if (fs.existsSync(file)) {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) makePrivate(f);
    checkExistingFile(file, supported);
  } else {
    createPrivate(file);
  }

  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    // Re-check before the first write, in case the file appeared or changed since the check.
    const found = userVersion(db);
    if (found > supported) throw new StoreVersionError(file, found, supported);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    const version = migrate(db, file, list, found, log);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) makePrivate(f);
    log.info('Opened state database', { path: file, schemaVersion: version });
    return new SqliteStore(db, file, version, log);
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The file's mode set to 0600 (owner read and write only), if it exists. */
export function makePrivate(file: string): void {
  if (process.platform === 'win32') return;
  try {
    fs.chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Creates an empty file with mode 0600 whatever the umask (SQLite takes an empty file as a new database). */
function createPrivate(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return makePrivate(file); // appeared meanwhile
    throw e;
  }
  try {
    if (process.platform !== 'win32') fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Read-only pre-flight of an existing file: integrity and schema version. A read-only
 * connection to a WAL-mode file creates `-wal`/`-shm` beside it; those it created (still
 * empty of data) are removed again, so a refused file leaves no trace.
 */
function checkExistingFile(file: string, supported: number): void {
  const sidecars = [`${file}-wal`, `${file}-shm`].filter((f) => !fs.existsSync(f));
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    if (rows.length !== 1 || rows[0]?.integrity_check !== 'ok') {
      throw new StoreCorruptError(file, integrityProblems(rows).slice(0, MAX_PROBLEMS_QUOTED));
    }
    const found = userVersion(db);
    if (found > supported) throw new StoreVersionError(file, found, supported);
  } catch (e) {
    if (e instanceof Database.SqliteError && CORRUPTION_CODES.has(e.code)) {
      throw new StoreCorruptError(file, [`${e.code}: ${e.message}`]);
    }
    throw e;
  } finally {
    db?.close();
    removeCreatedSidecars(sidecars);
  }
}

/**
 * One problem per entry from `integrity_check` rows, which may hold several lines each and
 * section headers such as "*** in database main ***".
 */
function integrityProblems(rows: readonly { integrity_check: string }[]): string[] {
  return rows
    .flatMap((r) => r.integrity_check.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^\*\*\* in database \S+ \*\*\*$/.test(line));
}

/** Removes `-wal`/`-shm` files the read-only check created, unless the WAL holds data. */
function removeCreatedSidecars(created: readonly string[]): void {
  const wal = created.find((f) => f.endsWith('-wal'));
  if (wal !== undefined && fileSize(wal) > 0) return;
  for (const f of created) fs.rmSync(f, { force: true });
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Versions must be 1, 2, 3, … in order: a gap or duplicate is a bug in the list. */
function checkMigrationList(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `Migration list is invalid: entry ${i} ("${m.name}") has version ${m.version}, expected ${i + 1}`,
      );
    }
  });
}

/** Applies the migrations after `from`, each in its own transaction; returns the new version. */
function migrate(db: Database.Database, file: string, list: readonly Migration[], from: number, log: Logger): number {
  let version = from;
  for (const m of list.slice(from)) {
    log.info('Migrating state database', { path: file, from: version, to: m.version, migration: m.name });
    try {
      db.transaction(() => {
        m.up(db);
        db.pragma(`user_version = ${m.version}`);
      })();
    } catch (e) {
      log.error('State database migration failed', { path: file, migration: m.version, error: e });
      throw new StoreMigrationError(file, m, version, e);
    }
    version = m.version;
  }
  return version;
}

class SqliteStore implements Store {
  private closed = false;
  private metaGet: Database.Statement<[string], { value: string }> | undefined;
  private metaSet: Database.Statement<[string, string]> | undefined;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
    readonly schemaVersion: number,
    private readonly log: Logger,
  ) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta(key: string): string | undefined {
    this.metaGet ??= this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    return this.metaGet.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.metaSet ??= this.db.prepare<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.metaSet.run(key, value);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (e) {
      // The WAL stays and is replayed on next open; nothing is lost.
      this.log.warn('Could not checkpoint state database before closing', { path: this.path, error: e });
    }
    this.db.close();
  }
}
