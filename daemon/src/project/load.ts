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
import Ajv from 'ajv';
import { ProjectFile, type ConfigProblem, type Project } from '../../../schemas/src/project';
import { BRANCHBOX_FILE_NAMES } from '../../../schemas/src/project-files';
import { RpcError } from '../rpc/errors';
import { composeInput, loadComposeProject } from './compose/compose-project';
import { findComposeFiles, isComposeFileName } from './compose/discover';
import { countProblems } from './limits';
import { normalizeProject, type PathProblem } from './normalize';
import { schemaProblems } from './schema-problems';
import { invalid, parseYamlSource, readRepoText } from './yaml-source';

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validateFile = ajv.compile(ProjectFile);

/**
 * The project file a path designates: the file itself, or in a directory `branchbox.yaml`,
 * else the first compose file docker compose would read.
 */
export function projectFilePath(p: string): string {
  const absolute = path.resolve(p);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch {
    throw new RpcError('FileNotFound', `${absolute} does not exist`, { path: absolute });
  }
  if (!stat.isDirectory()) return absolute;
  for (const name of BRANCHBOX_FILE_NAMES) {
    const file = path.join(absolute, name);
    if (fs.existsSync(file)) return file;
  }
  const compose = findComposeFiles(absolute);
  if (compose) return compose[0]!;
  throw new RpcError(
    'FileNotFound',
    `No branchbox.yaml in ${absolute}, nor a compose file (compose.yaml, docker-compose.yml): create one to describe the project's services`,
    { path: absolute },
  );
}

/**
 * Loads the project at `p`: a repository root (its branchbox.yaml, else its compose files and
 * override), a branchbox.yaml, or one compose file.
 * @throws RpcError FileNotFound, or ConfigInvalid with `data.errors`.
 */
export function loadProject(p: string): Project {
  const file = projectFilePath(p);
  if (isComposeFileName(path.basename(file))) {
    const root = path.dirname(file);
    const discovered = path.resolve(p) === root ? findComposeFiles(root) : undefined;
    return loadComposeProject({ root, files: discovered ?? [file] });
  }
  return parseProject(readRepoText(file, path.dirname(file)), file);
}

/**
 * Contents already parsed and validated, by SHA-256 of the text (a deployment reads the same
 * file again from each export of the commit; the health monitor, the gateway and the resource
 * gate read it again and again): only normalization, which is cheap, runs again. The least
 * recently used go first.
 */
const validated = new Map<string, ProjectFile>();
const VALIDATED_KEPT = 16;
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
  const source = parseYamlSource(text, file);
  const data = source.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalid(file, [
      { file, line: 1, column: 1, field: '', message: 'the file must be a mapping with version, project and services' },
    ]);
  }
  if ('compose' in data) return loadComposeProject(composeInput(source, path.dirname(file)));
  const locate = (problem: PathProblem): ConfigProblem => source.locate(problem);

  const tooMany = countProblems(data as Record<string, unknown>);
  if (tooMany.length) throw invalid(file, tooMany.map(locate));
  if (!validateFile(data)) throw invalid(file, schemaProblems(validateFile.errors ?? []).map(locate));
  validated.set(key, structuredClone(data));
  if (validated.size > VALIDATED_KEPT) validated.delete(validated.keys().next().value!);
  const result = normalizeProject(data, { file, root: path.dirname(file) });
  if ('problems' in result) throw invalid(file, result.problems.map(locate));
  return structuredClone(result.project);
}
