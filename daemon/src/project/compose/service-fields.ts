/**
 * The compose syntaxes of single service fields, each read into the normalized model or a
 * plain Error whose message says what is wrong: ports (short and long), expose, volume mounts
 * (short and long), durations as Go writes them (`1m30s`), restart policies, healthchecks.
 */
import * as path from 'node:path';
import type { DockerHealthcheck, PortMapping, RestartPolicy, VolumeMount } from '../../../../schemas/src/project';
import { insideRepo } from '../normalize';

type Data = Record<string, unknown>;
const isMap = (value: unknown): value is Data => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The most ports one range may name (a range is expanded into one mapping per port). */
export const MAX_PORT_RANGE = 100;

function portNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a ${what}`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new Error(`${what} ${n} is not between 1 and 65535`);
  return n;
}

function portRange(text: string, what: string): number[] {
  const [from, to] = text.split('-');
  const start = portNumber(from!, what);
  const end = to === undefined ? start : portNumber(to, what);
  if (end < start) throw new Error(`the ${what} range ${text} ends before it starts`);
  if (end - start + 1 > MAX_PORT_RANGE) throw new Error(`the ${what} range ${text} has more than ${MAX_PORT_RANGE} ports`);
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}

function protocolOf(text: string | undefined): 'tcp' | 'udp' {
  if (text === undefined || text === 'tcp') return 'tcp';
  if (text === 'udp') return 'udp';
  throw new Error(`protocol "${text}" is not supported (tcp or udp)`);
}

/**
 * One `ports` entry: `"8080"`, `"5432:5432"`, `"127.0.0.1:80:80"`, `"[::1]:80:80"`,
 * `"9000-9002:9000-9002"`, `"53:53/udp"`, a number, or `{target, published, protocol, host_ip}`.
 * The host address is not kept: every published port is bound on loopback, allocated per sandbox.
 */
export function parsePort(entry: unknown): PortMapping[] {
  if (typeof entry === 'number') return [{ container: portNumber(String(entry), 'container port'), protocol: 'tcp' }];
  if (isMap(entry)) {
    const container = portNumber(String(entry.target ?? ''), 'container port');
    const protocol = protocolOf(entry.protocol as string | undefined);
    if (entry.mode !== undefined && entry.mode !== 'host' && entry.mode !== 'ingress') throw new Error(`mode "${String(entry.mode)}" is not host or ingress`);
    if (entry.published === undefined || entry.published === '') return [{ container, protocol }];
    const published = portRange(String(entry.published), 'host port');
    return [{ container, protocol, published: published[0]! }];
  }
  if (typeof entry !== 'string') throw new Error('must be a port string, a number or a mapping');
  const [spec, proto, extra] = entry.split('/');
  if (extra !== undefined) throw new Error(`"${entry}" has more than one "/"`);
  const protocol = protocolOf(proto);
  let rest = spec!;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) throw new Error(`"${entry}" has an IPv6 address without "]:"`);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  if (parts.length > 3) throw new Error(`"${entry}" is not [host_ip:][host_port:]container_port[/protocol]`);
  const containerPart = parts[parts.length - 1]!;
  const hostPart = parts.length >= 2 ? parts[parts.length - 2]! : '';
  const containers = portRange(containerPart, 'container port');
  if (hostPart === '') return containers.map((container) => ({ container, protocol }));
  const hosts = portRange(hostPart, 'host port');
  if (hosts.length !== containers.length && hosts.length !== 1) {
    throw new Error(`"${entry}" maps ${hosts.length} host ports to ${containers.length} container ports`);
  }
  return containers.map((container, i) => ({ container, protocol, published: hosts.length === 1 ? hosts[0]! : hosts[i]! }));
}

/** One `expose` entry: `"3000"`, `"3000-3002"`, `"3000/tcp"`, or a number. */
export function parseExpose(entry: unknown): number[] {
  const text = String(entry);
  const [spec, proto] = text.split('/');
  protocolOf(proto);
  return portRange(spec!, 'port');
}

/** What a mount's source must satisfy, and where relative paths start. */
export interface MountContext {
  /** Absolute path of the repository root. */
  readonly root: string;
  /** Absolute path of the folder relative paths start from (the first compose file's). */
  readonly projectDir: string;
  /** The project's declared volumes. */
  readonly volumes: ReadonlySet<string>;
}

export const BIND_OUTSIDE = 'bind mounts outside the repository are refused: mount a relative path inside the repository (./data), or use a named volume';

function bindSource(source: string, ctx: MountContext): string {
  if (path.isAbsolute(source) || source.startsWith('~')) throw new Error(`${BIND_OUTSIDE} ("${source}")`);
  const relative = path.relative(ctx.root, path.resolve(ctx.projectDir, source)).split(path.sep).join('/') || '.';
  if (!insideRepo(relative)) throw new Error(`${BIND_OUTSIDE} ("${source}")`);
  return relative;
}

function absoluteTarget(target: string): string {
  if (!target.startsWith('/')) throw new Error(`the mount target "${target}" is not an absolute path in the container`);
  return target;
}

function namedVolume(source: string, ctx: MountContext): string {
  if (!ctx.volumes.has(source)) {
    throw new Error(`the volume "${source}" is not declared under the top-level volumes: (declared: ${[...ctx.volumes].sort().join(', ') || 'none'})`);
  }
  return source;
}

const isPathLike = (source: string) => source.startsWith('.') || source.startsWith('/') || source.startsWith('~');

/** One `volumes` entry of a service: `"data:/var/lib/x[:ro]"`, `"./src:/app:ro"`, `"/cache"`, or the long syntax. */
export function parseMount(entry: unknown, ctx: MountContext): VolumeMount {
  if (typeof entry === 'string') {
    const parts = entry.split(':');
    if (parts.length === 1) return { type: 'volume', target: absoluteTarget(parts[0]!), readOnly: false };
    if (parts.length > 3) throw new Error(`"${entry}" is not source:target[:mode]`);
    const [source, target, mode] = parts as [string, string, string | undefined];
    const options = (mode ?? '').split(',').filter(Boolean);
    for (const option of options) {
      if (!['ro', 'rw', 'z', 'Z', 'nocopy'].includes(option)) throw new Error(`the mount mode "${option}" is not ro or rw`);
    }
    const readOnly = options.includes('ro');
    if (isPathLike(source)) return { type: 'bind', source: bindSource(source, ctx), target: absoluteTarget(target), readOnly };
    return { type: 'volume', source: namedVolume(source, ctx), target: absoluteTarget(target), readOnly };
  }
  if (!isMap(entry)) throw new Error('must be a mount string or a mapping');
  const target = absoluteTarget(String(entry.target ?? ''));
  const readOnly = entry.read_only === true;
  const source = typeof entry.source === 'string' && entry.source !== '' ? entry.source : undefined;
  switch (entry.type) {
    case 'bind':
      if (!source) throw new Error('a bind mount needs a source');
      return { type: 'bind', source: bindSource(source, ctx), target, readOnly };
    case 'volume':
      return source ? { type: 'volume', source: namedVolume(source, ctx), target, readOnly } : { type: 'volume', target, readOnly };
    case 'tmpfs':
      return { type: 'tmpfs', target, readOnly: false };
    default:
      throw new Error(`mount type "${String(entry.type)}" is not supported (volume, bind or tmpfs)`);
  }
}

const GO_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as compose writes it (Go's syntax: `1m30s`, `500ms`, `2h`), in whole milliseconds. */
export function parseGoDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length) throw new Error(`"${text}" is not a duration such as 10s, 1m30s or 500ms`);
  return Math.round(total);
}

/** `no`, `always`, `on-failure[:n]`, `unless-stopped`. */
export function parseRestart(text: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw new Error(`"${text}" is not a restart policy: no, always, on-failure[:retries] or unless-stopped`);
  }
  const name = m[1] as RestartPolicy['name'];
  return m[2] === undefined ? { name } : { name, maximumRetryCount: Number(m[2]) };
}

/** A compose healthcheck as the engine takes it; `disable: true` and `test: ["NONE"]` disable the image's. */
export function parseHealthcheck(spec: Data): DockerHealthcheck {
  if (spec.disable === true) return { test: ['NONE'] };
  const test = spec.test;
  let argv: string[];
  if (typeof test === 'string') argv = ['CMD-SHELL', test];
  else if (Array.isArray(test) && test.length > 0) argv = test.map(String);
  else throw new Error('needs a test (or disable: true)');
  const kind = argv[0];
  if (kind === 'NONE') return { test: ['NONE'] };
  if (kind !== 'CMD' && kind !== 'CMD-SHELL') throw new Error(`test must start with CMD, CMD-SHELL or NONE, not "${kind}"`);
  if (argv.length < 2) throw new Error(`test ${kind} needs a command`);
  if (kind === 'CMD-SHELL' && argv.length > 2) argv = ['CMD-SHELL', argv.slice(1).join(' ')];
  const ms = (key: string) => (typeof spec[key] === 'string' ? parseGoDuration(spec[key]) : undefined);
  const intervalMs = ms('interval');
  const timeoutMs = ms('timeout');
  const startPeriodMs = ms('start_period');
  return {
    test: argv,
    ...(intervalMs !== undefined ? { intervalMs } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(typeof spec.retries === 'number' ? { retries: spec.retries } : {}),
    ...(startPeriodMs !== undefined ? { startPeriodMs } : {}),
  };
}
