/**
 * `<stateDir>/runtime.json`: how clients find and authenticate to the running daemon
 * (`{ port, token, pid, version }`). Readable only by the user (mode 0600), since the token is
 * the only thing standing between other local users and the daemon. The one reader and writer
 * of the file: branchboxd writes it, the CLI and the extension read it.
 *
 * Written atomically (temp file in the same directory, fsync, rename), so a client never reads
 * a half-written file.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STATE_FILES } from './state-files';

export const RUNTIME_FILE_NAME = STATE_FILES.runtime;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export interface RuntimeInfo {
  /** Port of the WebSocket transport on 127.0.0.1. */
  readonly port: number;
  /** Bearer token clients must present; see {@link createToken}. */
  readonly token: string;
  /** Pid of the daemon that wrote the file. */
  readonly pid: number;
  /** The daemon's version. */
  readonly version: string;
}

/** The runtime file exists but cannot be used. */
export class RuntimeFileError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`Runtime file ${path} is malformed (${problem}). Delete it; branchboxd writes a new one when it starts.`);
    this.name = 'RuntimeFileError';
  }
}

/** A fresh connection token: 32 random bytes, hex-encoded (64 characters). */
export function createToken(): string {
  return crypto.randomBytes(32).toString('hex');
}

/**
 * Creates `dir` and its missing parents with mode 0700. An existing directory keeps its mode
 * (it may be one the user chose, such as a shared folder given with --state-dir); the files
 * the daemon keeps there are private whatever it is. A runtime file left there (by a daemon
 * that did not stop cleanly, or an older one) is set to 0600 at once.
 */
export function ensureStateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  if (process.platform === 'win32') return;
  try {
    fs.chmodSync(runtimeFilePath(dir), FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Path of the runtime file in `stateDir`. */
export function runtimeFilePath(stateDir: string): string {
  return path.join(path.resolve(stateDir), RUNTIME_FILE_NAME);
}

/**
 * Atomically replaces `<stateDir>/runtime.json` with `info`, mode 0600. Returns its path.
 *
 * @throws if the file could not be written or did not end up with mode 0600.
 */
export function writeRuntimeFile(stateDir: string, info: RuntimeInfo): string {
  const target = runtimeFilePath(stateDir);
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${RUNTIME_FILE_NAME}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const body = `${JSON.stringify({ port: info.port, token: info.token, pid: info.pid, version: info.version }, null, 2)}\n`;
  try {
    const fd = fs.openSync(temp, 'wx', FILE_MODE);
    try {
      fs.fchmodSync(fd, FILE_MODE); // the umask may have removed bits; never added any
      fs.writeFileSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
  syncDirectory(dir);
  if (process.platform !== 'win32') {
    const mode = fs.statSync(target).mode & 0o777;
    if (mode !== FILE_MODE) {
      throw new Error(
        `Runtime file ${target} has mode ${mode.toString(8)} instead of 600; refusing to expose the token`,
      );
    }
  }
  return target;
}

/**
 * The runtime file's content, or undefined if there is none.
 *
 * @throws RuntimeFileError if it is not valid JSON or lacks a field.
 */
export function readRuntimeFile(stateDir: string): RuntimeInfo | undefined {
  const file = runtimeFilePath(stateDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text, which may contain the token.
    throw new RuntimeFileError(file, 'not valid JSON');
  }
  return parseRuntimeInfo(file, value);
}

/**
 * Removes the runtime file if it was written by process `pid` (default: this one), so a daemon
 * shutting down never removes the file of another daemon that has since started. Returns
 * whether it removed the file. A malformed file is left alone.
 */
export function removeRuntimeFile(stateDir: string, pid: number = process.pid): boolean {
  let info: RuntimeInfo | undefined;
  try {
    info = readRuntimeFile(stateDir);
  } catch (e) {
    if (e instanceof RuntimeFileError) return false;
    throw e;
  }
  if (info === undefined || info.pid !== pid) return false;
  fs.rmSync(runtimeFilePath(stateDir), { force: true });
  return true;
}

function parseRuntimeInfo(file: string, value: unknown): RuntimeInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RuntimeFileError(file, 'not a JSON object');
  }
  const o = value as Record<string, unknown>;
  const { port, token, pid, version } = o;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RuntimeFileError(file, '"port" is not a port number');
  }
  if (typeof token !== 'string' || token.length === 0) throw new RuntimeFileError(file, '"token" is missing');
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    throw new RuntimeFileError(file, '"pid" is not a process id');
  }
  if (typeof version !== 'string') throw new RuntimeFileError(file, '"version" is missing');
  return { port, token, pid, version };
}

/** Makes the rename durable. Best effort: some platforms cannot fsync a directory. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
