/**
 * The schema of the daemon's SQLite state, as an ordered list of migrations. The database's
 * `PRAGMA user_version` is the version of the last migration applied; {@link openStore} runs
 * the pending ones, each in its own transaction together with the version bump.
 *
 * To change the schema, append a migration with the next version number. Never edit or
 * reorder one that has shipped: existing state files have already run it. Each migration
 * lives beside the code that owns its tables: v1 here (meta, audit), v2 `sandbox/migration.ts`,
 * v3 `deploy/migration.ts`, v4 and v5 `lifecycle/migration*.ts`, v6 `trust/migration.ts`,
 * v7 `deploy/migration-compose.ts`, v8 `forward/migration.ts`, v9 `sandbox/migration-working-tree.ts`,
 * v10 `sandbox/migration-follow.ts`.
 *
 * `up` runs inside a transaction, so statements that cannot run in one (`PRAGMA foreign_keys`,
 * `VACUUM`, `PRAGMA journal_mode`) do nothing or fail there.
 *
 * @see ./store
 */
import type { Database } from 'better-sqlite3';
import { deployMigration } from '../deploy/migration';
import { composeRuntimeMigration } from '../deploy/migration-compose';
import { lifecycleMigration } from '../lifecycle/migration';
import { gatewayActivityMigration } from '../lifecycle/migration-expiry-requests';
import { sandboxMigration } from '../sandbox/migration';
import { trustMigration } from '../trust/migration';
import { coreMigration } from './migration-core';
import { forwardMigration } from '../forward/migration';
import { workingTreeMigration } from '../sandbox/migration-working-tree';
import { followMigration } from '../sandbox/migration-follow';

export interface Migration {
  /** 1 for the first migration, then consecutive. Becomes `user_version` once applied. */
  readonly version: number;
  /** Short description for logs and errors, e.g. "core tables". */
  readonly name: string;
  /** Applies the change. Throwing rolls the whole migration back. */
  readonly up: (db: Database) => void;
}

export const migrations: readonly Migration[] = [
  coreMigration,
  sandboxMigration,
  deployMigration,
  lifecycleMigration,
  gatewayActivityMigration,
  trustMigration,
  composeRuntimeMigration,
  forwardMigration,
  workingTreeMigration,
  followMigration,
];

/** The schema version this build of the daemon writes: the last migration's version. */
export function latestVersion(list: readonly Migration[] = migrations): number {
  return list.at(-1)?.version ?? 0;
}
