/**
 * The gateways' view of live state: for each sandbox, its project's routes and baseline
 * (from `branchbox.yaml` at the sandbox's repository) and each service's route and serving
 * container (from the state database, through the SandboxStore).
 *
 * Tables are cached and rebuilt when the SandboxStore announces a change of the sandbox (a
 * route set, a deployment switching over, a state change), so a change applies to the next
 * request; a cached table is also never older than `maxAgeMs`, which bounds how long an edit
 * of `branchbox.yaml` (or a write that bypassed the store) takes to apply.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Project } from '../../../schemas/src/project';
import type { Sandbox, SandboxEvent } from '../../../schemas/src/sandbox';
import { nullLogger, type Logger } from '../runtime/log';
import type { BaselineRoutes, RouteSource, SandboxRoutes, ServiceRouteState } from './route-table';

/** What the source reads of sandboxes: SandboxStore satisfies it. */
export interface SandboxReader {
  get(name: string): Sandbox | undefined;
  list(): Sandbox[];
  onChange(listener: (event: SandboxEvent) => void): () => void;
}

/** The part of a project the gateway uses. */
export type ProjectRoutes = Pick<Project, 'name' | 'file' | 'routes' | 'baseline' | 'services' | 'source'>;

/** Reads a project (`loadProject`); throws a readable error when it cannot. */
export type ProjectLoader = (repoRoot: string) => ProjectRoutes;

export interface SandboxRouteSourceOptions {
  readonly sandboxes: SandboxReader;
  readonly loadProject: ProjectLoader;
  readonly log?: Logger;
  /** The longest a cached table is used without re-reading (default 1 s). */
  readonly maxAgeMs?: number;
  /** The repository whose project the shared gateway uses without a sandbox header; default: the most recently deployed sandbox's. */
  readonly defaultRepo?: () => string | undefined;
}

/** A sandbox's project as last read: the project, or why it could not be read (or both: the last good one and the new problem). */
export interface ProjectReading {
  readonly project?: ProjectRoutes;
  readonly problem?: string;
}

interface CachedProject extends ProjectReading {
  readonly stamp: string;
}

export class SandboxRouteSource implements RouteSource {
  private readonly tables = new Map<string, { table: SandboxRoutes | undefined; at: number }>();
  private baselineCache: { value: BaselineRoutes | { unavailable: string }; at: number } | undefined;
  private readonly projects = new Map<string, CachedProject>();
  private readonly log: Logger;
  private readonly maxAgeMs: number;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: SandboxRouteSourceOptions) {
    this.log = opts.log ?? nullLogger;
    this.maxAgeMs = opts.maxAgeMs ?? 1_000;
    this.unsubscribe = opts.sandboxes.onChange((event) => {
      this.tables.delete(event.name);
      this.baselineCache = undefined;
    });
  }

  sandbox(name: string): SandboxRoutes | undefined {
    const now = Date.now();
    const cached = this.tables.get(name);
    if (cached && now - cached.at < this.maxAgeMs) return cached.table;
    const table = this.read(name);
    this.tables.set(name, { table, at: now });
    return table;
  }

  baseline(): BaselineRoutes | { unavailable: string } {
    const now = Date.now();
    if (this.baselineCache && now - this.baselineCache.at < this.maxAgeMs) return this.baselineCache.value;
    const value = this.readBaseline();
    this.baselineCache = { value, at: now };
    return value;
  }

  /** The project of a repository as last read (re-read when one of its files changed). */
  project(repoRoot: string): ProjectReading {
    const known = this.projects.get(repoRoot);
    const stamp = projectStamp(known?.project);
    if (known && stamp !== undefined && known.stamp === stamp) return known;
    let reading: CachedProject;
    try {
      const project = this.opts.loadProject(repoRoot);
      reading = { project, stamp: projectStamp(project) ?? '' };
    } catch (e) {
      const problem = `the project at ${repoRoot} cannot be read: ${(e as Error).message}`;
      if (known?.problem !== problem) this.log.warn('Gateway keeps the last good routes', { repo: repoRoot, error: (e as Error).message });
      // Keep routing by the last good project, if any, while the file is broken.
      reading = { ...(known?.project ? { project: known.project } : {}), problem, stamp: stamp ?? '' };
    }
    this.projects.set(repoRoot, reading);
    return reading;
  }

  /** Forgets the cached table of a sandbox, so the next request reads it again (after a change made here). */
  invalidate(name: string): void {
    this.tables.delete(name);
    this.baselineCache = undefined;
  }

  /** Stops listening to sandbox changes. */
  close(): void {
    this.unsubscribe();
  }

  private read(name: string): SandboxRoutes | undefined {
    const sandbox = this.opts.sandboxes.get(name);
    if (!sandbox) return undefined;
    const reading: ProjectReading = sandbox.repoPath
      ? this.project(sandbox.repoPath)
      : { problem: `sandbox ${name} has no project` };
    const services: Record<string, ServiceRouteState> = {};
    // A service not served over HTTP (a compose database, a job) is never a gateway target.
    const http = (service: string) => reading.project?.services[service]?.http !== false;
    for (const s of sandbox.services) {
      services[s.service] = {
        route: s.route,
        ...(s.routeUrl !== undefined && s.route === 'url' ? { url: s.routeUrl } : {}),
        ...(s.hostPort !== undefined && http(s.service) ? { hostPort: s.hostPort } : {}),
        ...(s.commit !== undefined ? { commit: s.commit } : {}),
      };
    }
    return {
      sandbox: name,
      routes: (reading.project?.routes ?? []).filter((r) => http(r.service)),
      baseline: reading.project?.baseline ?? {},
      services,
      ...(sandbox.state !== 'active' ? { inactive: `sandbox ${name} is ${sandbox.state}` } : {}),
      ...(reading.project ? {} : { problem: reading.problem }),
    };
  }

  private readBaseline(): BaselineRoutes | { unavailable: string } {
    const repo = this.opts.defaultRepo?.() ?? this.latestRepo();
    if (repo === undefined) {
      return { unavailable: 'no project is known yet: the shared gateway routes by the project of the sandboxes, and there is none' };
    }
    const reading = this.project(repo);
    if (!reading.project) return { unavailable: reading.problem ?? `the project at ${repo} cannot be read` };
    return { routes: reading.project.routes, baseline: reading.project.baseline, project: reading.project.name };
  }

  /** The repository of the sandbox deployed (or changed) most recently. */
  private latestRepo(): string | undefined {
    let best: { repo: string; at: string } | undefined;
    for (const s of this.opts.sandboxes.list()) {
      if (!s.repoPath || s.state === 'deleting') continue;
      const at = s.lastDeployAt ?? s.updatedAt;
      if (!best || at > best.at) best = { repo: s.repoPath, at };
    }
    return best?.repo;
  }
}

/**
 * Identifies a version of a project without reading it: the stat of every file it was read from
 * (compose files and branchbox.yaml), of the `.env` beside it and of its folder (a file added
 * or removed there, such as an override); undefined when its own file cannot be stat'ed.
 */
function projectStamp(project: ProjectRoutes | undefined): string | undefined {
  if (!project || fileStamp(project.file) === undefined) return undefined;
  const dir = path.dirname(project.file);
  const files = new Set([project.file, ...(project.source?.files ?? []), path.join(dir, '.env'), dir]);
  return [...files].map((f) => fileStamp(f) ?? '-').join('|');
}

/** Identifies a version of a file without reading it; undefined when it cannot be stat'ed. */
function fileStamp(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}
