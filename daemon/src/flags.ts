/**
 * Every flag branchboxd accepts, in one table: `config.ts` parses exactly these, `--help` is
 * written from them, and a unit test checks the README's table of flags against them — a flag
 * cannot be added to one and forgotten in the others.
 */
import { DEFAULT_EXPIRY_INTERVAL_MS, DEFAULT_EXPIRY_WARNING_MS } from './lifecycle/expiry';
import { DEFAULT_HEALTH_INTERVAL_MS } from './lifecycle/health-monitor';
import { DEFAULT_RESTART_POLICY } from './lifecycle/health-state';
import { DEFAULT_KEEP_IMAGES } from './lifecycle/image-reaper';
import { DEFAULT_ORPHAN_GRACE_MS, DEFAULT_RECONCILE_INTERVAL_MS } from './lifecycle/reconciler';
import { DEFAULT_PORT_RANGES } from './sandbox/ports';

/** The documented default WebSocket port; a free one is used when it is taken. */
export const DEFAULT_PORT = 47815;
export const DEFAULT_HEARTBEAT_MS = 30_000;
/** The documented default port of the shared gateway (routes by header to any sandbox). */
export const DEFAULT_SHARED_GATEWAY_PORT = 41080;

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The placeholder of the value in help, e.g. `N` for `--port N`. */
  readonly value?: string;
  /** The environment variable read when the flag is absent. */
  readonly env?: string;
  /** What the flag does, its default included; one sentence or two, wrapped by {@link usage}. */
  readonly help: string;
}

const range = (r: { from: number; to: number }) => `${r.from}-${r.to}`;

export const DAEMON_FLAGS = {
  'state-dir': {
    type: 'string',
    value: 'DIR',
    env: 'BRANCHBOX_STATE_DIR',
    help: 'state directory; default $XDG_STATE_HOME/branchbox, else ~/.local/state/branchbox',
  },
  port: {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_PORT',
    help: `WebSocket port on 127.0.0.1; default ${DEFAULT_PORT}, falling back to a free port when taken; 0 = any free port`,
  },
  stdio: {
    type: 'boolean',
    help: 'serve the protocol on stdin/stdout (Content-Length framing); when a daemon already owns the state directory, bridge to it instead',
  },
  'log-level': { type: 'string', value: 'LEVEL', env: 'BRANCHBOX_LOG_LEVEL', help: 'trace|debug|info|warn|error; default info' },
  'log-stderr': { type: 'boolean', help: 'also write log lines to stderr' },
  'allow-origin': {
    type: 'string',
    multiple: true,
    value: 'URL',
    env: 'BRANCHBOX_ALLOWED_ORIGINS',
    help: 'allow WebSocket connections from this browser Origin (repeatable; the environment variable is comma-separated)',
  },
  'docker-host': { type: 'string', value: 'URL', help: 'Docker engine to use; default DOCKER_HOST, else the docker context, else the socket' },
  'heartbeat-ms': {
    type: 'string',
    value: 'N',
    help: `ping each WebSocket client every N ms and drop one that did not answer the previous ping (at least 100); default ${DEFAULT_HEARTBEAT_MS}`,
  },
  'gateway-port': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_GATEWAY_PORT',
    help: `the shared gateway's port on 127.0.0.1, or "off"; default ${DEFAULT_SHARED_GATEWAY_PORT}, falling back to a free port when taken`,
  },
  'service-ports': {
    type: 'string',
    value: 'A-B',
    env: 'BRANCHBOX_SERVICE_PORTS',
    help: `range of the 127.0.0.1 ports published service ports get; default ${range(DEFAULT_PORT_RANGES.service)}`,
  },
  'gateway-ports': {
    type: 'string',
    value: 'A-B',
    env: 'BRANCHBOX_GATEWAY_PORTS',
    help: `range of the sandbox gateways' ports; default ${range(DEFAULT_PORT_RANGES.gateway)}`,
  },
  label: {
    type: 'string',
    multiple: true,
    value: 'K=V',
    env: 'BRANCHBOX_EXTRA_LABELS',
    help: "add this label to every Docker object created (repeatable; the environment variable is comma-separated); like the daemon's own branchbox.instance label, only objects carrying it are reaped",
  },
  'health-interval-ms': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_HEALTH_INTERVAL_MS',
    help: `check the health of serving containers every N ms; default ${DEFAULT_HEALTH_INTERVAL_MS}`,
  },
  'health-max-restarts': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_HEALTH_MAX_RESTARTS',
    help: `restarts of an unhealthy container before it is left alone; default ${DEFAULT_RESTART_POLICY.maxRestarts}`,
  },
  'health-backoff-ms': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_HEALTH_BACKOFF_MS',
    help: `wait before the 2nd restart, doubling after; default ${DEFAULT_RESTART_POLICY.backoffMs}`,
  },
  'reconcile-interval-ms': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_RECONCILE_INTERVAL_MS',
    help: `compare state with Docker's labels every N ms, besides at start and on engine reconnect; default ${DEFAULT_RECONCILE_INTERVAL_MS}`,
  },
  'orphan-grace-ms': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_ORPHAN_GRACE_MS',
    help: `remove labelled containers, networks and volumes of no sandbox, and built images the retention does not keep, once seen for N ms; default ${DEFAULT_ORPHAN_GRACE_MS}`,
  },
  'keep-images': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_KEEP_IMAGES',
    help: `keep the images of each service's N newest deployments in a sandbox, besides those in use; default ${DEFAULT_KEEP_IMAGES}`,
  },
  'expiry-interval-ms': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_EXPIRY_INTERVAL_MS',
    help: `check TTL policies every N ms; default ${DEFAULT_EXPIRY_INTERVAL_MS}`,
  },
  'expiry-warning-ms': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_EXPIRY_WARNING_MS',
    help: `warn N ms before a sandbox expires; default ${DEFAULT_EXPIRY_WARNING_MS}`,
  },
  'sandbox-cpus': {
    type: 'string',
    value: 'N',
    env: 'BRANCHBOX_SANDBOX_CPUS',
    help: "refuse deploys that would make one sandbox's containers add up to more than N CPUs; default: no limit",
  },
  'sandbox-memory': {
    type: 'string',
    value: 'SIZE',
    env: 'BRANCHBOX_SANDBOX_MEMORY',
    help: 'the same for memory, e.g. 2g; default: no limit',
  },
  'host-memory-threshold': {
    type: 'string',
    value: 'F',
    env: 'BRANCHBOX_HOST_MEMORY_THRESHOLD',
    help: 'refuse deploys that would push host memory use above this fraction; default 0.95; 1 = off',
  },
  version: { type: 'boolean', help: 'print the version' },
  help: { type: 'boolean', help: 'print this help' },
} as const satisfies Readonly<Record<string, FlagSpec>>;

export type DaemonFlag = keyof typeof DAEMON_FLAGS;

const WIDTH = 100;
const COLUMN = 28;

/** `--name VALUE`, as help and the README write a flag. */
export function flagSynopsis(name: string, flag: FlagSpec): string {
  return flag.value ? `--${name} ${flag.value}` : `--${name}`;
}

/** Words wrapped to `width` columns. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}

/** branchboxd's `--help`, written from {@link DAEMON_FLAGS}. */
export function usage(flags: Readonly<Record<string, FlagSpec>> = DAEMON_FLAGS): string {
  const options = Object.entries(flags).flatMap(([name, flag]) => {
    const synopsis = `  ${flagSynopsis(name, flag)}`;
    const text = flag.env ? `${flag.help} (env ${flag.env})` : flag.help;
    const [first = '', ...rest] = wrap(text, WIDTH - COLUMN);
    const head = synopsis.length < COLUMN ? synopsis.padEnd(COLUMN) + first : `${synopsis}\n${' '.repeat(COLUMN)}${first}`;
    return [head, ...rest.map((l) => ' '.repeat(COLUMN) + l)];
  });
  return `Usage: branchboxd [options]

The Branchbox daemon: owns Docker access and all state, speaks JSON-RPC 2.0 over
WebSocket on 127.0.0.1 (token in the runtime file) and, with --stdio, over stdin/stdout.
A flag wins over its environment variable, which wins over the default.

Options:
${options.join('\n')}
`;
}
