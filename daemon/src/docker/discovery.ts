/**
 * Finding the Docker engine, as an ordered list of strategies (after testcontainers-node):
 * the `dockerHost` setting, `DOCKER_HOST`, the current docker context, the default socket.
 * The first that applies is the only one tried, as the docker CLI does: a configured engine
 * that does not answer is reported, never silently replaced by another one (deploying to the
 * local engine when `DOCKER_HOST` names a remote one would be a surprise). Each strategy
 * proposes dockerode options and a printable endpoint; {@link DockerUnavailableError} names
 * what was tried and why it failed.
 */
import Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { guardEnginePaths } from './dockerode/path-guard';

export const DEFAULT_SOCKET = '/var/run/docker.sock';
export const DEFAULT_PING_TIMEOUT_MS = 3000;

/** What discovery reads: the process's environment and home by default, injectable for tests. */
export interface DiscoveryContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
}

/** A way to reach an engine that a strategy proposes. */
export interface EngineCandidate {
  readonly strategy: string;
  /** Printable, e.g. `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2376 (TLS)`, `ssh://me@host:22`. */
  readonly endpoint: string;
  readonly options: Docker.DockerOptions;
}

export interface DiscoveryStrategy {
  readonly name: string;
  /**
   * The candidate this strategy proposes; undefined when it does not apply (e.g. `DOCKER_HOST`
   * unset). Throws when it applies but its configuration is broken (e.g. a missing cert file).
   */
  candidate(ctx: DiscoveryContext): Promise<EngineCandidate | undefined>;
}

/** One strategy that applied and did not reach an engine. */
export interface TriedStrategy {
  readonly strategy: string;
  readonly endpoint: string;
  readonly error: string;
}

/** A step of the plan: a candidate to ping, or a strategy that failed before it could be pinged. */
export type PlannedAttempt = EngineCandidate | TriedStrategy;

/** No strategy reached an engine. The message names each one tried and why it failed. */
export class DockerUnavailableError extends Error {
  constructor(
    readonly tried: readonly TriedStrategy[],
    advice = 'Start Docker or set DOCKER_HOST.',
  ) {
    super(
      tried.length === 0
        ? `No Docker engine answered: no strategy applied. ${advice}`
        : `No Docker engine answered. Tried: ${tried.map(describeAttempt).join('; ')}. ${advice}`,
    );
    this.name = 'DockerUnavailableError';
  }
}

/** The engine discovery found. */
export interface DiscoveredEngine {
  readonly strategy: string;
  readonly endpoint: string;
  readonly docker: Docker;
}

export interface DiscoverOptions {
  /** The Docker host setting (e.g. `tcp://host:2375`); when given, the only strategy tried. */
  readonly dockerHost?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly homeDir?: string;
  /** Replaces the default strategy list (tests). */
  readonly strategies?: readonly DiscoveryStrategy[];
  readonly pingTimeoutMs?: number;
}

/** dockerode's `ping` takes an `abortSignal`, which @types/dockerode does not declare. */
interface AbortablePing {
  ping(opts: { abortSignal: AbortSignal }): Promise<unknown>;
}

/** Tries the planned engine; resolves with it once it answers `ping`. */
export async function discoverEngine(opts: DiscoverOptions = {}): Promise<DiscoveredEngine> {
  const tried: TriedStrategy[] = [];
  const timeoutMs = opts.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  for (const attempt of await planDiscovery(opts)) {
    if (!('options' in attempt)) {
      tried.push(attempt);
      continue;
    }
    try {
      const docker = guardEnginePaths(new Docker(attempt.options));
      await (docker as unknown as AbortablePing).ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
      return { strategy: attempt.strategy, endpoint: attempt.endpoint, docker };
    } catch (e) {
      tried.push({ strategy: attempt.strategy, endpoint: attempt.endpoint, error: reasonOf(e, timeoutMs) });
    }
  }
  throw new DockerUnavailableError(tried, adviceFor(tried[0]?.strategy));
}

/**
 * What discovery would try, without contacting anything: the first strategy that applies (a
 * candidate, or its configuration error). Empty when none applies (only with custom strategies).
 */
export async function planDiscovery(opts: DiscoverOptions = {}): Promise<PlannedAttempt[]> {
  const ctx: DiscoveryContext = { env: opts.env ?? process.env, homeDir: opts.homeDir ?? homedir() };
  const strategies = opts.strategies ?? defaultStrategies(opts.dockerHost);
  for (const strategy of strategies) {
    try {
      const candidate = await strategy.candidate(ctx);
      if (candidate) return [candidate];
    } catch (e) {
      const known = e instanceof StrategyError ? e : undefined;
      return [{ strategy: known?.strategy ?? strategy.name, endpoint: known?.endpoint ?? '', error: reasonOf(e) }];
    }
  }
  return [];
}

/** What to do when the engine `strategy` names does not answer. */
function adviceFor(strategy: string | undefined): string {
  if (strategy === 'Docker host setting') return 'Start Docker or correct the Docker host setting.';
  if (strategy === 'DOCKER_HOST') return 'Start that engine, or correct or unset DOCKER_HOST.';
  if (strategy?.startsWith('docker context')) return 'Start that engine, or switch context (docker context use default).';
  return 'Start Docker or set DOCKER_HOST.';
}

/** The strategies in order: only the setting when there is one, else DOCKER_HOST, docker context, default socket. */
export function defaultStrategies(dockerHost?: string): DiscoveryStrategy[] {
  if (dockerHost) return [settingStrategy(dockerHost)];
  return [dockerHostStrategy, dockerContextStrategy, defaultSocketStrategy];
}

/** The user's Docker host setting: a `DOCKER_HOST`-style URL, TLS as `DOCKER_TLS_VERIFY` says. */
export function settingStrategy(dockerHost: string): DiscoveryStrategy {
  return {
    name: 'Docker host setting',
    candidate: (ctx) =>
      atEndpoint('Docker host setting', dockerHost, async () =>
        hostCandidate('Docker host setting', dockerHost, ctx, await envTls(ctx)),
      ),
  };
}

/** `DOCKER_HOST`: unix://, tcp:// (TLS with `DOCKER_TLS_VERIFY`, certs from `DOCKER_CERT_PATH`), ssh://. */
export const dockerHostStrategy: DiscoveryStrategy = {
  name: 'DOCKER_HOST',
  async candidate(ctx) {
    const host = ctx.env.DOCKER_HOST;
    if (!host) return undefined;
    return atEndpoint('DOCKER_HOST', host, async () => hostCandidate('DOCKER_HOST', host, ctx, await envTls(ctx)));
  },
};

/**
 * The current docker context (`DOCKER_CONTEXT`, else `currentContext` of the docker config),
 * read from `<config dir>/contexts/meta/<sha256 of the name>/meta.json`, with TLS files from
 * `<config dir>/contexts/tls/<sha256>/docker/` when present. `default` does not apply.
 */
export const dockerContextStrategy: DiscoveryStrategy = {
  name: 'docker context',
  async candidate(ctx) {
    const dir = configDir(ctx);
    const name =
      ctx.env.DOCKER_CONTEXT || (await readJson(join(dir, 'config.json')).catch(() => undefined))?.currentContext;
    if (typeof name !== 'string' || name === '' || name === 'default') return undefined;
    const strategy = `docker context "${name}"`;
    const hash = createHash('sha256').update(name).digest('hex');
    const metaPath = join(dir, 'contexts', 'meta', hash, 'meta.json');
    const meta = await readJson(metaPath).catch((e: unknown) => {
      throw new StrategyError(`cannot read ${metaPath} (${reasonOf(e)})`, '', strategy);
    });
    const host = dockerEndpointHost(meta);
    if (!host) throw new StrategyError(`${metaPath} has no Endpoints.docker.Host`, '', strategy);
    const tlsDir = join(dir, 'contexts', 'tls', hash, 'docker');
    return atEndpoint(strategy, host, async () =>
      hostCandidate(strategy, host, ctx, existsSync(tlsDir) ? await readTls(tlsDir) : undefined),
    );
  },
};

/** The engine's default unix socket. */
export const defaultSocketStrategy: DiscoveryStrategy = {
  name: 'default socket',
  candidate: async () => ({
    strategy: 'default socket',
    endpoint: `unix://${DEFAULT_SOCKET}`,
    options: explicit({ socketPath: DEFAULT_SOCKET }),
  }),
};

/** A strategy's configuration failed; carries the endpoint when it was known. */
class StrategyError extends Error {
  constructor(
    message: string,
    readonly endpoint: string,
    readonly strategy?: string,
  ) {
    super(message);
  }
}

/** Runs a strategy step, attributing any configuration failure to `strategy` at `endpoint`. */
async function atEndpoint<T>(strategy: string, endpoint: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw new StrategyError(
      e instanceof Error ? e.message : String(e),
      (e instanceof StrategyError && e.endpoint) || endpoint,
      strategy,
    );
  }
}

interface TlsFiles {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Turns a `DOCKER_HOST`-style URL into dockerode options. */
function hostCandidate(
  strategy: string,
  host: string,
  ctx: DiscoveryContext,
  tls: TlsFiles | undefined,
): EngineCandidate {
  const url = host.includes('://') ? host : `tcp://${host}`;
  const scheme = url.slice(0, url.indexOf('://')).toLowerCase();
  if (scheme === 'unix') {
    const socketPath = url.slice('unix://'.length) || DEFAULT_SOCKET;
    return { strategy, endpoint: `unix://${socketPath}`, options: explicit({ socketPath }) };
  }
  if (scheme === 'npipe') {
    if (process.platform !== 'win32') throw new StrategyError('npipe:// only exists on Windows', url);
    const socketPath = url.slice('npipe://'.length) || '//./pipe/docker_engine';
    return { strategy, endpoint: url, options: explicit({ socketPath }) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StrategyError(`"${host}" is not a Docker host URL (unix://, tcp://host:port or ssh://user@host)`, host);
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!hostname) throw new StrategyError(`"${host}" names no host`, host);
  if (scheme === 'ssh') {
    const port = Number(parsed.port || 22);
    const username = decodeURIComponent(parsed.username) || undefined;
    const agent = ctx.env.SSH_AUTH_SOCK;
    return {
      strategy,
      endpoint: `ssh://${username ? `${username}@` : ''}${parsed.host.replace(/:\d+$/, '')}:${port}`,
      options: explicit({ protocol: 'ssh', host: hostname, port, username, sshOptions: agent ? { agent } : {} }),
    };
  }
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'https') {
    throw new StrategyError(`unsupported scheme "${scheme}://" in "${host}"`, host);
  }
  const useTls = scheme === 'https' || tls !== undefined;
  if (scheme === 'https' && !tls)
    throw new StrategyError(`${host} needs TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH`, host);
  const port = Number(parsed.port || (useTls ? 2376 : 2375));
  const endpoint = `tcp://${parsed.host.replace(/:\d+$/, '')}:${port}${useTls ? ' (TLS)' : ''}`;
  return {
    strategy,
    endpoint,
    options: explicit(
      tls ? { protocol: 'https', host: hostname, port, ...tls } : { protocol: 'http', host: hostname, port },
    ),
  };
}

/**
 * docker-modem merges its own reading of the real environment (DOCKER_HOST, DOCKER_CERT_PATH,
 * DOCKER_CLIENT_TIMEOUT) under the options it is given; naming every such key keeps the
 * chosen strategy's options the only ones in effect (a client timeout would also cut the
 * long-lived event stream).
 */
function explicit(options: Docker.DockerOptions): Docker.DockerOptions {
  return {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    username: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    timeout: undefined,
    ...options,
  };
}

/** TLS files when `DOCKER_TLS_VERIFY` is set (any value but empty or 0), from `DOCKER_CERT_PATH` or the config dir. */
async function envTls(ctx: DiscoveryContext): Promise<TlsFiles | undefined> {
  const verify = ctx.env.DOCKER_TLS_VERIFY;
  if (!verify || verify === '0') return undefined;
  return readTls(ctx.env.DOCKER_CERT_PATH || configDir(ctx));
}

async function readTls(dir: string): Promise<TlsFiles> {
  const read = (file: string) =>
    readFile(join(dir, file)).catch((e: unknown) => {
      throw new StrategyError(`cannot read ${join(dir, file)} (${reasonOf(e)})`, '');
    });
  return { ca: await read('ca.pem'), cert: await read('cert.pem'), key: await read('key.pem') };
}

function configDir(ctx: DiscoveryContext): string {
  return ctx.env.DOCKER_CONFIG || join(ctx.homeDir, '.docker');
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  const value: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (typeof value !== 'object' || value === null) throw new Error(`${path} is not a JSON object`);
  return value as Record<string, unknown>;
}

function dockerEndpointHost(meta: Record<string, unknown>): string | undefined {
  const endpoints = meta.Endpoints;
  if (typeof endpoints !== 'object' || endpoints === null) return undefined;
  const docker = (endpoints as Record<string, unknown>).docker;
  if (typeof docker !== 'object' || docker === null) return undefined;
  const host = (docker as Record<string, unknown>).Host;
  return typeof host === 'string' && host !== '' ? host : undefined;
}

function describeAttempt(t: TriedStrategy): string {
  if (t.strategy === 'DOCKER_HOST') return `DOCKER_HOST=${t.endpoint || '?'} (${t.error})`;
  if (t.strategy === 'default socket') return `default socket ${t.endpoint.replace(/^unix:\/\//, '')} (${t.error})`;
  return `${t.strategy}${t.endpoint ? ` ${t.endpoint}` : ''} (${t.error})`;
}

/** A short reason: the errno code when there is one (ECONNREFUSED, ENOENT, EACCES...), else the message. */
function reasonOf(e: unknown, timeoutMs?: number): string {
  if (e instanceof Error) {
    if ((e.name === 'TimeoutError' || e.name === 'AbortError') && timeoutMs !== undefined) {
      return `no answer within ${timeoutMs / 1000} s`;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    return e.message.trim();
  }
  return String(e);
}
