/**
 * From merged, schema-valid compose data (with what x-branchbox and branchbox.yaml add) to
 * the normalized {@link Project}, and the checks a schema cannot make: Branchbox service
 * names, dependencies that exist and form no cycle, volumes declared, bind mounts inside the
 * repository, `branchbox.*` labels refused, the networks Branchbox does not model reported.
 */
import * as path from 'node:path';
import {
  NAME_PATTERN,
  NAME_RULE,
  type ComposeExtrasFile,
  type DependencyCondition,
  type Project,
  type ProjectFile,
  type ServiceBuild,
  type ServiceConfig,
  type VolumeMount,
  type WatchRule,
} from '../../../../schemas/src/project';
import { splitCommand } from '../argv';
import { HEALTH_DEFAULTS, insideRepo, normalizeProject, normalizeSecurity, problemCollector, type Attempt, type PathProblem, type Report } from '../normalize';
import { cpusToNano, parseDuration, parseSize } from '../units';
import { parseExpose, parseGoDuration, parseHealthcheck, parseMount, parsePort, parseRestart, type MountContext } from './service-fields';
import type { Lookup } from './interpolate';
import { UNSUPPORTED_COMPOSE_ACTIONS, normalizeWatchRule, type WatchRuleInput } from '../watch-rules';

type Data = Record<string, unknown>;
const isMap = (value: unknown): value is Data => value !== null && typeof value === 'object' && !Array.isArray(value);
const NAME = new RegExp(NAME_PATTERN);

export interface ComposeWhere {
  readonly root: string;
  /** The folder relative paths start from: the first compose file's. */
  readonly projectDir: string;
  /** Project.file. */
  readonly file: string;
  readonly files: readonly string[];
  /** Variables for `environment` entries without a value. */
  readonly lookup: Lookup;
  /** The variables of an env_file (an absolute path), or an Error saying why not. */
  readonly envFile: (file: string, required: boolean) => Map<string, string>;
}

export interface ComposeResult {
  readonly project?: Project;
  readonly problems: PathProblem[];
  readonly warnings: PathProblem[];
}

/** The folder name as docker compose makes a project name of it. */
export function projectNameOf(folder: string): string {
  return folder.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[^a-z0-9]+/, '') || 'project';
}

export function composeToProject(data: Data, extras: ComposeExtrasFile, where: ComposeWhere): ComposeResult {
  const { problems, problem, attempt } = problemCollector();
  const warnings: PathProblem[] = [];

  const composeServices = isMap(data.services) ? data.services : {};
  const names = Object.keys(composeServices);
  const declaredVolumes: Record<string, { labels?: Record<string, string> }> = {};
  for (const [key, spec] of Object.entries(isMap(data.volumes) ? data.volumes : {})) {
    const labels = isMap(spec) ? labelMap(spec.labels) : undefined;
    declaredVolumes[key] = labels && Object.keys(labels).length ? { labels } : {};
  }
  for (const key of Object.keys(isMap(data.networks) ? data.networks : {})) {
    if (key !== 'default') {
      warnings.push({ path: ['networks', key], message: 'networks other than default are not supported: every service is on its sandbox network and reaches the others by service name', atKey: true });
    }
  }
  const mountContext: MountContext = { root: where.root, projectDir: where.projectDir, volumes: new Set(Object.keys(declaredVolumes)) };
  const extraServices = extras.services ?? {};
  const routed = new Set(Object.values(extras.routes ?? {}));

  if (names.length === 0) problem(['services'], 'the compose files define no services', true);
  for (const name of Object.keys(extraServices)) {
    if (!names.includes(name)) problem(['x-branchbox', 'services', name], `"${name}" is not a service of the compose files (services: ${names.join(', ') || 'none'})`, true);
  }

  const services: Record<string, ServiceConfig> = {};
  const waitedToComplete = new Set<string>();
  for (const [name, raw] of Object.entries(composeServices)) {
    const at = ['services', name];
    if (!NAME.test(name)) {
      problem(at, `"${name}" is not a Branchbox service name (${NAME_RULE}): rename it in the compose files, e.g. to "${suggestName(name)}", and where depends_on names it`, true);
      continue;
    }
    const spec = isMap(raw) ? raw : {};
    const extra = extraServices[name] ?? {};
    const service = serviceOf(name, spec, at, where, mountContext, problem, attempt, warnings);
    if (!service) continue;
    for (const [dep, d] of Object.entries(service.dependsOn ?? {})) {
      if (!(dep in composeServices)) problem([...at, 'depends_on', dep], `depends on "${dep}", which is not a service (services: ${names.join(', ')})`, true);
      if (d.condition === 'service_completed_successfully') waitedToComplete.add(dep);
    }
    const firstPort = service.ports?.[0]?.container ?? service.expose?.[0];
    const port = extra.port ?? firstPort;
    const http = extra.http ?? (routed.has(name) || extra.health?.path !== undefined);
    if (http && port === undefined) problem(at, 'is served over HTTP but has no port: give x-branchbox services.' + name + '.port, ports or expose', true);
    const health = extra.health && healthOf(extra.health, ['x-branchbox', 'services', name, 'health'], attempt, problem);
    // The same checks as branchbox.yaml's `security:` (no ALL, real capabilities, never privileged).
    if (extra.security) service.security = { ...service.security, ...normalizeSecurity(extra.security, ['x-branchbox', 'services', name, 'security'], problem) };
    services[name] = { ...service, http, ...(port !== undefined ? { port } : {}), ...(health ? { health } : {}) };
  }
  for (const name of waitedToComplete) if (services[name]) services[name].job = true;
  const cycle = dependencyCycle(services);
  if (cycle) problem(['services', cycle[0]!, 'depends_on'], `dependency cycle: ${cycle.join(' → ')}`, true);

  // Routes, baseline and templates are checked as branchbox.yaml checks them, against these services.
  const shell: ProjectFile = {
    version: 1,
    project: 'x',
    services: {},
    ...(extras.baseline ? { baseline: extras.baseline } : {}),
    ...(extras.routes ? { routes: extras.routes } : {}),
    ...(extras.templates ? { templates: extras.templates } : {}),
  };
  for (const name of Object.keys(services)) shell.services[name] = { build: { image: 'x' }, port: 1 };
  const checked = normalizeProject(shell, { file: where.file, root: where.root });
  if ('problems' in checked) problems.push(...checked.problems.map((p) => ({ ...p, path: ['x-branchbox', ...p.path], ...(p.anchor ? { anchor: ['x-branchbox', ...p.anchor] } : {}) })));

  if (problems.length || 'problems' in checked) return { problems, warnings };
  const profiles = [...new Set(Object.values(services).flatMap((s) => s.profiles ?? []))].sort();
  const name = extras.project ?? (typeof data.name === 'string' ? data.name : projectNameOf(path.basename(where.root)));
  return {
    problems,
    warnings,
    project: {
      name,
      file: where.file,
      root: where.root,
      baseline: checked.project.baseline,
      services,
      routes: checked.project.routes,
      templates: checked.project.templates,
      source: { kind: 'compose', files: [...where.files] },
      volumes: declaredVolumes,
      profiles,
    },
  };
}

function serviceOf(
  name: string,
  spec: Data,
  at: readonly string[],
  where: ComposeWhere,
  mounts: MountContext,
  problem: Report,
  attempt: Attempt,
  warnings: PathProblem[],
): Omit<ServiceConfig, 'http'> | undefined {
  const built = { build: undefined as ServiceBuild | undefined, context: '.' };
  if (isMap(spec.build)) {
    const b = spec.build;
    const contextPath = typeof b.context === 'string' ? b.context : '.';
    if (/^[a-z]+:\/\//i.test(contextPath) || contextPath.startsWith('git@')) {
      problem([...at, 'build', 'context'], 'a remote build context is not supported: build from a folder of the repository');
      return undefined;
    }
    const context = path.relative(where.root, path.resolve(where.projectDir, contextPath)).split(path.sep).join('/') || '.';
    if (path.isAbsolute(contextPath) || !insideRepo(context)) {
      problem([...at, 'build', 'context'], 'must be a relative path inside the repository');
      return undefined;
    }
    const dockerfile = typeof b.dockerfile === 'string' ? b.dockerfile : 'Dockerfile';
    if (!insideRepo(dockerfile)) {
      problem([...at, 'build', 'dockerfile'], 'must be a relative path inside the context');
      return undefined;
    }
    const args = Object.fromEntries(
      Object.entries(isMap(b.args) ? b.args : {}).flatMap(([k, v]) => {
        const value = v === null || v === undefined ? where.lookup(k) : String(v);
        return value === undefined ? [] : [[k, value]];
      }),
    );
    built.build = { kind: 'dockerfile', dockerfile, args, ...(typeof b.target === 'string' ? { target: b.target } : {}) };
    if (spec.image !== undefined) {
      warnings.push({ path: [...at, 'image'], message: 'image is ignored beside build: Branchbox names the images it builds', atKey: true });
    }
    built.context = context;
  } else if (typeof spec.image === 'string') {
    built.build = { kind: 'image', image: spec.image };
  } else {
    problem(at, 'needs build or image', true);
    return undefined;
  }

  const env: Record<string, string> = {};
  const envFiles = spec.env_file === undefined ? [] : Array.isArray(spec.env_file) ? spec.env_file : [spec.env_file];
  envFiles.forEach((entry, i) => {
    const file = isMap(entry) ? String(entry.path) : String(entry);
    const required = isMap(entry) ? entry.required !== false : true;
    const vars = attempt([...at, 'env_file', ...(Array.isArray(spec.env_file) ? [String(i)] : [])], () => where.envFile(file, required));
    for (const [k, v] of vars ?? []) env[k] = v;
  });
  for (const [k, v] of Object.entries(isMap(spec.environment) ? spec.environment : {})) {
    const value = v === null || v === undefined ? where.lookup(k) : String(v);
    if (value !== undefined) env[k] = value;
  }

  const list = <T>(key: string, parse: (entry: unknown) => T[]): T[] | undefined => {
    const value = spec[key];
    if (value === undefined) return undefined;
    const entries = Array.isArray(value) ? value : [value];
    return entries.flatMap((entry, i) => attempt([...at, key, ...(Array.isArray(value) ? [String(i)] : [])], () => parse(entry)) ?? []);
  };
  const ports = list('ports', parsePort);
  const expose = list('expose', parseExpose);
  const targets = new Set<string>();
  let mountIndex = 0;
  const volumes = list('volumes', (e) => {
    const i = mountIndex++;
    const mount: VolumeMount = parseMount(e, mounts);
    const ignored = mountOptionsIgnored(e);
    if (ignored.length) warnings.push({ path: [...at, 'volumes', String(i)], message: `${ignored.join(', ')} ${ignored.length > 1 ? 'are' : 'is'} ignored for this mount` });
    if (targets.has(mount.target)) problem([...at, 'volumes', String(i)], `mounts at ${mount.target} twice`);
    targets.add(mount.target);
    return [mount];
  });
  const tmpfs = list('tmpfs', (e) => {
    const text = String(e);
    if (!text.startsWith('/')) throw new Error(`"${text}" is not an absolute path in the container`);
    return [text];
  });
  const argv = (key: string, allowEmpty: boolean): string[] | undefined => {
    const value = spec[key];
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value.map(String);
    if (allowEmpty && value === '') return [];
    return attempt([...at, key], () => splitCommand(String(value)));
  };
  const command = argv('command', false);
  const entrypoint = argv('entrypoint', true);

  const labels = labelMap(spec.labels);
  for (const key of Object.keys(labels ?? {})) {
    if (key.toLowerCase().startsWith('branchbox.')) problem([...at, 'labels', key], `"${key}": labels starting with branchbox. are Branchbox's own`, true);
  }

  const dependsOn: NonNullable<ServiceConfig['dependsOn']> = {};
  for (const [dep, d] of Object.entries(isMap(spec.depends_on) ? spec.depends_on : {})) {
    const entry = isMap(d) ? d : {};
    dependsOn[dep] = {
      condition: (entry.condition as DependencyCondition | undefined) ?? 'service_started',
      required: entry.required !== false,
      restart: entry.restart === true,
    };
  }

  let healthcheck: ServiceConfig['healthcheck'];
  if (isMap(spec.healthcheck)) {
    const check = spec.healthcheck;
    // each duration at its own line first; then the whole check
    const badDuration = ['interval', 'timeout', 'start_period', 'start_interval'].some(
      (key) => typeof check[key] === 'string' && attempt([...at, 'healthcheck', key], () => parseGoDuration(check[key] as string)) === undefined,
    );
    if (!badDuration) healthcheck = attempt([...at, 'healthcheck'], () => parseHealthcheck(check));
    if (check.start_interval !== undefined) warnings.push({ path: [...at, 'healthcheck', 'start_interval'], message: 'start_interval is ignored: the check runs at its interval from the start', atKey: true });
  }
  const restart = typeof spec.restart === 'string' ? attempt([...at, 'restart'], () => parseRestart(spec.restart as string)) : undefined;

  const resources: ServiceConfig['resources'] = {};
  const limits = isMap(spec.deploy) && isMap(spec.deploy.resources) && isMap(spec.deploy.resources.limits) ? spec.deploy.resources.limits : {};
  const cpus = limits.cpus ?? spec.cpus;
  const memory = limits.memory ?? spec.mem_limit;
  if (cpus !== undefined) {
    const nano = attempt(limits.cpus !== undefined ? [...at, 'deploy', 'resources', 'limits', 'cpus'] : [...at, 'cpus'], () => cpusToNano(Number(cpus)));
    if (nano !== undefined) resources.nanoCpus = nano;
  }
  if (memory !== undefined) {
    const bytes = attempt(limits.memory !== undefined ? [...at, 'deploy', 'resources', 'limits', 'memory'] : [...at, 'mem_limit'], () =>
      parseSize(typeof memory === 'number' ? memory : String(memory)),
    );
    if (bytes !== undefined) resources.memoryBytes = bytes;
  }

  const networks = spec.networks;
  const networkNames = Array.isArray(networks) ? networks.map(String) : Object.keys(isMap(networks) ? networks : {});
  networkNames.forEach((network, i) => {
    if (network === 'default') return;
    warnings.push({
      path: [...at, 'networks', Array.isArray(networks) ? String(i) : network],
      message: `network "${network}" is not supported: the service is on its sandbox network, where the others reach it by its name`,
      atKey: !Array.isArray(networks),
    });
  });

  let user: string | undefined;
  if (spec.user !== undefined) {
    user = String(spec.user);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(user)) problem([...at, 'user'], 'must be a user name or id, optionally with :group');
  }
  const pidsLimit = typeof spec.pids_limit === 'number' ? spec.pids_limit : undefined;
  const workingDir = typeof spec.working_dir === 'string' ? spec.working_dir : undefined;
  if (workingDir !== undefined && !workingDir.startsWith('/')) problem([...at, 'working_dir'], 'must be an absolute path in the container');
  const profiles = Array.isArray(spec.profiles) ? spec.profiles.map(String) : undefined;
  const watch = isMap(spec.develop) && Array.isArray(spec.develop.watch) ? watchRulesOf(spec.develop.watch, [...at, 'develop', 'watch'], where, problem, warnings) : undefined;

  return {
    name,
    context: built.context,
    build: built.build,
    env,
    resources,
    ...(user !== undefined || pidsLimit !== undefined ? { security: { ...(user !== undefined ? { user } : {}), ...(pidsLimit !== undefined ? { pidsLimit } : {}) } } : {}),
    ...(ports ? { ports } : {}),
    ...(expose ? { expose } : {}),
    ...(command ? { command } : {}),
    ...(entrypoint ? { entrypoint } : {}),
    ...(workingDir !== undefined ? { workingDir } : {}),
    ...(labels ? { labels } : {}),
    ...(restart ? { restart } : {}),
    ...(volumes ? { volumes } : {}),
    ...(tmpfs ? { tmpfs } : {}),
    ...(Object.keys(dependsOn).length ? { dependsOn } : {}),
    ...(healthcheck ? { healthcheck } : {}),
    ...(profiles ? { profiles } : {}),
    ...(watch ? { watch } : {}),
  };
}

/** `develop.watch`: the rules Branchbox runs; the actions and keys it does not, warned and left out. */
function watchRulesOf(entries: unknown[], at: readonly string[], where: ComposeWhere, problem: Report, warnings: PathProblem[]): WatchRule[] {
  return entries.flatMap((entry, i) => {
    const ruleAt = [...at, String(i)];
    const e = isMap(entry) ? entry : {};
    for (const key of ['include', 'initial_sync', 'exec']) {
      if (e[key] !== undefined) warnings.push({ path: [...ruleAt, key], message: `${key} is ignored: ${key === 'initial_sync' ? 'watch mode always syncs the tree when it starts' : 'Branchbox does not support it'}`, atKey: true });
    }
    const action = String(e.action);
    const unsupported = UNSUPPORTED_COMPOSE_ACTIONS[action];
    if (unsupported) {
      warnings.push({ path: [...ruleAt, 'action'], message: `${unsupported}; this rule is ignored` });
      return [];
    }
    const input: WatchRuleInput = {
      action,
      path: String(e.path),
      ...(typeof e.target === 'string' ? { target: e.target } : {}),
      ...(e.ignore !== undefined ? { ignore: Array.isArray(e.ignore) ? e.ignore.map(String) : String(e.ignore) } : {}),
    };
    const result = normalizeWatchRule(input, { root: where.root, baseDir: where.projectDir });
    if ('rule' in result) return [result.rule];
    for (const p of result.problems) problem([...ruleAt, p.field], p.message, p.field === 'target' && e.target === undefined);
    return [];
  });
}

function healthOf(
  spec: NonNullable<NonNullable<ComposeExtrasFile['services']>[string]['health']>,
  at: readonly string[],
  attempt: Attempt,
  problem: Report,
): ServiceConfig['health'] {
  if ((spec.path === undefined) === (spec.command === undefined)) {
    problem(at, 'needs either path (an HTTP probe) or command (run in the container)');
    return undefined;
  }
  const command = spec.command === undefined ? undefined : attempt([...at, 'command'], () => (typeof spec.command === 'string' ? splitCommand(spec.command) : [...spec.command!]));
  const ms = (key: 'interval' | 'timeout' | 'startPeriod', fallback: number) =>
    spec[key] === undefined ? fallback : (attempt([...at, key], () => goOrBranchboxDuration(spec[key]!)) ?? fallback);
  return {
    ...(spec.path !== undefined ? { path: spec.path } : {}),
    ...(command ? { command } : {}),
    intervalMs: ms('interval', HEALTH_DEFAULTS.intervalMs),
    timeoutMs: ms('timeout', HEALTH_DEFAULTS.timeoutMs),
    retries: spec.retries ?? HEALTH_DEFAULTS.retries,
    startPeriodMs: ms('startPeriod', HEALTH_DEFAULTS.startPeriodMs),
  };
}

/** A duration as branchbox.yaml writes it (`5s`, `3d`) or as compose does (`1m30s`, `500ms`). */
function goOrBranchboxDuration(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    return parseGoDuration(text);
  }
}

function labelMap(value: unknown): Record<string, string> | undefined {
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map(String).map((item) => (item.includes('=') ? [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)] : [item, ''])));
  }
  if (!isMap(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
}

/** The options of a mount Branchbox does not apply (SELinux relabelling, nocopy, propagation, tmpfs size…). */
function mountOptionsIgnored(entry: unknown): string[] {
  if (typeof entry === 'string') {
    const mode = entry.split(':')[2];
    return (mode ?? '').split(',').filter((o) => o === 'z' || o === 'Z' || o === 'nocopy');
  }
  if (!isMap(entry)) return [];
  const nested = (key: string) => Object.keys(isMap(entry[key]) ? (entry[key] as Data) : {}).map((k) => `${key}.${k}`);
  return [...(entry.consistency !== undefined ? ['consistency'] : []), ...nested('bind'), ...nested('volume'), ...nested('tmpfs')];
}

/** A name that follows the Branchbox rule, close to `name`. */
export function suggestName(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
  return s || 'service';
}

/** The first dependency cycle, as the names along it (the first repeated at the end). */
export function dependencyCycle(services: Readonly<Record<string, Pick<ServiceConfig, 'dependsOn'>>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of Object.keys(services[name]?.dependsOn ?? {}).sort()) {
      if (!services[dep]) continue;
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(services).sort()) {
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}
