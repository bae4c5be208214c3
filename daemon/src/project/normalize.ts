/**
 * From a schema-valid `branchbox.yaml` to the normalized {@link Project}: defaults filled
 * in, durations in ms, sizes in bytes, commands split into arguments, routes longest prefix
 * first; and the checks a schema cannot express — every service a route, baseline or
 * template names must exist, paths stay inside the repository.
 */
import * as path from 'node:path';
import {
  LINUX_CAPABILITIES,
  type Project,
  type ProjectFile,
  type Resources,
  type ServiceBuild,
  type ServiceConfig,
  type ServiceSecurity,
  type TemplateFile,
  type TemplateSpec,
} from '../../../schemas/src/project';
import type { Static } from '@sinclair/typebox';
import { splitCommand } from './argv';
import { cpusToNano, parseDuration, parseSize } from './units';
import { normalizeWatchRule } from './watch-rules';

/** A problem at a field path (as in the yaml), before it gets its line and column. */
export interface PathProblem {
  readonly path: readonly string[];
  readonly message: string;
  /** Point at the key of the field (or of the anchor) rather than its value. */
  readonly atKey?: boolean;
  /** Where to point when the field itself is absent (a missing required field: its parent). */
  readonly anchor?: readonly string[];
}

type ServiceFile = ProjectFile['services'][string];
type TemplateFileT = Static<typeof TemplateFile>;
type ResourcesFile = NonNullable<ServiceFile['resources']>;
type SecurityFile = NonNullable<ServiceFile['security']>;

/** A health check's timing when the file leaves it out (branchbox.yaml `health:`, x-branchbox `health:`). */
export const HEALTH_DEFAULTS = { intervalMs: 5_000, timeoutMs: 2_000, retries: 3, startPeriodMs: 0 };

export type Report = (p: readonly string[], message: string, atKey?: boolean) => void;
export type Attempt = <T>(p: readonly string[], fn: () => T) => T | undefined;

/** The problems of a normalization, and the two ways to record one: at a path, or from a conversion that throws a plain Error. */
export function problemCollector(): { problems: PathProblem[]; problem: Report; attempt: Attempt } {
  const problems: PathProblem[] = [];
  const problem: Report = (p, message, atKey = false) => problems.push({ path: p, message, atKey });
  const attempt: Attempt = (p, fn) => {
    try {
      return fn();
    } catch (e) {
      problem(p, (e as Error).message);
      return undefined;
    }
  };
  return { problems, problem, attempt };
}

export function normalizeProject(
  file: ProjectFile,
  where: { file: string; root: string },
): { project: Project } | { problems: PathProblem[] } {
  const { problems, problem, attempt } = problemCollector();

  const serviceNames = Object.keys(file.services);
  const baseline = file.baseline ?? {};
  const routes = Object.entries(file.routes ?? {});
  const routable = new Set([...serviceNames, ...Object.keys(baseline)]);
  const known = (names: Iterable<string>) => [...names].sort().join(', ') || 'none';

  const services: Record<string, ServiceConfig> = {};
  for (const [name, spec] of Object.entries(file.services)) {
    const at = ['services', name];
    const context = spec.context ?? '.';
    if (!insideRepo(context)) problem([...at, 'context'], 'must be a relative path inside the repository');
    const build = normalizeBuild(spec, at, problem, attempt);
    const resources = normalizeResources(spec.resources, [...at, 'resources'], attempt);
    const security = spec.security && normalizeSecurity(spec.security, [...at, 'security'], problem);
    const health = spec.health && {
      path: spec.health.path,
      intervalMs: spec.health.interval
        ? (attempt([...at, 'health', 'interval'], () => parseDuration(spec.health!.interval!)) ?? 0)
        : HEALTH_DEFAULTS.intervalMs,
      timeoutMs: spec.health.timeout
        ? (attempt([...at, 'health', 'timeout'], () => parseDuration(spec.health!.timeout!)) ?? 0)
        : HEALTH_DEFAULTS.timeoutMs,
      retries: spec.health.retries ?? HEALTH_DEFAULTS.retries,
      startPeriodMs: spec.health.startPeriod
        ? (attempt([...at, 'health', 'startPeriod'], () => parseDuration(spec.health!.startPeriod!)) ?? 0)
        : HEALTH_DEFAULTS.startPeriodMs,
    };
    const watch = (spec.watch ?? []).flatMap((input, i) => {
      const result = normalizeWatchRule(input, { root: where.root, baseDir: where.root });
      if ('rule' in result) return [result.rule];
      for (const p of result.problems) problem([...at, 'watch', String(i), ...(p.field === 'action' ? [] : [p.field])], p.message);
      return [];
    });
    if (build) {
      services[name] = {
        name,
        context,
        build,
        port: spec.port,
        http: true,
        ...(health ? { health } : {}),
        env: stringMap(spec.env),
        resources,
        ...(security ? { security } : {}),
        ...(spec.watch ? { watch } : {}),
      };
    }
  }

  for (const [prefix, service] of routes) {
    if (!routable.has(service)) {
      problem(
        ['routes', prefix],
        `routes to "${service}", which is neither a service nor a baseline entry (services: ${known(serviceNames)})`,
      );
    }
  }
  const routed = new Set(routes.map(([, service]) => service));
  for (const name of Object.keys(baseline)) {
    if (!serviceNames.includes(name) && !routed.has(name)) {
      problem(
        ['baseline', name],
        `"${name}" is not a service of this project (services: ${known(serviceNames)}) and no route leads to it`,
        true,
      );
    }
  }

  const templates: Record<string, TemplateSpec> = {};
  for (const [name, spec] of Object.entries(file.templates ?? {})) {
    const template = normalizeTemplate(
      spec,
      ['templates', name],
      { serviceNames, routable, baseline },
      problem,
      attempt,
    );
    if (template) templates[name] = template;
  }

  if (problems.length) return { problems };
  return {
    project: {
      name: file.project,
      file: where.file,
      root: where.root,
      baseline: { ...baseline },
      services,
      routes: routes
        .map(([prefix, service]) => ({ prefix, service }))
        .sort((a, b) => b.prefix.length - a.prefix.length || a.prefix.localeCompare(b.prefix)),
      templates,
    },
  };
}


function normalizeBuild(
  spec: ServiceFile,
  at: readonly string[],
  problem: Report,
  attempt: Attempt,
): ServiceBuild | undefined {
  const build = spec.build ?? {};
  if ('image' in build) return { kind: 'image', image: build.image };
  if ('command' in build) {
    const command = attempt([...at, 'build', 'command'], () => toArgv(build.command));
    const cmd = build.cmd === undefined ? [] : attempt([...at, 'build', 'cmd'], () => toArgv(build.cmd!));
    if (!command || !cmd) return undefined;
    return { kind: 'command', command, runtime: build.runtime, cmd };
  }
  const dockerfile = build.dockerfile ?? 'Dockerfile';
  if (!insideRepo(dockerfile)) {
    problem([...at, 'build', 'dockerfile'], 'must be a relative path inside the context');
    return undefined;
  }
  return { kind: 'dockerfile', dockerfile, args: stringMap(build.args), ...(build.target ? { target: build.target } : {}) };
}

function normalizeTemplate(
  spec: TemplateFileT,
  at: readonly string[],
  project: {
    serviceNames: readonly string[];
    routable: ReadonlySet<string>;
    baseline: Readonly<Record<string, string>>;
  },
  problem: Report,
  attempt: Attempt,
): TemplateSpec | undefined {
  const before = { count: 0 };
  const report: Report = (p, m, k) => {
    before.count++;
    problem(p, m, k);
  };
  const services: TemplateSpec['services'] = {};
  for (const [service, value] of Object.entries(spec.services ?? {})) {
    if (!project.serviceNames.includes(service)) {
      report(
        [...at, 'services', service],
        `"${service}" is not a service of this project (services: ${project.serviceNames.join(', ')})`,
        true,
      );
      continue;
    }
    const entry = typeof value === 'string' ? { branch: value } : value;
    if (!entry.branch && !entry.commit) report([...at, 'services', service], 'needs a branch or a commit');
    services[service] = {
      ...(entry.branch ? { branch: entry.branch } : {}),
      ...(entry.commit ? { commit: entry.commit } : {}),
    };
  }
  const routes: NonNullable<TemplateSpec['routes']> = {};
  for (const [service, route] of Object.entries(spec.routes ?? {})) {
    if (!project.routable.has(service)) {
      report(
        [...at, 'routes', service],
        `"${service}" is neither a service nor a baseline entry of this project`,
        true,
      );
      continue;
    }
    const kind = route === 'sandbox' || route === 'baseline' ? route : 'url';
    if (kind === 'baseline' && !project.baseline[service])
      report([...at, 'routes', service], `"${service}" has no baseline URL in baseline:`);
    if (kind === 'sandbox' && !project.serviceNames.includes(service)) {
      report([...at, 'routes', service], `"${service}" cannot run in a sandbox: it is not under services:`);
    }
    routes[service] = kind === 'url' ? { kind, url: typeof route === 'string' ? route : route.url } : { kind };
  }
  const resources = spec.resources ? normalizeResources(spec.resources, [...at, 'resources'], attempt) : undefined;
  if (spec.ttl) attempt([...at, 'ttl'], () => parseDuration(spec.ttl!));
  if (spec.ttlFrom && !spec.ttl) report([...at, 'ttlFrom'], 'needs a ttl');
  if (before.count) return undefined;
  return {
    services,
    ...(spec.env ? { env: stringMap(spec.env) } : {}),
    ...(spec.routes ? { routes } : {}),
    ...(spec.ttl ? { ttl: spec.ttl } : {}),
    ...(spec.ttlFrom ? { ttlFrom: spec.ttlFrom } : {}),
    ...(resources ? { resources } : {}),
  };
}

function normalizeResources(spec: ResourcesFile | undefined, at: readonly string[], attempt: Attempt): Resources {
  if (!spec) return {};
  const nanoCpus = spec.cpus === undefined ? undefined : attempt([...at, 'cpus'], () => cpusToNano(spec.cpus!));
  const memoryBytes = spec.memory === undefined ? undefined : attempt([...at, 'memory'], () => parseSize(spec.memory!));
  return { ...(nanoCpus !== undefined ? { nanoCpus } : {}), ...(memoryBytes !== undefined ? { memoryBytes } : {}) };
}

const CAPABILITIES: ReadonlySet<string> = new Set(LINUX_CAPABILITIES);

/** The overrides of the container defaults, capabilities as Docker names them (upper case, no CAP_). */
export function normalizeSecurity(spec: SecurityFile, at: readonly string[], problem: Report): ServiceSecurity {
  const capAdd: string[] = [];
  (spec.capAdd ?? []).forEach((raw, i) => {
    const name = raw.toUpperCase().replace(/^CAP_/, '');
    if (name === 'ALL') problem([...at, 'capAdd', String(i)], 'ALL would give back every capability: list the ones the service needs');
    else if (!CAPABILITIES.has(name)) problem([...at, 'capAdd', String(i)], `"${raw}" is not a Linux capability (e.g. CHOWN, SETUID, NET_BIND_SERVICE)`);
    else if (!capAdd.includes(name)) capAdd.push(name);
  });
  if (spec.privileged === true) {
    problem([...at, 'privileged'], 'must be false: Branchbox never runs privileged containers (give the service the capabilities it needs in capAdd)');
  }
  return {
    ...(spec.capAdd ? { capAdd } : {}),
    ...(spec.noNewPrivileges !== undefined ? { noNewPrivileges: spec.noNewPrivileges } : {}),
    ...(spec.pidsLimit !== undefined ? { pidsLimit: spec.pidsLimit } : {}),
    ...(spec.user !== undefined ? { user: spec.user } : {}),
  };
}

function toArgv(value: string | string[]): string[] {
  return typeof value === 'string' ? splitCommand(value) : [...value];
}

function stringMap(map: Readonly<Record<string, string | number | boolean>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, v]) => [k, String(v)]));
}

/** A relative path that does not climb out of where it starts. */
export function insideRepo(p: string): boolean {
  if (path.isAbsolute(p) || p.includes('\0')) return false;
  const normalized = path.posix.normalize(p.replace(/\\/g, '/'));
  return normalized !== '..' && !normalized.startsWith('../');
}
