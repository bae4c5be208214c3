/**
 * Which watch rule a changed file falls under, and where it goes in the container: the pure
 * part of watch mode. A file is under a rule when it is the rule's `path` or inside that
 * folder, and no pattern of the rule's `ignore` (relative to `path`, .dockerignore syntax)
 * matches it; of the rules it is under, the one with the longest `path` decides (the most
 * specific, so `src/static` → sync can sit inside `src` → rebuild). A service with any file
 * under a rebuild rule is rebuilt (the rebuild carries every other change with it); else its
 * files are synced, and the container restarts when one of them is under sync+restart.
 */
import * as path from 'node:path';
import type { WatchRule } from '../../../schemas/src/project';
import { dockerignoreMatcher } from '../deploy/dockerignore';

export type Change = 'changed' | 'deleted';

/** A file of the working tree that changed, relative to the repository root with `/`. */
export interface FileChange {
  readonly path: string;
  readonly change: Change;
  /** An empty folder created (synced as a folder; never a reason to rebuild: an image holds no folder git does not). */
  readonly folder?: boolean;
}

/** A changed file and where it is in the container. */
export interface TargetedChange extends FileChange {
  /** Absolute path in the container. */
  readonly target: string;
}

/** What one service does about a batch of changes. */
export type ServicePlan =
  | { readonly kind: 'rebuild'; readonly files: readonly FileChange[] }
  | { readonly kind: 'sync'; readonly restart: boolean; readonly files: readonly TargetedChange[] };

/** A rule with its ignore patterns compiled. */
export interface CompiledRule {
  readonly rule: WatchRule;
  readonly ignored: (relativeToRule: string) => boolean;
}

export function compileRules(rules: readonly WatchRule[]): CompiledRule[] {
  return rules.map((rule) => {
    const matcher = rule.ignore.length ? dockerignoreMatcher(rule.ignore.join('\n')) : undefined;
    return { rule, ignored: (p) => matcher !== undefined && p !== '' && matcher(p) };
  });
}

/** `file` relative to `folder` (both repository-relative), '' when it is the folder itself; undefined when outside it. */
export function within(folder: string, file: string): string | undefined {
  if (folder === '.') return file;
  if (file === folder) return '';
  return file.startsWith(`${folder}/`) ? file.slice(folder.length + 1) : undefined;
}

/** The rule `file` falls under (the longest path decides), undefined when none does or the deciding rule ignores it. */
export function ruleFor(file: string, rules: readonly CompiledRule[]): { rule: WatchRule; relative: string } | undefined {
  const depth = (rule: WatchRule) => (rule.path === '.' ? 0 : rule.path.length + 1);
  let best: { compiled: CompiledRule; relative: string } | undefined;
  for (const compiled of rules) {
    const relative = within(compiled.rule.path, file);
    if (relative === undefined) continue;
    if (!best || depth(compiled.rule) > depth(best.compiled.rule)) best = { compiled, relative };
  }
  if (!best || best.compiled.ignored(best.relative)) return undefined;
  return { rule: best.compiled.rule, relative: best.relative };
}

/** Where `relative` (to the rule's path) is in the container. */
export function targetOf(rule: WatchRule, relative: string): string {
  const base = rule.target ?? '/';
  return relative === '' ? base : path.posix.join(base, relative);
}

/**
 * What a service does about `changes`; undefined when none of them falls under its rules.
 * `syncOnly` (the initial sync): files under rebuild rules are left out instead.
 */
export function planFor(changes: readonly FileChange[], rules: readonly CompiledRule[], opts: { syncOnly?: boolean } = {}): ServicePlan | undefined {
  const synced: TargetedChange[] = [];
  const rebuilt: FileChange[] = [];
  let restart = false;
  for (const c of changes) {
    const found = ruleFor(c.path, rules);
    if (!found) continue;
    if (found.rule.action === 'rebuild') {
      if (!c.folder) rebuilt.push(c);
      continue;
    }
    synced.push({ ...c, target: targetOf(found.rule, found.relative) });
    if (found.rule.action === 'sync+restart') restart = true;
  }
  if (rebuilt.length && !opts.syncOnly) return { kind: 'rebuild', files: [...rebuilt, ...synced.filter((f) => !f.folder).map(({ path: p, change }) => ({ path: p, change }))] };
  if (synced.length) return { kind: 'sync', restart, files: synced };
  return undefined;
}
