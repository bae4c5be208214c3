import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestVersion, migrations, type Migration } from '../../daemon/src/state/migrations';
import {
  openStore,
  StoreCorruptError,
  StoreMigrationError,
  StoreVersionError,
  type Store,
} from '../../daemon/src/state/store';

let dir: string;
let dbPath: string;
const opened: Store[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchbox-store-'));
  dbPath = path.join(dir, 'state.db');
});

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(...args: Parameters<typeof openStore>): Store {
  const store = openStore(...args);
  opened.push(store);
  return store;
}

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const sidecars = (file: string): string[] => [`${file}-wal`, `${file}-shm`].filter((f) => fs.existsSync(f));
const tableNames = (db: Database.Database): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );

/**
 * A closed, healthy state file with enough audit rows to span many pages. Returns the root page
 * number of the `audit_at` index.
 */
function createPopulatedStore(file: string): number {
  const store = openStore(file);
  const insert = store.db.prepare('INSERT INTO audit (at, method, outcome, detail) VALUES (?, ?, ?, ?)');
  store.transaction(() => {
    for (let i = 0; i < 500; i++) insert.run(new Date(i * 1000).toISOString(), 'sandbox/create', 'ok', 'd'.repeat(200));
  });
  const { rootpage } = store.db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit_at'").get() as {
    rootpage: number;
  };
  store.close();
  return rootpage;
}

describe('openStore on a new file', () => {
  it('creates the file in WAL mode at the latest schema version with the daemon pragmas', () => {
    const store = open(dbPath);

    expect(store.path).toBe(dbPath);
    expect(store.schemaVersion).toBe(latestVersion());
    expect(store.schemaVersion).toBe(migrations.length);
    expect(store.db.pragma('user_version', { simple: true })).toBe(latestVersion());
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(tableNames(store.db)).toEqual(expect.arrayContaining(['audit', 'meta']));
  });

  it('stores meta values and reads them back after reopening', () => {
    const store = open(dbPath);
    expect(store.getMeta('daemon.id')).toBeUndefined();
    store.setMeta('daemon.id', 'a');
    store.setMeta('daemon.id', 'b');
    store.close();

    expect(open(dbPath).getMeta('daemon.id')).toBe('b');
  });

  it('accepts an existing empty file as a new database', () => {
    fs.writeFileSync(dbPath, '');
    expect(open(dbPath).schemaVersion).toBe(latestVersion());
  });

  it('close is idempotent and checkpoints the WAL away', () => {
    const store = openStore(dbPath);
    store.setMeta('k', 'v');
    store.close();
    store.close();
    expect(sidecars(dbPath)).toEqual([]);
  });

  it('rolls a transaction back when its function throws', () => {
    const store = open(dbPath);
    expect(() =>
      store.transaction(() => {
        store.setMeta('k', 'v');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.getMeta('k')).toBeUndefined();
    expect(store.transaction(() => 42)).toBe(42);
  });
});

describe('migrations', () => {
  /** Migrations that count how often they ran. */
  function countingMigrations(): { list: Migration[]; runs: number[] } {
    const runs = [0, 0];
    const table = (i: number, name: string): Migration => ({
      version: i + 1,
      name,
      up: (db) => {
        db.exec(`CREATE TABLE ${name} (x INTEGER)`);
        runs[i] = (runs[i] ?? 0) + 1;
      },
    });
    const list = [table(0, 'one'), table(1, 'two')];
    return { list, runs };
  }

  it('runs each migration once, and nothing on reopen', () => {
    const { list, runs } = countingMigrations();
    openStore(dbPath, { migrations: list }).close();
    const again = open(dbPath, { migrations: list });

    expect(runs).toEqual([1, 1]);
    expect(again.schemaVersion).toBe(2);
    expect(tableNames(again.db)).toEqual(['one', 'two']);
  });

  it('runs only the pending migrations of an older file', () => {
    const { list, runs } = countingMigrations();
    openStore(dbPath, { migrations: list.slice(0, 1) }).close();
    const store = open(dbPath, { migrations: list });

    expect(runs).toEqual([1, 1]);
    expect(store.schemaVersion).toBe(2);
  });

  it('rolls a failing migration back completely and keeps the earlier ones', () => {
    const failing: Migration[] = [
      { version: 1, name: 'one', up: (db) => db.exec('CREATE TABLE one (x INTEGER)') },
      {
        version: 2,
        name: 'half done',
        up: (db) => {
          db.exec('CREATE TABLE two (x INTEGER); INSERT INTO two VALUES (1), (2)');
          db.exec('INSERT INTO one VALUES (7); UPDATE one SET x = 8');
          throw new Error('migration exploded');
        },
      },
    ];

    const error = catchError(() => openStore(dbPath, { migrations: failing }));
    expect(error).toBeInstanceOf(StoreMigrationError);
    expect(error.message).toContain('Migration 2 (half done)');
    expect(error.message).toContain('migration exploded');
    expect(error.message).toContain(dbPath);

    const check = new Database(dbPath, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(1);
      expect(tableNames(check)).toEqual(['one']);
      expect(check.prepare('SELECT count(*) AS n FROM one').get()).toEqual({ n: 0 });
    } finally {
      check.close();
    }
  });

  it('rejects a migration list with a gap', () => {
    const gap: Migration[] = [
      { version: 1, name: 'one', up: () => {} },
      { version: 3, name: 'three', up: () => {} },
    ];
    expect(() => openStore(dbPath, { migrations: gap })).toThrow(/version 3, expected 2/);
    expect(fs.existsSync(dbPath)).toBe(false);
  });
});

describe('refusing a state file', () => {
  it.each(['wal', 'delete'])('refuses a newer schema version (%s journal) without touching the file', (mode) => {
    const raw = new Database(dbPath);
    raw.pragma(`journal_mode = ${mode}`);
    raw.exec('CREATE TABLE future (x INTEGER)');
    raw.pragma('user_version = 99');
    raw.close();
    const before = sha256(dbPath);

    const error = catchError(() => openStore(dbPath));

    expect(error).toBeInstanceOf(StoreVersionError);
    expect(error).toMatchObject({ path: dbPath, fileVersion: 99, supportedVersion: latestVersion() });
    expect(error.message).toContain(dbPath);
    expect(sha256(dbPath)).toBe(before);
    expect(sidecars(dbPath)).toEqual([]);
  });

  it('refuses a database whose pages past the first are garbage, naming the file, without touching it', () => {
    createPopulatedStore(dbPath);
    const pageSize = 4096;
    const size = fs.statSync(dbPath).size;
    expect(size).toBeGreaterThan(4 * pageSize);
    const fd = fs.openSync(dbPath, 'r+');
    fs.writeSync(fd, crypto.randomBytes(size - pageSize), 0, size - pageSize, pageSize);
    fs.closeSync(fd);
    const before = sha256(dbPath);

    const error = catchError(() => openStore(dbPath));

    expect(error).toBeInstanceOf(StoreCorruptError);
    expect(error.message).toContain(dbPath);
    expect(error.message).toMatch(/move the file away to start with an empty state; it has been left untouched/i);
    expect((error as StoreCorruptError).problems.length).toBeGreaterThan(0);
    expect(sha256(dbPath)).toBe(before);
    expect(sidecars(dbPath)).toEqual([]);
  });

  it('refuses a database that fails integrity_check, quoting the first problems', () => {
    const rootpage = createPopulatedStore(dbPath);
    // Replace the index's root with an empty index leaf page: readable, but inconsistent.
    const emptyIndexLeaf = Buffer.alloc(4096);
    emptyIndexLeaf[0] = 0x0a;
    emptyIndexLeaf.writeUInt16BE(4096, 5);
    const fd = fs.openSync(dbPath, 'r+');
    fs.writeSync(fd, emptyIndexLeaf, 0, 4096, (rootpage - 1) * 4096);
    fs.closeSync(fd);
    const before = sha256(dbPath);

    const error = catchError(() => openStore(dbPath));

    expect(error).toBeInstanceOf(StoreCorruptError);
    const { problems } = error as StoreCorruptError;
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/never used|missing from index/);
    expect(error.message).toContain(problems[0]);
    expect(error.message).toContain(dbPath);
    expect(sha256(dbPath)).toBe(before);
    expect(sidecars(dbPath)).toEqual([]);
  });

  it('refuses a file that is not a database at all', () => {
    fs.writeFileSync(dbPath, 'these are my notes, not a database\n'.repeat(200));
    const before = sha256(dbPath);

    const error = catchError(() => openStore(dbPath));

    expect(error).toBeInstanceOf(StoreCorruptError);
    expect(error.message).toContain(dbPath);
    expect(error.message).toContain('SQLITE_NOTADB');
    expect(sha256(dbPath)).toBe(before);
    expect(sidecars(dbPath)).toEqual([]);
  });

  it('opens a healthy existing file after the check', () => {
    createPopulatedStore(dbPath);
    const store = open(dbPath);
    expect(store.db.prepare('SELECT count(*) AS n FROM audit').get()).toEqual({ n: 500 });
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected an error, none was thrown');
}
