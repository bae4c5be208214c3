/**
 * How many files of a folder differ between a commit and the working tree: the count the
 * working-tree marker of a service shows (SandboxServiceView.workingTree). Tracked files
 * modified, added or deleted (`git diff --name-only --no-renames`: a rename counts as the
 * file deleted and the file added) and untracked files git does not ignore, each once.
 * Argument arrays only; paths are literal (no pathspec magic).
 */
import { posix } from 'node:path';
import type { GitOptions, GitSource } from './git-source';

const LITERAL = { GIT_LITERAL_PATHSPECS: '1' };

/** A repository-relative folder as written in a project file (`.`, `./web`, `web/`) in one form: `.` or `web`. */
export function repoFolder(folder: string): string {
  return posix.normalize(folder).replace(/\/+$/, '') || '.';
}

const pathspec = repoFolder;

/** Files under `folder` whose content in the working tree differs from `commit`'s, untracked ones included. */
export async function changedInWorkingTree(git: Pick<GitSource, 'run'>, root: string, commit: string, folder: string, opts: GitOptions = {}): Promise<number> {
  const [tracked, untracked] = await Promise.all([
    git.run(root, ['diff', '--no-ext-diff', '--name-only', '--no-renames', '-z', '--end-of-options', commit, '--', pathspec(folder)], { ...opts, env: LITERAL }),
    git.run(root, ['ls-files', '-z', '--others', '--exclude-standard', '--', pathspec(folder)], { ...opts, env: LITERAL }),
  ]);
  return new Set([...names(tracked), ...names(untracked)]).size;
}

/** Files under `folder` that differ between `commit` and `tree` (a snapshot of the working tree, GitSource.snapshotWorkingTree). */
export async function changedInSnapshot(git: Pick<GitSource, 'run'>, root: string, commit: string, tree: string, folder: string, opts: GitOptions = {}): Promise<number> {
  const out = await git.run(root, ['diff', '--no-ext-diff', '--name-only', '--no-renames', '-z', '--end-of-options', commit, tree, '--', pathspec(folder)], { ...opts, env: LITERAL });
  return names(out).length;
}

const names = (out: string) => out.split('\0').filter(Boolean);
