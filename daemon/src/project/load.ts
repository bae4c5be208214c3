/**
 * Reads `branchbox.yaml`: parses it keeping node positions, validates it against the
 * protocol's `ProjectFile` schema, checks what a schema cannot (names that must refer to
 * services, commands, sizes) and answers the normalized {@link Project}. Every problem is
 * reported at once, each as `{file, line, column, field, message}` in a ConfigInvalid error.
 * The limits of PROJECT_FILE_LIMITS come first (limits.ts): the size before reading, alias
 * expansion while the YAML becomes data, entry counts before validation and normalization.
 * Content already parsed and validated is not parsed again (a small cache by content hash).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { PROJECT_FILE_LIMITS } from '../../../schemas/src/limits';
import { ProjectFile, type ConfigProblem, type Project } from '../../../schemas/src/project';
import { RpcError } from '../rpc/errors';
import { aliasFailure, countProblems } from './limits';
import { normalizeProject, type PathProblem } from './normalize';

export const PROJECT_FILE_NAMES = ['branchbox.yaml', 'branchbox.yml'] as const;

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validateFile = ajv.compile(ProjectFile);

/** The project file a path designates: the file itself, or `branchbox.yaml` in a directory. */
export function projectFilePath(p: string): string {
  const absolute = path.resolve(p);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch {
    throw new RpcError('FileNotFound', `${absolute} does not exist`, { path: absolute });
  }
  if (!stat.isDirectory()) return absolute;
  for (const name of PROJECT_FILE_NAMES) {
    const file = path.join(absolute, name);
    if (fs.existsSync(file)) return file;
  }
  throw new RpcError(
    'FileNotFound',
    `No branchbox.yaml in ${absolute}: create one to describe the project's services`,
    { path: absolute },
  );
}

/**
 * Loads the project at `p` (a repository root or the yaml file).
 * @throws RpcError FileNotFound, or ConfigInvalid with `data.errors`.
 */
export function loadProject(p: string): Project {
  const file = projectFilePath(p);
  return parseProject(readProjectText(file), file);
}

/**
 * Contents already parsed and validated, by SHA-256 of the text (a deployment reads the same
 * file again from each export of the commit; the health monitor, the gateway and the resource
 * gate read it again and again): only normalization, which is cheap, runs again. The least
 * recently used go first.
 */
const validated = new Map<string, ProjectFile>();
const VALIDATED_KEPT = 16;
/** The file's text; a file over the size limit is refused before any of it is read. */
function readProjectText(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new RpcError('FileNotFound', `Cannot read ${file}: ${(e as Error).message}`, { path: file });
  }
  try {
    const { size } = fs.fstatSync(fd);
    const max = PROJECT_FILE_LIMITS.maxBytes;
    const tooLarge = (bytes: number | string) =>
      invalid(file, [{ file, line: 1, column: 1, field: '', message: `the file is ${bytes} bytes, more than the ${max} allowed` }]);
    if (size > max) throw tooLarge(size);
    // Read at most one byte past the limit: a file that grew since fstat is refused too.
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (length > max) throw tooLarge(`over ${max}`);
    return buffer.subarray(0, length).toString('utf8');
  } catch (e) {
    if (e instanceof RpcError) throw e;
    throw new RpcError('FileNotFound', `Cannot read ${file}: ${(e as Error).message}`, { path: file });
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses and validates project text as if read from `file` (whose directory is the root). */
export function parseProject(text: string, file: string): Project {
  const key = createHash('sha256').update(text).digest('hex');
  const known = validated.get(key);
  if (known) {
    validated.delete(key);
    validated.set(key, known);
    const result = normalizeProject(known, { file, root: path.dirname(file) });
    // Problems are located in the text by the full parse below.
    if ('project' in result) return structuredClone(result.project);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const syntax = doc.errors.map((e): ConfigProblem => ({
    file,
    ...at(e.pos[0]),
    field: '',
    message: e.message.split('\n')[0]!,
  }));
  if (syntax.length) throw invalid(file, syntax);

  let data: unknown;
  try {
    // Aliases may repeat an anchor's content at most this many times (nested ones multiply):
    // "billion laughs" stops here instead of exhausting memory.
    data = doc.toJS({ maxAliasCount: PROJECT_FILE_LIMITS.maxAliasExpansion });
  } catch (e) {
    const failure = aliasFailure(doc, e);
    throw invalid(file, [{ file, ...at(failure.offset), field: '', message: failure.message }]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalid(file, [
      { file, line: 1, column: 1, field: '', message: 'the file must be a mapping with version, project and services' },
    ]);
  }
  const locate = (problem: PathProblem): ConfigProblem => ({
    file,
    ...at(offsetOf(doc, problem.anchor ?? problem.path, problem.atKey ?? false)),
    field: problem.path.join('.'),
    message: problem.message,
  });

  const tooMany = countProblems(data as Record<string, unknown>);
  if (tooMany.length) throw invalid(file, tooMany.map(locate));
  if (!validateFile(data)) throw invalid(file, schemaProblems(validateFile.errors ?? []).map(locate));
  validated.set(key, structuredClone(data));
  if (validated.size > VALIDATED_KEPT) validated.delete(validated.keys().next().value!);
  const result = normalizeProject(data, { file, root: path.dirname(file) });
  if ('problems' in result) throw invalid(file, result.problems.map(locate));
  return structuredClone(result.project);
}

function invalid(file: string, problems: ConfigProblem[]): RpcError {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const first = sorted[0]!;
  const where = `${path.basename(file)}:${first.line}:${first.column}`;
  const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more)` : '';
  return new RpcError('ConfigInvalid', `${where}: ${first.field ? `${first.field} ` : ''}${first.message}${more}`, {
    errors: sorted,
  });
}

// --- Ajv errors → problems -----------------------------------------------------------------

type SchemaNode = Record<string, unknown>;

const pointerToPath = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

/**
 * One problem per real mistake: Ajv reports every branch of a union that failed; a union
 * whose data matched the shape of exactly one branch reports that branch's errors, any
 * other failed union its `x-message` once.
 */
export function schemaProblems(errors: readonly ErrorObject[]): PathProblem[] {
  const suppressed = new Set<ErrorObject>();
  const unions = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const synthetic: PathProblem[] = [];
  for (const union of unions) {
    if (suppressed.has(union)) continue;
    const inside = errors.filter(
      (e) =>
        e !== union &&
        e.schemaPath.startsWith(`${union.schemaPath}/`) &&
        (e.instancePath === union.instancePath || e.instancePath.startsWith(`${union.instancePath}/`)),
    );
    const branches = new Map<string, ErrorObject[]>();
    for (const e of inside) {
      const branch = e.schemaPath.slice(union.schemaPath.length + 1).split('/')[0]!;
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    const deeper = [...branches.values()].filter((list) => list.every((e) => isDeeper(e, union.instancePath)));
    suppressed.add(union);
    if (deeper.length === 1) {
      for (const e of inside) if (!deeper[0]!.includes(e)) suppressed.add(e);
    } else {
      for (const e of inside) suppressed.add(e);
      const message = (union.parentSchema as SchemaNode | undefined)?.['x-message'];
      synthetic.push({
        path: pointerToPath(union.instancePath),
        message: typeof message === 'string' ? message : 'has the wrong form',
      });
    }
  }
  const problems = errors.filter((e) => !suppressed.has(e) && e.keyword !== 'if').map(describe);
  const seen = new Set<string>();
  return [...problems, ...synthetic].filter((p) => {
    const key = `${p.path.join('.')}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether the error is about something inside the value at `instancePath`, not the value itself or its own keys. */
function isDeeper(e: ErrorObject, instancePath: string): boolean {
  return e.instancePath.length > instancePath.length;
}

function describe(e: ErrorObject): PathProblem {
  const at = pointerToPath(e.instancePath);
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  switch (e.keyword) {
    case 'required':
      return {
        path: [...at, String(e.params.missingProperty)],
        message: 'is required',
        anchor: at,
        atKey: at.length > 0,
      };
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const rule = parent['x-key-rule'];
      const known = Object.keys((parent.properties as SchemaNode | undefined) ?? {});
      const message =
        typeof rule === 'string'
          ? `"${key}" is not a valid name: ${rule}`
          : `is not a known field${known.length ? ` (expected ${known.join(', ')})` : ''}`;
      return { path: [...at, key], message, atKey: true };
    }
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(e.params.allowedValue)}` };
    case 'enum':
      return {
        path: at,
        message: `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'type': {
      const xMessage = parent['x-message'];
      if (typeof xMessage === 'string') return { path: at, message: xMessage };
      const type = String(e.params.type);
      return {
        path: at,
        message: `must be ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type === 'object' ? 'mapping' : type === 'array' ? 'list' : type}`,
      };
    }
    default: {
      const xMessage = parent['x-message'];
      return { path: at, message: typeof xMessage === 'string' ? xMessage : (e.message ?? e.keyword) };
    }
  }
}

// --- positions -------------------------------------------------------------------------------

/**
 * The source offset of the node at `fieldPath` (or of its key, with `atKey`); when the path
 * leads to something absent, the deepest node that exists.
 */
function offsetOf(doc: Document, fieldPath: readonly (string | number)[], atKey: boolean): number {
  let node: Node | null | undefined = doc.contents as Node | null;
  let offset = node?.range?.[0] ?? 0;
  for (let i = 0; i < fieldPath.length; i++) {
    const segment = fieldPath[i]!;
    const last = i === fieldPath.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return offset;
      const key = pair.key as Node;
      if (last && atKey) return key.range?.[0] ?? offset;
      node = pair.value as Node | null;
      offset = node?.range?.[0] ?? key.range?.[0] ?? offset;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) return offset;
      node = item;
      offset = item.range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}
