/**
 * Finds the daemon, and starts it when none runs. A local daemon is found through
 * `<stateDir>/runtime.json` (`{port, token, pid, version}`, written by branchboxd); a daemon
 * elsewhere through an explicit address and token file. Starting runs the bundled
 * `dist/branchboxd.js` on the system's Node.js (never the extension host's Electron: the
 * native SQLite module is built for system Node), detached, so it outlives the window and is
 * shared with every other client.
 *
 * No `vscode` here: settings arrive as plain values.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { readLockPid } from '../../schemas/node/lock-file';
import { isProcessAlive } from '../../schemas/node/process-liveness';
import { RUNTIME_FILE_NAME, readRuntimeFile as readDaemonRuntimeFile, type RuntimeInfo } from '../../schemas/node/runtime-file';
import { resolveStateDir as resolveDaemonStateDir } from '../../schemas/node/state-dir';
import { STATE_FILES } from '../../schemas/node/state-files';

export { RUNTIME_FILE_NAME, type RuntimeInfo };
export { isProcessAlive };
export const LOG_FILE_NAME = STATE_FILES.log;
/** What the started daemon prints to stderr (its banner, or why it could not start). */
export const STDERR_FILE_NAME = STATE_FILES.daemonStderr;

/** Where and how to reach one running daemon. */
export interface DaemonEndpoint {
  readonly url: string;
  readonly token: string;
  /** The daemon's process, when it runs on this machine. */
  readonly pid?: number;
  readonly version?: string;
}

/** A place a daemon runs: this machine's state directory, or an address given by the user. */
export interface DaemonHost {
  /** For messages: "branchboxd of /home/me/.local/state/branchbox" or the address. */
  readonly description: string;
  /** Whether `start()` can start a daemon here. */
  readonly canStart: boolean;
  /** Where the daemon's log file is, when it is on this machine. */
  readonly logFile: string | undefined;
  /** The running daemon, or undefined when none runs. */
  find(): Promise<DaemonEndpoint | undefined>;
  /** Starts a daemon and resolves once it is ready for connections. */
  start(): Promise<DaemonEndpoint>;
  /** Whether the daemon of `endpoint` still runs (true when that cannot be known). */
  isRunning(endpoint: DaemonEndpoint): boolean;
  /** Waits up to `graceMs` for the daemon to exit by itself, then terminates it. */
  stop(endpoint: DaemonEndpoint, graceMs: number): Promise<void>;
}

/** Finding or starting the daemon failed in a way retrying will not fix (e.g. no Node.js). */
export class DaemonStartError extends Error {
  constructor(
    message: string,
    /** Retrying cannot help: the user must change something. */
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DaemonStartError';
  }
}

/** The state directory, as branchboxd resolves it, with the extension setting first. */
export function resolveStateDir(setting: string | undefined, env: NodeJS.ProcessEnv, home: string = homedir()): string {
  return resolveDaemonStateDir(setting, env, { home });
}

/** `<stateDir>/runtime.json`, or undefined when there is none or it is unusable. */
export function readRuntimeFile(stateDir: string): RuntimeInfo | undefined {
  try {
    return readDaemonRuntimeFile(stateDir);
  } catch {
    return undefined; // unreadable or malformed (a foreign tool's): the daemon rewrites it atomically
  }
}

function lastLines(file: string, count: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '';
  }
}

/**
 * Resolves with the first non-undefined `check()`, re-checked whenever something changes in
 * `dir` (and every `fallbackMs`, for file systems whose change events get lost); rejects
 * with `onTimeout()` after `timeoutMs`, or when `failed` rejects.
 */
export function watchDirectoryUntil<T>(
  dir: string,
  check: () => T | undefined,
  opts: { timeoutMs: number; onTimeout: () => Error; failed?: Promise<never>; fallbackMs?: number },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let watcher: fs.FSWatcher | undefined;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      watcher?.close();
      clearInterval(fallback);
      clearTimeout(timer);
      fn();
    };
    const test = () => {
      if (settled) return;
      let value: T | undefined;
      try {
        value = check();
      } catch (e) {
        return finish(() => reject(e));
      }
      if (value !== undefined) finish(() => resolve(value));
    };
    try {
      watcher = fs.watch(dir, test);
      watcher.on('error', () => undefined); // the fallback keeps checking
    } catch {
      // The directory cannot be watched (or vanished); the fallback checks instead.
    }
    const fallback = setInterval(test, opts.fallbackMs ?? 1_000);
    const timer = setTimeout(() => finish(() => reject(opts.onTimeout())), opts.timeoutMs);
    opts.failed?.catch((e: unknown) => finish(() => reject(e)));
    test();
  });
}

export interface LocalDaemonOptions {
  readonly stateDir: string;
  /** Start a daemon when none runs. */
  readonly autoStart: boolean;
  /** The Node.js to run the daemon with (`node` from PATH by default). */
  readonly nodePath: string;
  /** The daemon's script: `<extension>/dist/branchboxd.js`. */
  readonly daemonScript: string;
  /** Passed as `--docker-host`. */
  readonly dockerHost?: string;
  /** Extra arguments (tests). */
  readonly extraArgs?: readonly string[];
  /** How long a starting daemon may take to write its runtime file. */
  readonly startTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const DEFAULT_START_TIMEOUT_MS = 15_000;

/** The daemon of a state directory on this machine. */
export class LocalDaemonHost implements DaemonHost {
  readonly description: string;
  readonly logFile: string;

  constructor(readonly options: LocalDaemonOptions) {
    this.description = `branchboxd of ${options.stateDir}`;
    this.logFile = path.join(options.stateDir, LOG_FILE_NAME);
  }

  get canStart(): boolean {
    return this.options.autoStart;
  }

  async find(): Promise<DaemonEndpoint | undefined> {
    const info = readRuntimeFile(this.options.stateDir);
    if (!info || !isProcessAlive(info.pid)) return undefined;
    return endpointOf(info);
  }

  isRunning(endpoint: DaemonEndpoint): boolean {
    return endpoint.pid === undefined || isProcessAlive(endpoint.pid);
  }

  async start(): Promise<DaemonEndpoint> {
    const { stateDir, nodePath, daemonScript } = this.options;
    if (!fs.existsSync(daemonScript)) {
      throw new DaemonStartError(`The daemon script ${daemonScript} is missing; reinstall the Branchbox extension.`, true);
    }
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const stalePid = readRuntimeFile(stateDir)?.pid;
    const stderrFile = path.join(stateDir, STDERR_FILE_NAME);
    const stderr = fs.openSync(stderrFile, 'w', 0o600);
    const args = [
      daemonScript,
      '--state-dir',
      stateDir,
      ...(this.options.dockerHost ? ['--docker-host', this.options.dockerHost] : []),
      ...(this.options.extraArgs ?? []),
    ];
    let child;
    try {
      child = spawn(nodePath, args, {
        detached: true,
        stdio: ['ignore', 'ignore', stderr],
        env: this.options.env ?? process.env,
        windowsHide: true,
      });
    } finally {
      fs.closeSync(stderr); // the child has its own descriptor
    }
    const childPid = child.pid;
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        reject(
          e.code === 'ENOENT'
            ? new DaemonStartError(
                `Cannot start branchboxd: Node.js "${nodePath}" was not found. Install Node.js 20 or later, or set "branchbox.daemon.nodePath".`,
                true,
              )
            : new DaemonStartError(`Cannot start branchboxd with "${nodePath}": ${e.message}`),
        );
      });
      child.once('exit', (code, signal) => {
        // Another daemon may have won the race for the state directory: then wait for its file.
        const owner = readLockPid(stateDir);
        if (owner !== undefined && owner !== childPid && isProcessAlive(owner)) return;
        const tail = lastLines(stderrFile, 15);
        reject(
          new DaemonStartError(
            `branchboxd exited (${signal ?? `code ${code}`}) before it was ready` +
              (tail ? `:\n${tail}` : '') +
              `\nSee ${this.logFile}.`,
          ),
        );
      });
    });
    failed.catch(() => undefined);
    child.unref();
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const info = await watchDirectoryUntil(
      stateDir,
      () => {
        const found = readRuntimeFile(stateDir);
        if (!found) return undefined;
        if (found.pid === childPid) return found;
        return found.pid !== stalePid && isProcessAlive(found.pid) ? found : undefined;
      },
      {
        timeoutMs,
        failed,
        onTimeout: () =>
          new DaemonStartError(
            `branchboxd (pid ${childPid}) did not write ${path.join(stateDir, RUNTIME_FILE_NAME)} within ${Math.round(timeoutMs / 1000)} s. See ${this.logFile}.`,
          ),
      },
    );
    return endpointOf(info);
  }

  async stop(endpoint: DaemonEndpoint, graceMs: number): Promise<void> {
    const pid = endpoint.pid;
    if (pid === undefined) return;
    const gone = () => (!isProcessAlive(pid) ? true : undefined);
    const waitGone = (ms: number) =>
      watchDirectoryUntil(this.options.stateDir, gone, { timeoutMs: ms, fallbackMs: 100, onTimeout: () => new Error('still running') }).then(
        () => true,
        () => false,
      );
    if (await waitGone(graceMs)) return;
    signal(pid, 'SIGTERM');
    if (await waitGone(graceMs)) return;
    signal(pid, 'SIGKILL');
    await waitGone(2_000);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function endpointOf(info: RuntimeInfo): DaemonEndpoint {
  return { url: `ws://127.0.0.1:${info.port}`, token: info.token, pid: info.pid, version: info.version };
}

/**
 * A daemon at an address the user gave (`branchbox.daemon.address`), with its token read from
 * a file each time (the token changes when that daemon restarts): either the token alone or a
 * runtime.json. This extension never starts or stops it.
 */
export class RemoteDaemonHost implements DaemonHost {
  readonly canStart = false;
  readonly logFile = undefined;
  readonly description: string;

  constructor(
    readonly address: string,
    readonly tokenFile: string,
  ) {
    this.description = `branchboxd at ${address}`;
  }

  async find(): Promise<DaemonEndpoint | undefined> {
    let text: string;
    try {
      text = fs.readFileSync(this.tokenFile, 'utf8').trim();
    } catch (e) {
      // Not permanent: the daemon rewrites its runtime file when it (re)starts.
      throw new DaemonStartError(`Cannot read the token file ${this.tokenFile} for ${this.address}: ${(e as Error).message}`);
    }
    let token = text;
    if (text.startsWith('{')) {
      try {
        token = String((JSON.parse(text) as { token?: unknown }).token ?? '');
      } catch {
        token = '';
      }
    }
    if (!token) throw new DaemonStartError(`The token file ${this.tokenFile} holds no token.`, true);
    return { url: this.address, token };
  }

  async start(): Promise<DaemonEndpoint> {
    throw new DaemonStartError(`${this.description} is not started by this extension; start it there.`, true);
  }

  isRunning(): boolean {
    return true;
  }

  async stop(): Promise<void> {}
}
