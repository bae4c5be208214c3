/**
 * The compose example (examples/compose-shop) run by the reference, Debian's docker-compose
 * 1.29, and what runs observed the same way for it and for Branchbox, so the two compare
 * (test/integration/compose/compare.test.ts, bench/compose.bench.ts).
 *
 * docker-compose runs `-p <run id> --project-directory <example> -f <copy> -f <labels>`: the
 * copy is the example's compose.yaml with each published port on a free 127.0.0.1 port
 * (docker-compose 1.29 appends an override's `ports` to the file's, it cannot replace them),
 * the override puts `branchbox.test=<run id>` on every service, built image, volume and
 * network, so a label-scoped cleanup finds everything it made.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { parse, stringify } from 'yaml';
import { freePort } from '../../../bench/lib/net';
import { docker, TEST_LABEL } from '../../helpers/docker-fixtures';

export const EXAMPLE_DIR = resolve(__dirname, '../../../examples/compose-shop');
export const EXAMPLE_FILE = join(EXAMPLE_DIR, 'compose.yaml');

interface ComposeService {
  readonly image?: string;
  readonly build?: unknown;
  readonly ports?: readonly string[];
  readonly environment?: Record<string, string>;
  readonly depends_on?: readonly string[] | Record<string, { condition: string }>;
  readonly healthcheck?: unknown;
  readonly volumes?: readonly string[];
}

interface ComposeFile {
  readonly services: Record<string, ComposeService>;
  readonly volumes?: Record<string, unknown>;
}

export const exampleCompose = (): ComposeFile => parse(readFileSync(EXAMPLE_FILE, 'utf8')) as ComposeFile;

/** Each service's dependencies with their condition (the short form means service_started). */
export function dependencies(file: ComposeFile = exampleCompose()): Record<string, Record<string, string>> {
  return Object.fromEntries(
    Object.entries(file.services).map(([name, s]) => {
      const deps = s.depends_on ?? [];
      const pairs = Array.isArray(deps)
        ? deps.map((d: string) => [d, 'service_started'])
        : Object.entries(deps).map(([d, c]) => [d, c.condition]);
      return [name, Object.fromEntries(pairs)];
    }),
  );
}

/** The services meant to run to completion: those another service waits for with service_completed_successfully. */
export function jobs(file: ComposeFile = exampleCompose()): Set<string> {
  return new Set(
    Object.values(dependencies(file)).flatMap((deps) =>
      Object.entries(deps)
        .filter(([, condition]) => condition === 'service_completed_successfully')
        .map(([d]) => d),
    ),
  );
}

/** What one service's container is, as both sides are compared on. */
export interface ServiceRecord {
  readonly service: string;
  readonly status: string;
  readonly exitCode: number;
  /** The Docker health status, or `none` when the container has no health check. */
  readonly health: string;
  /** The variables the compose file declares for the service, as the container has them. */
  readonly environment: Record<string, string>;
  /** Mounts as `<project volume name>:<destination>` (named volumes) or `<type>:<destination>`. */
  readonly mounts: readonly string[];
  readonly startedAt: number;
  readonly finishedAt?: number;
}

/**
 * The record of each container: `serviceOf` tells the service a container is (undefined:
 * skip), `volumeOf` the project volume name of a Docker volume name.
 */
export async function observe(
  containers: readonly Docker.ContainerInfo[],
  serviceOf: (c: Docker.ContainerInfo) => string | undefined,
  volumeOf: (dockerName: string) => string,
): Promise<Record<string, ServiceRecord>> {
  const file = exampleCompose();
  const records: Record<string, ServiceRecord> = {};
  for (const info of containers) {
    const service = serviceOf(info);
    if (service === undefined) continue;
    const c = await docker.getContainer(info.Id).inspect();
    const env = new Map(
      (c.Config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const declared = Object.keys(file.services[service]?.environment ?? {});
    const finished = Date.parse(c.State.FinishedAt);
    records[service] = {
      service,
      status: c.State.Status,
      exitCode: c.State.ExitCode,
      health: c.State.Health?.Status ?? 'none',
      environment: Object.fromEntries(declared.map((k) => [k, env.get(k) ?? '<unset>'])),
      mounts: c.Mounts.map((m) =>
        m.Type === 'volume' && m.Name ? `${volumeOf(m.Name)}:${m.Destination}` : `${m.Type}:${m.Destination}`,
      ).sort(),
      startedAt: Date.parse(c.State.StartedAt),
      ...(finished > 0 && c.State.Status === 'exited' ? { finishedAt: finished } : {}),
    };
  }
  return records;
}

/**
 * What breaks the compose file's dependency order in these records: a service started before
 * a dependency started, or before a job it waits for finished (exit 0).
 */
export function orderProblems(records: Record<string, ServiceRecord>): string[] {
  const problems: string[] = [];
  for (const [service, deps] of Object.entries(dependencies())) {
    const record = records[service];
    if (!record) continue;
    for (const [dep, condition] of Object.entries(deps)) {
      const before = records[dep];
      if (!before) problems.push(`${service} depends on ${dep}, which did not run`);
      else if (before.startedAt > record.startedAt) problems.push(`${service} started before its dependency ${dep}`);
      else if (
        condition === 'service_completed_successfully' &&
        !(before.finishedAt !== undefined && before.finishedAt <= record.startedAt && before.exitCode === 0)
      )
        problems.push(`${service} started before ${dep} completed successfully`);
    }
  }
  return problems;
}

/** The part of the records both sides must agree on: everything but times. */
export const comparable = (records: Record<string, ServiceRecord>) =>
  Object.fromEntries(
    Object.entries(records)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, r]) => [
        name,
        { status: r.status, exitCode: r.exitCode, health: r.health, environment: r.environment, mounts: r.mounts },
      ]),
  );

/** Runs a command (no shell); rejects with its stderr when it fails. */
export function run(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`.trim()));
        else resolvePromise(stdout);
      },
    );
  });
}

/** Waits until every container but the jobs is healthy and every job exited 0 (inspected every `pollMs`); throws on a failure or after `timeoutMs`. */
export async function waitSettled(
  list: () => Promise<Docker.ContainerInfo[]>,
  serviceOf: (c: Docker.ContainerInfo) => string | undefined,
  timeoutMs = 120_000,
  pollMs = 200,
): Promise<void> {
  const file = exampleCompose();
  const jobSet = jobs(file);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting: string[] = [];
    const seen = new Set<string>();
    for (const info of await list()) {
      const service = serviceOf(info);
      if (service === undefined) continue;
      seen.add(service);
      const c = await docker.getContainer(info.Id).inspect();
      if (jobSet.has(service)) {
        if (c.State.Status === 'exited' && c.State.ExitCode !== 0)
          throw new Error(`job ${service} exited ${c.State.ExitCode}`);
        if (c.State.Status !== 'exited') waiting.push(`${service} (${c.State.Status})`);
      } else {
        const health = c.State.Health?.Status;
        if (c.State.Status === 'exited' || health === 'unhealthy')
          throw new Error(`${service} is ${health ?? c.State.Status}`);
        if (health !== 'healthy') waiting.push(`${service} (${health ?? c.State.Status})`);
      }
    }
    for (const name of Object.keys(file.services)) if (!seen.has(name)) waiting.push(`${name} (no container)`);
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not settled after ${timeoutMs} ms: ${waiting.join(', ')}`);
    // Docker reports health changes as events; polling inspect keeps this independent of them.
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** One docker-compose project of the example, labelled with `runId`. */
export interface ComposeReference {
  readonly project: string;
  /** Published container port → the 127.0.0.1 host port it got, per service. */
  readonly ports: Record<string, Record<number, number>>;
  up(): Promise<void>;
  /** Runs docker-compose on this project with these arguments (`down` keeps volumes and images). */
  compose(...args: string[]): Promise<string>;
  containers(): Promise<Docker.ContainerInfo[]>;
  serviceOf(c: Docker.ContainerInfo): string | undefined;
  volumeOf(dockerName: string): string;
  /** docker-compose down -v --rmi local (also after a failed up; once: later calls do nothing). */
  down(): Promise<void>;
}

/** `dir`: a copy of the example to run (default: the example itself); `project`: the compose project name (default: the run id). */
export async function composeReference(
  runId: string,
  opts: { dir?: string; project?: string } = {},
): Promise<ComposeReference> {
  const project = opts.project ?? runId;
  const projectDir = opts.dir ?? EXAMPLE_DIR;
  const file = exampleCompose() as {
    services: Record<string, ComposeService & { ports?: string[] }>;
    volumes?: Record<string, unknown>;
  };
  const ports: Record<string, Record<number, number>> = {};
  for (const [name, service] of Object.entries(file.services)) {
    if (!service.ports) continue;
    ports[name] = {};
    const mapped: string[] = [];
    for (const spec of service.ports) {
      const target = Number(String(spec).split(':').pop());
      const host = await freePort();
      ports[name][target] = host;
      mapped.push(`127.0.0.1:${host}:${target}`);
    }
    service.ports = mapped;
  }
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'bb-compose-ref-')));
  writeFileSync(join(dir, 'compose.yaml'), stringify(file, { version: '1.1' }));
  const labels = { [TEST_LABEL]: runId };
  const override = {
    services: Object.fromEntries(
      Object.entries(file.services).map(([name, s]) => [
        name,
        { labels, ...(s.build !== undefined ? { build: { labels } } : {}) },
      ]),
    ),
    volumes: Object.fromEntries(Object.keys(file.volumes ?? {}).map((v) => [v, { labels }])),
    networks: { default: { labels } },
  };
  writeFileSync(join(dir, 'labels.yaml'), stringify(override, { version: '1.1' }));
  const compose = (...args: string[]) =>
    run('docker-compose', [
      '--ansi',
      'never',
      '-p',
      project,
      '--project-directory',
      projectDir,
      '-f',
      join(dir, 'compose.yaml'),
      '-f',
      join(dir, 'labels.yaml'),
      ...args,
    ]);
  const projectFilter = JSON.stringify({ label: [`com.docker.compose.project=${project}`, `${TEST_LABEL}=${runId}`] });
  const volumePrefix = `${project}_`;
  let downed = false;
  return {
    project,
    ports,
    up: async () => {
      await compose('up', '-d');
    },
    compose,
    containers: () => docker.listContainers({ all: true, filters: projectFilter }),
    serviceOf: (c) => c.Labels['com.docker.compose.service'],
    volumeOf: (name) => (name.startsWith(volumePrefix) ? name.slice(volumePrefix.length) : name),
    down: async () => {
      if (downed) return;
      downed = true;
      try {
        await compose('down', '-v', '--rmi', 'local', '--remove-orphans');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A copy of the example in a temporary folder; `fresh(tag)` makes its sources new to every build cache. */
export function exampleCopy(prefix = 'bb-compose-shop-'): { root: string; fresh(tag: string): void; dispose(): void } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  cpSync(EXAMPLE_DIR, root, { recursive: true });
  return {
    root,
    fresh: (tag) => {
      const nonce = `${tag} ${randomBytes(6).toString('hex')}`;
      for (const [file, comment] of [
        ['api/server.js', '//'],
        ['web/server.js', '//'],
        ['migrations/migrate.sh', '#'],
      ] as const) {
        const path = join(root, file);
        const text = readFileSync(path, 'utf8').replace(/\n(\/\/|#) bench .*\n$/, '\n');
        writeFileSync(path, `${text}${comment} bench ${nonce}\n`);
      }
    },
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A copy of the example as a git repository: `commit()` commits what changed (the first commit is made). */
export function exampleRepo(): {
  root: string;
  fresh(tag: string): void;
  commit(message: string): string;
  dispose(): void;
} {
  const copy = exampleCopy('bb-compose-repo-');
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: copy.root, LC_ALL: 'C' };
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      [
        '-C',
        copy.root,
        '-c',
        'user.name=Branchbox Test',
        '-c',
        'user.email=test@branchbox.invalid',
        '-c',
        'commit.gpgsign=false',
        ...args,
      ],
      {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  const commit = (message: string) => {
    git('add', '--all');
    git('commit', '--quiet', '--no-verify', '--allow-empty', '-m', message);
    return git('rev-parse', 'HEAD').trim();
  };
  git('init', '--quiet', '--initial-branch=main');
  commit('compose-shop');
  return { ...copy, commit };
}
