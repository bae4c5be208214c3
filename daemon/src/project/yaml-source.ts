/**
 * One YAML file of a project, read within PROJECT_FILE_LIMITS and parsed keeping node
 * positions, so that every problem found later — in the schema, in normalization, in a
 * merge of several compose files — is reported at its file:line:column.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { PROJECT_FILE_LIMITS } from '../../../schemas/src/limits';
import type { ConfigProblem } from '../../../schemas/src/project';
import { RpcError } from '../rpc/errors';
import { aliasFailure } from './limits';
import type { PathProblem } from './normalize';

/** A parsed YAML file: its data and the way back from a field path to a line and column. */
export interface YamlSource {
  readonly file: string;
  readonly data: unknown;
  /** Whether the document has the node at `fieldPath`. */
  has(fieldPath: readonly (string | number)[]): boolean;
  /** The problem at its position in this file. */
  locate(problem: PathProblem): ConfigProblem;
}

/**
 * The text of a file of the repository at `root`, refused (ConfigInvalid) when the file is a
 * link leading outside it: a branch's project files reach nothing outside its source.
 */
export function readRepoText(file: string, root: string): string {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (e) {
    throw new RpcError('FileNotFound', `Cannot read ${file}: ${(e as Error).message}`, { path: file });
  }
  const relative = path.relative(fs.realpathSync(root), real);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw invalid(file, [{ file, line: 1, column: 1, field: '', message: 'is a link leading outside the repository: project files are read from the repository only' }]);
  }
  return readProjectText(real);
}

/** The file's text; a file over the size limit is refused before any of it is read. */
export function readProjectText(file: string): string {
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

/**
 * Parses `text` as read from `file`: YAML syntax errors, duplicate keys and runaway aliases
 * are a ConfigInvalid error at their position.
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const syntax = doc.errors.map((e): ConfigProblem => ({ file, ...at(e.pos[0]), field: '', message: e.message.split('\n')[0]! }));
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
  return {
    file,
    data,
    has: (fieldPath) => nodeAt(doc, fieldPath) !== undefined,
    locate: (problem) => ({
      file,
      ...at(offsetOf(doc, problem.anchor ?? problem.path, problem.atKey ?? false)),
      field: problem.path.join('.'),
      message: problem.message,
    }),
  };
}

/** A ConfigInvalid error listing `problems`, its message the first of them at file:line:column. */
export function invalid(file: string, problems: ConfigProblem[]): RpcError {
  const sorted = [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  const first = sorted.find((p) => p.file === file) ?? sorted[0]!;
  const where = `${path.basename(first.file)}:${first.line}:${first.column}`;
  const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more)` : '';
  return new RpcError('ConfigInvalid', `${where}: ${first.field ? `${first.field} ` : ''}${first.message}${more}`, {
    errors: sorted,
  });
}

function nodeAt(doc: Document, fieldPath: readonly (string | number)[]): Node | null | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  for (const segment of fieldPath) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return undefined;
      node = pair.value as Node | null;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) return undefined;
      node = item;
    } else {
      return undefined;
    }
  }
  return node;
}

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
