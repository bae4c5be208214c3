/**
 * The state directory of a daemon, resolved the same way by branchboxd, the CLI and the
 * extension: an explicit choice (flag or setting), then BRANCHBOX_STATE_DIR, then
 * `$XDG_STATE_HOME/branchbox`, then `~/.local/state/branchbox`. A leading `~` is the user's
 * home in the explicit choice and in BRANCHBOX_STATE_DIR (a shell does not expand it inside
 * `VAR=~/x` quoting or in a settings file); blank values count as unset.
 */
import { homedir } from 'node:os';
import * as path from 'node:path';

export interface StateDirSources {
  /** The home directory `~` stands for (default: the user's). */
  readonly home?: string;
  /** What a relative path is relative to (default: the process's working directory). */
  readonly cwd?: string;
}

/** The default state directory when nothing chose one: `$XDG_STATE_HOME/branchbox` or `~/.local/state/branchbox`. */
export function defaultStateDir(env: NodeJS.ProcessEnv, home: string = homedir()): string {
  if (env.XDG_STATE_HOME) return path.join(env.XDG_STATE_HOME, 'branchbox');
  return path.join(home, '.local', 'state', 'branchbox');
}

/** `~` and `~/…` with the home directory put in; any other path unchanged. */
export function expandHome(p: string, home: string = homedir()): string {
  return p === '~' || p.startsWith('~/') ? path.join(home, p.slice(1)) : p;
}

/** The absolute state directory: `explicit` (flag or setting), then the environment, then the default. */
export function resolveStateDir(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  sources: StateDirSources = {},
): string {
  const home = sources.home ?? homedir();
  const cwd = sources.cwd ?? process.cwd();
  const chosen = [explicit, env.BRANCHBOX_STATE_DIR].map((p) => p?.trim()).find((p) => p);
  return path.resolve(cwd, chosen ? expandHome(chosen, home) : defaultStateDir(env, home));
}
