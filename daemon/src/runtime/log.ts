/**
 * The daemon's structured log: one JSON object per line
 * (`{"t":"2025-01-01T00:00:00.000Z","level":"info","msg":"...", ...fields}`) appended to
 * `<stateDir>/branchboxd.log`, rotated by size (`branchboxd.log.1` … `.N`), optionally
 * mirrored to stderr (`--log-stderr`).
 *
 * Secrets never reach the file: every message and field value goes through the daemon's
 * {@link Redactor} (./redactor.ts), which masks the secret values in force and the values of
 * keys its one rule calls secret.
 *
 * Appends are synchronous (`fs.writeSync` on one descriptor opened with 'a'), so a line is in
 * the file before the call returns and nothing is lost when the process dies right after.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redactor } from './redactor';
import { STATE_FILES } from '../../../schemas/node/state-files';

export { REDACTED, Redactor } from './redactor';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Extra context of a log line. Values may be anything JSON-like; Errors are expanded. */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. `{ conn: 3 }`) to every line it writes. */
  child(fields: LogFields): Logger;
}

/** A logger that is also the owner of the log file. */
export interface FileLogger extends Logger {
  /** Absolute path of the current log file. */
  readonly path: string;
  /** Closes the file; later lines are dropped. Idempotent. */
  close(): void;
}

export const LOG_FILE_NAME = STATE_FILES.log;
export const DEFAULT_MAX_LOG_BYTES = 5 * 1024 * 1024;
export const DEFAULT_KEEP_LOG_FILES = 3;

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** Whether `value` names a log level (for parsing `--log-level`). */
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export interface FileLoggerOptions {
  /** Directory holding the log file (the daemon's state directory). */
  readonly stateDir: string;
  /** Lines below this level are dropped. Default `info`. */
  readonly level?: LogLevel;
  /** The file is rotated before a line would take it past this size. Default 5 MiB. */
  readonly maxBytes?: number;
  /** How many rotated files to keep (`.1` newest … `.keep` oldest). Default 3. */
  readonly keep?: number;
  /** Also write every line to stderr (`--log-stderr`). */
  readonly mirrorToStderr?: boolean;
  /** The redactor to apply; share it with whoever learns secrets. Default: a new one. */
  readonly redactor?: Redactor;
  /**
   * Also hands every written line (redacted JSON, as written to the file) to this function
   * (`log/subscribe`). A throwing tap is ignored: a listener's failure is not the log's.
   */
  readonly tap?: (line: string) => void;
  /** Clock for the `t` field (tests). Default `() => new Date()`. */
  readonly now?: () => Date;
  /** File name inside `stateDir`. Default `branchboxd.log`. */
  readonly fileName?: string;
}

/**
 * The log file with its rotation. Owns the descriptor; shared by a logger and all its children.
 */
class RotatingLogFile {
  private fd: number | undefined;
  private size: number;
  private failed = false;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    this.fd = openPrivate(path);
    this.size = fs.fstatSync(this.fd).size;
    // Files rotated by an earlier daemon (or left by one that ran under a loose umask).
    for (let i = 1; i <= keep; i++) chmodIfExists(`${path}.${i}`);
  }

  /** Appends `line` (with its newline), rotating first if it would not fit. */
  append(line: string): void {
    if (this.fd === undefined) return;
    const bytes = Buffer.from(line, 'utf8');
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) {
      try {
        this.rotate();
      } catch (e) {
        this.reportFailure('rotate', e);
      }
    }
    if (this.fd === undefined) return;
    try {
      fs.writeSync(this.fd, bytes);
      this.size += bytes.length;
    } catch (e) {
      this.reportFailure('write', e);
    }
  }

  /** The log is not worth crashing the daemon for; say so once on stderr. */
  private reportFailure(what: string, e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    process.stderr.write(`branchboxd: cannot ${what} log file ${this.path}: ${(e as Error).message}\n`);
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }

  /** `log` → `log.1` → … → `log.<keep>`; the oldest is dropped. */
  private rotate(): void {
    this.close();
    try {
      if (this.keep <= 0) {
        fs.rmSync(this.path, { force: true });
      } else {
        fs.rmSync(`${this.path}.${this.keep}`, { force: true });
        for (let i = this.keep - 1; i >= 1; i--) renameIfExists(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        renameIfExists(this.path, `${this.path}.1`);
      }
    } finally {
      // Even if a rename failed, keep logging (into the old file if it is still there).
      this.fd = openPrivate(this.path);
      this.size = fs.fstatSync(this.fd).size;
    }
  }
}

/**
 * Opens the log for appending with mode 0600 — also an existing file, whatever mode it was
 * created with (the umask, an older daemon): the log may quote anything the daemon saw.
 */
function openPrivate(file: string): number {
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

function chmodIfExists(file: string): void {
  try {
    fs.chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Where a logger's lines go once formatted; one per logger tree. */
interface LogSink {
  readonly minRank: number;
  readonly redactor: Redactor;
  readonly now: () => Date;
  write(line: string): void;
}

class StructuredLogger implements Logger {
  constructor(
    protected readonly sink: LogSink,
    private readonly context: Record<string, unknown>,
  ) {}

  trace(msg: string, fields?: LogFields): void {
    this.log('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new StructuredLogger(this.sink, { ...this.context, ...fields });
  }

  private log(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (LEVEL_RANK[level] < this.sink.minRank) return;
    const { redactor } = this.sink;
    const record: Record<string, unknown> = {
      t: this.sink.now().toISOString(),
      level,
      msg: redactor.redactText(msg),
    };
    const extra = redactor.redactFields(fields === undefined ? this.context : { ...this.context, ...fields });
    for (const [key, value] of Object.entries(extra)) {
      // A field never overwrites t/level/msg; it is kept under a prefixed name instead.
      record[key in record ? `_${key}` : key] = value;
    }
    this.sink.write(`${JSON.stringify(record)}\n`);
  }
}

class FileStructuredLogger extends StructuredLogger implements FileLogger {
  constructor(
    sink: LogSink,
    private readonly file: RotatingLogFile,
  ) {
    super(sink, {});
  }

  get path(): string {
    return this.file.path;
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Opens (creating with mode 0600) `<stateDir>/branchboxd.log` for appending and returns a
 * logger writing to it. The state directory must exist.
 */
export function createFileLogger(options: FileLoggerOptions): FileLogger {
  const file = new RotatingLogFile(
    path.resolve(options.stateDir, options.fileName ?? LOG_FILE_NAME),
    options.maxBytes ?? DEFAULT_MAX_LOG_BYTES,
    options.keep ?? DEFAULT_KEEP_LOG_FILES,
  );
  const mirror = options.mirrorToStderr === true;
  const tap = options.tap;
  const sink: LogSink = {
    minRank: LEVEL_RANK[options.level ?? 'info'],
    redactor: options.redactor ?? new Redactor(),
    now: options.now ?? (() => new Date()),
    write(line) {
      file.append(line);
      if (mirror) process.stderr.write(line);
      if (tap !== undefined) {
        try {
          tap(line);
        } catch {
          // ignored, see FileLoggerOptions.tap
        }
      }
    },
  };
  return new FileStructuredLogger(sink, file);
}

/**
 * A logger that writes formatted, redacted lines to a callback instead of a file (tests, or a
 * stderr-only daemon run).
 */
export function createLineLogger(
  write: (line: string) => void,
  options: { level?: LogLevel; redactor?: Redactor; now?: () => Date } = {},
): Logger {
  return new StructuredLogger(
    {
      minRank: LEVEL_RANK[options.level ?? 'info'],
      redactor: options.redactor ?? new Redactor(),
      now: options.now ?? (() => new Date()),
      write,
    },
    {},
  );
}

const noop = (): void => {};

/** A logger that drops everything (tests, library code used without a daemon). */
export const nullLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => nullLogger,
};
