/**
 * Watch rules as a project file writes them — branchbox.yaml `services.<s>.watch`, compose
 * `services.<s>.develop.watch` — to the {@link WatchRule}s the daemon runs: `path` made
 * relative to the repository root (it is written relative to the file's folder, as compose
 * reads it) and required inside it, `target` required for sync rules and absolute, `ignore`
 * patterns kept as written (relative to `path`).
 */
import * as path from 'node:path';
import type { WatchAction, WatchRule } from '../../../schemas/src/project';
import { insideRepo } from './normalize';

/** What a rule looks like after schema validation, in either file. */
export interface WatchRuleInput {
  readonly action: string;
  readonly path: string;
  readonly target?: string;
  readonly ignore?: string | readonly string[];
}

export interface WatchRuleWhere {
  /** Absolute path of the repository root. */
  readonly root: string;
  /** Absolute path of the folder `path` is relative to (the project file's). */
  readonly baseDir: string;
}

/** A problem of one rule: the field it is about and what is wrong. */
export interface WatchRuleProblem {
  readonly field: 'action' | 'path' | 'target';
  readonly message: string;
}

const ACTIONS: readonly WatchAction[] = ['sync', 'sync+restart', 'rebuild'];
const isAction = (a: string): a is WatchAction => (ACTIONS as readonly string[]).includes(a);

/** Compose actions Branchbox does not run (warned, and the rule left out, by the compose loader). */
export const UNSUPPORTED_COMPOSE_ACTIONS: Readonly<Record<string, string>> = {
  restart: 'the action restart is not supported: use sync+restart (the container restarts after the files are copied)',
  'sync+exec': 'the action sync+exec is not supported: use sync, or sync+restart to restart the service',
};

/** The rule the daemon runs, or the problems that keep it from being one. */
export function normalizeWatchRule(input: WatchRuleInput, where: WatchRuleWhere): { rule: WatchRule } | { problems: WatchRuleProblem[] } {
  const problems: WatchRuleProblem[] = [];
  if (!isAction(input.action)) problems.push({ field: 'action', message: `must be ${ACTIONS.join(', ')}` });
  const relative = repoRelative(input.path, where);
  if (relative === undefined) problems.push({ field: 'path', message: `"${input.path}" is outside the repository: watch a file or folder inside it` });
  const sync = input.action === 'sync' || input.action === 'sync+restart';
  if (sync && input.target === undefined) {
    problems.push({ field: 'target', message: `a ${input.action} rule needs target: where "${input.path}" is in the container (e.g. /app)` });
  }
  if (input.target !== undefined && !input.target.startsWith('/')) {
    problems.push({ field: 'target', message: `"${input.target}" must be an absolute path in the container` });
  }
  if (problems.length || relative === undefined || !isAction(input.action)) return { problems };
  const ignore = input.ignore === undefined ? [] : typeof input.ignore === 'string' ? [input.ignore] : [...input.ignore];
  return {
    rule: {
      action: input.action,
      path: relative,
      ...(sync && input.target !== undefined ? { target: containerPath(input.target) } : {}),
      ignore,
    },
  };
}

/** `p` (relative to `where.baseDir`, or absolute) relative to the repository root with `/`, `.` for the root; undefined outside it. */
function repoRelative(p: string, where: WatchRuleWhere): string | undefined {
  if (p.includes('\0')) return undefined;
  const relative = path.relative(where.root, path.resolve(where.baseDir, p)).split(path.sep).join('/') || '.';
  return insideRepo(relative) ? relative : undefined;
}

/** An absolute container path without `.`/`..`, doubled or trailing slashes (`/` stays `/`). */
function containerPath(target: string): string {
  const normalized = path.posix.normalize(target);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}
