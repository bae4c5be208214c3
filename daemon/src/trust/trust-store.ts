/**
 * The host build commands the user trusted (table `trusted_commands`, ./migration.ts): each an
 * exact argument list in one build context of one repository, the repository identified by
 * the real path of its root. Nothing here grants trust by itself: only {@link TrustStore.grant},
 * which the `trust/grant` handler calls when a user asked for it.
 *
 * Not by remote URL: a remote is neither unique (forks, mirrors, several remotes) nor stable
 * (renamed, re-pointed), so trusting by it would either carry trust to other checkouts of
 * the same project or lose it on a `git remote set-url`; the checkout on this disk is what
 * the user looked at. Moving the repository drops its trust, which errs on the safe side.
 */
import { realpathSync } from 'node:fs';
import { posix } from 'node:path';
import type { TrustedCommand } from '../../../schemas/src/trust';
import { findRepoRoot } from '../deploy/git-source';
import type { Store } from '../state/store';

/** What a grant is for. */
export interface CommandKey {
  /** The repository: its root or any folder inside it (absolute). */
  readonly repoPath: string;
  /** The build context, relative to the repository root. */
  readonly context: string;
  readonly command: readonly string[];
}

/** The part of {@link TrustStore} a deployment checks with. */
export interface CommandTrust {
  isTrusted(key: CommandKey): boolean;
}

interface Row {
  id: number;
  repo_path: string;
  context: string;
  command: string;
  granted_at: string;
  granted_by: string | null;
}

/** The real path of the root of the repository holding `path`. @throws RpcError FileNotFound, GitError */
export function repositoryIdentity(path: string): string {
  return realpathSync(findRepoRoot(path));
}

/** A context as one spelling: `services/web/`, `./services/web` and `services//web` are `services/web`; the root is `.`. */
export function normalContext(context: string): string {
  return posix.normalize(context.replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
}

export class TrustStore implements CommandTrust {
  private readonly sql;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = store.db;
    this.sql = {
      all: db.prepare<[], Row>('SELECT * FROM trusted_commands ORDER BY repo_path, context, command'),
      ofRepo: db.prepare<[string], Row>('SELECT * FROM trusted_commands WHERE repo_path = ? ORDER BY context, command'),
      byId: db.prepare<[number], Row>('SELECT * FROM trusted_commands WHERE id = ?'),
      find: db.prepare<[string, string, string], Row>('SELECT * FROM trusted_commands WHERE repo_path = ? AND context = ? AND command = ?'),
      insert: db.prepare<[string, string, string, string, string | null], Row>(
        'INSERT INTO trusted_commands (repo_path, context, command, granted_at, granted_by) VALUES (?, ?, ?, ?, ?) RETURNING *',
      ),
      removeId: db.prepare<[number]>('DELETE FROM trusted_commands WHERE id = ?'),
      removeRepo: db.prepare<[string]>('DELETE FROM trusted_commands WHERE repo_path = ?'),
    };
  }

  /** Every grant, or those of one repository. @throws RpcError FileNotFound, GitError for a path that is no repository */
  list(repoPath?: string): TrustedCommand[] {
    const rows = repoPath === undefined ? this.sql.all.all() : this.sql.ofRepo.all(repositoryIdentity(repoPath));
    return rows.map(toRecord);
  }

  /** Trusts the command; answers the grant (the existing one when it was trusted already). */
  grant(key: CommandKey, grantedBy?: string): TrustedCommand {
    const repo = repositoryIdentity(key.repoPath);
    const context = normalContext(key.context);
    const command = JSON.stringify(key.command);
    return this.store.transaction(() => {
      const existing = this.sql.find.get(repo, context, command);
      return toRecord(existing ?? this.sql.insert.get(repo, context, command, this.now().toISOString(), grantedBy ?? null)!);
    });
  }

  /** Revokes one grant, or every grant of a repository (matched as given when it no longer exists); answers what was revoked. */
  revoke(what: { id: number } | { repoPath: string }): TrustedCommand[] {
    return this.store.transaction(() => {
      if ('id' in what) {
        const row = this.sql.byId.get(what.id);
        if (row) this.sql.removeId.run(what.id);
        return row ? [toRecord(row)] : [];
      }
      let repo: string;
      try {
        repo = repositoryIdentity(what.repoPath);
      } catch {
        repo = what.repoPath;
      }
      const rows = this.sql.ofRepo.all(repo);
      this.sql.removeRepo.run(repo);
      return rows.map(toRecord);
    });
  }

  isTrusted(key: CommandKey): boolean {
    let repo: string;
    try {
      repo = repositoryIdentity(key.repoPath);
    } catch {
      return false;
    }
    return this.sql.find.get(repo, normalContext(key.context), JSON.stringify(key.command)) !== undefined;
  }
}

function toRecord(row: Row): TrustedCommand {
  return {
    id: row.id,
    repoPath: row.repo_path,
    context: row.context,
    command: JSON.parse(row.command) as string[],
    grantedAt: row.granted_at,
    ...(row.granted_by !== null ? { grantedBy: row.granted_by } : {}),
  };
}
