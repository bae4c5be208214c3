/** The repository and branch of the current directory, as `deploy` defaults to them. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, ExitCode } from '../errors';

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new CliError('GitError', `git ${args.join(' ')} in ${cwd}: ${(stderr || error.message).trim()}`, ExitCode.Failed));
      else resolve(stdout.trim());
    });
  });
}

/** `git rev-parse --show-toplevel`. */
export const repositoryRoot = (cwd: string) => git(cwd, ['rev-parse', '--show-toplevel']);

/** The Branchbox project around `cwd`: the repository root, if it has a branchbox.yaml. */
export async function projectRoot(cwd: string): Promise<string | undefined> {
  const root = await repositoryRoot(cwd).catch(() => undefined);
  return root !== undefined && existsSync(join(root, 'branchbox.yaml')) ? root : undefined;
}

/** The checked-out branch, or undefined on a detached HEAD. */
export async function currentBranch(cwd: string): Promise<string | undefined> {
  const name = await git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']);
  return name === 'HEAD' ? undefined : name;
}

/** A sandbox name for a branch: lowercase, `/` and other characters as `-`, at most 40 characters. */
export function sandboxNameFor(branch: string): string {
  const name = branch
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  return name || 'default';
}
