/**
 * A first `branchbox.yaml` for a repository that has none, proposed from what it has: its
 * compose project (as the daemon read it, `project/load`: the file then names the compose files
 * and adds the ports and routes compose has no word for) or its Dockerfiles (a service per
 * Dockerfile: its folder as the build context, the port its EXPOSE names). Pure: the command
 * (onboarding-commands.ts) finds the files and writes the text.
 */
import * as path from 'node:path';
import { Document, type Scalar, type YAMLMap } from 'yaml';
import type { Project } from '../../schemas/src/project';

/** A Dockerfile of the repository: its path relative to the root (`/`-separated) and its text. */
export interface DockerfileFound {
  readonly path: string;
  readonly text: string;
}

export interface ProposedService {
  readonly name: string;
  /** The build context, relative to the root ("." for the root). */
  readonly context: string;
  /** The Dockerfile's name inside the context. */
  readonly dockerfile?: string;
  readonly port?: number;
  /** Why the port is what it is, when it is a guess or absent. */
  readonly portNote?: string;
}

/** The port the gateway and the probes use when a Dockerfile does not say. */
export const GUESSED_PORT = 8080;
/** Ports of servers that do not speak HTTP: such a service gets no route. */
const NOT_HTTP_PORTS: ReadonlySet<number> = new Set([1433, 1521, 2181, 3306, 4222, 5432, 5672, 6379, 9042, 9092, 11211, 27017]);
const MAX_NAME = 40;
const REFERENCE = 'docs/branchbox-yaml.md ("Branchbox: Open branchbox.yaml Reference")';

/** A name a service or project may have: lowercase a-z, 0-9 and "-", as `NAME_PATTERN` says. */
export function serviceNameOf(raw: string, taken: ReadonlySet<string> = new Set()): string {
  const base =
    raw
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, MAX_NAME)
      .replace(/-+$/, '') || 'app';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base.slice(0, MAX_NAME - String(i).length - 1).replace(/-+$/, '')}-${i}`;
  return name;
}

/** The container port a Dockerfile's final stage EXPOSEs first (`EXPOSE 8080/tcp 9090`). */
export function exposedPort(dockerfile: string): number | undefined {
  const lines = dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  let port: number | undefined;
  for (const line of lines) {
    if (/^\s*FROM\s/i.test(line)) port = undefined; // a new stage: only the last one's EXPOSE counts
    const m = /^\s*EXPOSE\s+(.+)$/i.exec(line);
    if (m && port === undefined) {
      const first = /^(\d{1,5})(\/(tcp|udp))?$/i.exec(m[1]!.trim().split(/\s+/)[0]!);
      const n = first ? Number(first[1]) : NaN;
      if (n >= 1 && n <= 65535) port = n;
    }
  }
  return port;
}

/** One service per Dockerfile, named after its folder (or its `name.Dockerfile` / `Dockerfile.name`). */
export function servicesFromDockerfiles(found: readonly DockerfileFound[], rootName: string): ProposedService[] {
  const taken = new Set<string>();
  return [...found]
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path))
    .map((f) => {
      const dir = path.posix.dirname(f.path);
      const file = path.posix.basename(f.path);
      const suffix = /^Dockerfile\.(.+)$/i.exec(file)?.[1] ?? /^(.+)\.Dockerfile$/i.exec(file)?.[1];
      const name = serviceNameOf(suffix ?? (dir === '.' ? rootName : path.posix.basename(dir)), taken);
      taken.add(name);
      const port = exposedPort(f.text);
      return {
        name,
        context: dir,
        dockerfile: file,
        port: port ?? GUESSED_PORT,
        ...(port === undefined ? { portNote: `${f.path} EXPOSEs no port: set the one the service listens on` } : {}),
      };
    });
}

/** The services of a compose project as the daemon read it, with their build context and port. */
export function servicesFromCompose(project: Project): ProposedService[] {
  return Object.entries(project.services).map(([name, s]) => ({
    name,
    context: s.context,
    ...(s.build && 'dockerfile' in s.build ? { dockerfile: s.build.dockerfile } : {}),
    ...(s.port !== undefined ? { port: s.port } : { portNote: 'listens on no port compose publishes or exposes (a job or a worker?)' }),
  }));
}

/** Routes for the services that likely speak HTTP: `/` for the only one, else `/<name>` each. */
function routesOf(services: readonly ProposedService[]): Record<string, string> {
  const http = services.filter((s) => s.port !== undefined && !NOT_HTTP_PORTS.has(s.port));
  if (http.length === 1) return { '/': http[0]!.name };
  return Object.fromEntries(http.map((s) => [`/${s.name}`, s.name]));
}

export type Scaffold =
  | { readonly from: 'compose'; readonly composeFiles: readonly string[]; readonly project: string; readonly services: readonly ProposedService[] }
  | { readonly from: 'dockerfiles'; readonly project: string; readonly services: readonly ProposedService[] };

/** The text of branchbox.yaml for `scaffold`. */
export function scaffoldText(scaffold: Scaffold): string {
  const project = serviceNameOf(scaffold.project);
  const header = [
    ' branchbox.yaml: written by "Branchbox: Create branchbox.yaml" as a proposal; check it, then deploy.',
    scaffold.from === 'compose'
      ? ` The services and their builds are those of ${scaffold.composeFiles.join(', ')}; this file adds what compose has no word for.`
      : scaffold.services.length
        ? ' One service per Dockerfile found: its folder is the build context, its EXPOSE the port.'
        : ' No Dockerfile was found: add one at the root, or point context and build at yours.',
    ` Every key: ${REFERENCE}.`,
  ];
  let doc: Document;
  if (scaffold.from === 'compose') {
    const services = Object.fromEntries(scaffold.services.filter((s) => s.port !== undefined).map((s) => [s.name, { port: s.port }]));
    doc = new Document({
      version: 1,
      compose: [...scaffold.composeFiles],
      project,
      ...(Object.keys(services).length ? { services } : {}),
      ...(Object.keys(routesOf(scaffold.services)).length ? { routes: routesOf(scaffold.services) } : {}),
    });
    const unported = scaffold.services.filter((s) => s.port === undefined);
    if (unported.length) doc.comment = unported.map((s) => ` ${s.name}: ${s.portNote}`).join('\n');
  } else {
    const services = scaffold.services.length
      ? scaffold.services
      : [{ name: 'app', context: '.', dockerfile: 'Dockerfile', port: GUESSED_PORT, portNote: 'no Dockerfile found: set the port the service listens on' }];
    doc = new Document({
      version: 1,
      project,
      services: Object.fromEntries(services.map((s) => [s.name, { context: s.context, build: { dockerfile: s.dockerfile ?? 'Dockerfile' }, port: s.port }])),
      ...(Object.keys(routesOf(services)).length ? { routes: routesOf(services) } : {}),
    });
    for (const s of services) {
      if (s.portNote) ((doc.getIn(['services', s.name], true) as YAMLMap).get('port', true) as Scalar).comment = ` ${s.portNote}`;
    }
  }
  doc.commentBefore = header.join('\n');
  for (const s of scaffold.services) {
    if (scaffold.from !== 'compose') break;
    const pair = (doc.get('services', true) as YAMLMap | undefined)?.items.find((p) => (p.key as Scalar).value === s.name);
    if (pair && s.dockerfile) (pair.key as Scalar).commentBefore = ` build context: ${s.context} (${s.dockerfile})`;
  }
  return doc.toString({ lineWidth: 0 });
}
