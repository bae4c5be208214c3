/**
 * A compose project loaded as Branchbox reads it. Each compose file in turn: read within the
 * limits and parsed with positions, interpolated (`.env` of the project folder, then the
 * daemon's environment), its unsupported keys reported and removed (unsupported.ts), checked
 * against the compose-spec schema (spec-schema.ts), its env_file paths resolved from its own
 * folder. Then the files are merged in order (merge.ts), what x-branchbox and branchbox.yaml
 * add is laid over, and the result normalized (to-project.ts). Every problem, from any stage,
 * is reported at once at its file:line:column; warnings ride on `Project.warnings`.
 * Projects are kept by the content of every file read (compose files, .env, env_files,
 * branchbox.yaml's extras) and the environment.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { PROJECT_FILE_LIMITS } from '../../../../schemas/src/limits';
import { ComposeExtrasFile, ComposeProjectFile, type ConfigProblem, type Project } from '../../../../schemas/src/project';
import { RpcError } from '../../rpc/errors';
import { insideRepo, type PathProblem } from '../normalize';
import { schemaProblems } from '../schema-problems';
import { invalid, parseYamlSource, readProjectText, readRepoText, type YamlSource } from '../yaml-source';
import { parseEnvFile } from './env-file';
import { interpolateTree, type Lookup } from './interpolate';
import { mergeComposeFiles } from './merge';
import { composeSchemaProblems } from './spec-schema';
import { composeToProject } from './to-project';
import { sweepUnsupported } from './unsupported';

export interface ComposeInput {
  /** Absolute path of the repository root. */
  readonly root: string;
  /** Absolute paths of the compose files, in merge order. */
  readonly files: readonly string[];
  /** branchbox.yaml naming the files, and what it adds. */
  readonly branchbox?: { readonly source: YamlSource; readonly extras: ComposeExtrasFile };
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validateBranchbox = ajv.compile(ComposeProjectFile);
const validateExtras = ajv.compile(ComposeExtrasFile);

/** What a branchbox.yaml with `compose:` says: the files (inside the repository) and the extras. */
export function composeInput(source: YamlSource, root: string): ComposeInput {
  if (!validateBranchbox(source.data)) throw invalid(source.file, schemaProblems(validateBranchbox.errors ?? []).map((p) => source.locate(p)));
  const data = source.data as ComposeProjectFile;
  const problems: ConfigProblem[] = [];
  const files = data.compose.map((name, i) => {
    const file = path.resolve(root, name);
    if (!insideRepo(name)) problems.push(source.locate({ path: ['compose', String(i)], message: 'must be a relative path inside the repository' }));
    else if (!fs.existsSync(file)) problems.push(source.locate({ path: ['compose', String(i)], message: `${name} does not exist` }));
    return file;
  });
  if (problems.length) throw invalid(source.file, problems);
  const { version: _v, compose: _c, ...extras } = data;
  return { root, files, branchbox: { source, extras } };
}

interface Kept {
  readonly envFiles: readonly { readonly file: string; readonly hash: string }[];
  readonly project: Project;
}
const kept = new Map<string, Kept>();
const KEPT = 16;

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Loads the compose project.
 * @throws RpcError ConfigInvalid with every problem, FileNotFound for a compose file that cannot be read.
 */
export function loadComposeProject(input: ComposeInput): Project {
  const texts = input.files.map((file) => readRepoText(file, input.root));
  const projectDir = path.dirname(input.files[0]!);
  const dotEnvFile = path.join(projectDir, '.env');
  const dotEnvText = fs.existsSync(dotEnvFile) ? readRepoText(dotEnvFile, input.root) : undefined;
  const key = sha(
    JSON.stringify([input.root, input.files, texts, dotEnvText ?? null, input.branchbox?.source.file ?? null, input.branchbox?.extras ?? null, environmentFingerprint()]),
  );
  const known = kept.get(key);
  if (known && known.envFiles.every((f) => fileHash(f.file) === f.hash)) {
    kept.delete(key);
    kept.set(key, known);
    return structuredClone(known.project);
  }

  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const processEnv: Lookup = (name) => process.env[name];
  let lookup = processEnv;
  if (dotEnvText !== undefined) {
    const dotEnv = parseEnvFile(dotEnvText, processEnv);
    for (const p of dotEnv.problems) problems.push({ file: dotEnvFile, line: p.line, column: 1, field: '', message: p.message });
    lookup = (name) => dotEnv.vars.get(name) ?? process.env[name];
  }

  const sources = texts.map((text, i) => parseYamlSource(text, input.files[i]!));
  const documents = sources.map((source) => {
    const at = (p: PathProblem) => source.locate(p);
    if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
      problems.push({ file: source.file, line: 1, column: 1, field: '', message: 'a compose file must be a mapping with services' });
      return {};
    }
    const interpolated = interpolateTree(source.data, lookup);
    for (const p of interpolated.problems) (p.warning ? warnings : problems).push(at(p));
    const data = interpolated.data as Record<string, unknown>;
    for (const r of sweepUnsupported(data)) (r.verdict === 'warn' ? warnings : problems).push(at({ ...r, atKey: true }));
    problems.push(...composeSchemaProblems(data).map(at));
    resolveEnvFiles(data, path.dirname(source.file));
    return data;
  });
  if (problems.length) throw invalid(input.files[0]!, problems);

  const branchboxIndex = sources.length;
  const extrasDocs = input.branchbox ? [{ 'x-branchbox': input.branchbox.extras }] : [];
  const { data, origins } = mergeComposeFiles([...documents, ...extrasDocs]);
  const locate = (p: PathProblem): ConfigProblem => {
    const origin = origins.find(p.anchor ?? p.path);
    if (!origin) return sources[0]!.locate(p);
    const fromBranchbox = origin.source === branchboxIndex && input.branchbox;
    const source = fromBranchbox ? input.branchbox!.source : sources[origin.source]!;
    const mapped = fromBranchbox ? origin.path.slice(1) : origin.path;
    const located = source.locate({ path: mapped, message: p.message, ...(p.atKey ? { atKey: true } : {}) });
    // the field as the file names it: branchbox.yaml has no x-branchbox level
    return { ...located, field: (fromBranchbox && p.path[0] === 'x-branchbox' ? p.path.slice(1) : p.path).join('.') };
  };

  const extras = (data['x-branchbox'] ?? {}) as ComposeExtrasFile;
  if (!validateExtras(extras)) {
    const located = schemaProblems(validateExtras.errors ?? []).map((p) => locate({ ...p, path: ['x-branchbox', ...p.path], ...(p.anchor ? { anchor: ['x-branchbox', ...p.anchor] } : {}) }));
    throw invalid(input.files[0]!, located);
  }
  const services = Object.keys((data.services ?? {}) as object);
  if (services.length > PROJECT_FILE_LIMITS.maxServices) {
    throw invalid(input.files[0]!, [locate({ path: ['services'], message: `has ${services.length} services, more than the ${PROJECT_FILE_LIMITS.maxServices} allowed`, atKey: true })]);
  }

  const envFiles: { file: string; hash: string }[] = [];
  const result = composeToProject(data, extras, {
    root: input.root,
    projectDir,
    file: input.branchbox?.source.file ?? input.files[0]!,
    files: [...input.files, ...(input.branchbox ? [input.branchbox.source.file] : [])],
    lookup,
    envFile: (file, required) => {
      const { vars, hash } = readEnvFile(file, required, input.root, lookup);
      envFiles.push({ file, hash });
      return vars;
    },
  });
  const located = result.problems.map(locate);
  if (located.length || !result.project) throw invalid(input.files[0]!, located);
  const project: Project = { ...result.project };
  const allWarnings = [...warnings, ...result.warnings.map(locate)];
  if (allWarnings.length) project.warnings = allWarnings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  kept.set(key, { envFiles, project: structuredClone(project) });
  if (kept.size > KEPT) kept.delete(kept.keys().next().value!);
  return project;
}

/** env_file entries become absolute paths, resolved from the folder of the file that names them. */
function resolveEnvFiles(data: Record<string, unknown>, dir: string): void {
  for (const service of Object.values((data.services ?? {}) as Record<string, Record<string, unknown> | null>)) {
    if (!service || service.env_file === undefined) continue;
    const resolve = (entry: unknown) =>
      typeof entry === 'string' ? path.resolve(dir, entry) : { ...(entry as object), path: path.resolve(dir, String((entry as { path: string }).path)) };
    service.env_file = Array.isArray(service.env_file) ? service.env_file.map(resolve) : [resolve(service.env_file)];
  }
}

/** The variables of an env_file inside the repository, and the hash of its text (absent: `absent`). */
function readEnvFile(file: string, required: boolean, root: string, lookup: Lookup): { vars: Map<string, string>; hash: string } {
  const relative = path.relative(root, file);
  if (!insideRepo(relative)) throw new Error(`env_file ${file} is outside the repository: env files are read from the repository only`);
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    if (!required) return { vars: new Map(), hash: ABSENT };
    throw new Error(`env_file ${relative} does not exist`);
  }
  if (!insideRepo(path.relative(fs.realpathSync(root), real))) throw new Error(`env_file ${relative} leads outside the repository`);
  let text: string;
  try {
    text = readProjectText(real);
  } catch (e) {
    throw new Error(e instanceof RpcError ? e.message : (e as Error).message);
  }
  const parsed = parseEnvFile(text, lookup);
  if (parsed.problems.length) {
    const first = parsed.problems[0]!;
    throw new Error(`${relative}:${first.line}: ${first.message}`);
  }
  return { vars: parsed.vars, hash: sha(text) };
}

const ABSENT = 'absent';

/** The hash of a file's text as {@link readEnvFile} computes it, read within the size limit. */
function fileHash(file: string): string {
  try {
    return sha(readProjectText(file));
  } catch {
    return ABSENT;
  }
}

function environmentFingerprint(): string {
  return sha(JSON.stringify(Object.entries(process.env).sort(([a], [b]) => a.localeCompare(b))));
}
