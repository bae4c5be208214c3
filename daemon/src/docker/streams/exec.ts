/**
 * Interactive exec sessions in containers (Attach Shell from any editor): a process started
 * with `docker exec`, its stdin written through a hijacked HTTP connection, its output read
 * back (demultiplexed into stdout and stderr when there is no TTY), its terminal resizable,
 * and its exit code read from the engine once it ends.
 *
 * Given the daemon's {@link Redactor}, the output is masked byte by byte on its way out, each
 * of stdout and stderr through its own {@link StreamRedactor}: a secret the process writes in
 * several pieces is masked whole; the end of a chunk that could begin a secret waits for the
 * next one (or for the end of the session).
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { engineError } from '../dockerode/engine-error';
import { RpcError } from '../../rpc/errors';
import type { Redactor, StreamRedactor } from '../../runtime/redactor';
import { FrameDemuxer } from './frame-demuxer';

/** What to run in the container, and how. */
export interface ExecOptions {
  /** The command; by default a shell: /bin/bash if the container has one, else /bin/sh. */
  readonly cmd?: readonly string[];
  /** Allocate a terminal (default true). Without one, stdout and stderr arrive apart. */
  readonly tty?: boolean;
  /** Terminal size to start with (TTY only). */
  readonly cols?: number;
  readonly rows?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly user?: string;
  readonly workdir?: string;
}

/** A piece of the process's output. */
export interface ExecOutput {
  readonly stream: 'stdout' | 'stderr';
  readonly data: Buffer;
}

/** How often the exit code is asked for when the engine has not recorded it yet as the stream ends. */
const EXIT_CODE_ATTEMPTS = 20;
/**
 * Marks the processes of a session (in their environment) so `close` can hang them up: the
 * engine keeps a TTY exec running when its connection closes, unlike a real terminal.
 */
export const SESSION_ENV = 'BRANCHBOX_EXEC_SESSION';
/** How long a closed session's processes get to exit after the hangup before the connection is cut. */
const HANGUP_GRACE_MS = 2000;

/** Starts exec sessions through the engine. */
export class ContainerExec {
  constructor(
    private readonly docker: () => Docker,
    private readonly redactor?: Redactor,
  ) {}

  /**
   * Starts the command in the container and attaches to it. Output is held until the first
   * `onOutput` listener. Throws `ContainerNotFound`, `Conflict` (container not running),
   * `DockerUnavailable`, `DockerError`.
   */
  async open(ref: string, options: ExecOptions = {}): Promise<ExecSession> {
    const container = this.docker().getContainer(ref);
    const tty = options.tty ?? true;
    const target = { action: 'exec in', kind: 'container', ref } as const;
    const marker = randomBytes(12).toString('hex');
    try {
      const cmd = options.cmd && options.cmd.length > 0 ? [...options.cmd] : await defaultShell(container);
      const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
      const exec = await container.exec({
        Cmd: cmd,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
        Env: [...env, `${SESSION_ENV}=${marker}`],
        ...(options.user ? { User: options.user } : {}),
        ...(options.workdir ? { WorkingDir: options.workdir } : {}),
      });
      const socket = (await exec.start({ hijack: true, stdin: true, Tty: tty })) as Duplex;
      const session = new ExecSession({ exec, socket, tty, container, ref, cmd, marker, user: options.user, redactor: this.redactor });
      if (tty && options.cols && options.rows) await session.resize(options.cols, options.rows);
      return session;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 409) {
        throw new RpcError('Conflict', `Cannot exec in container "${ref}": it is not running; start it first`);
      }
      throw engineError(e, target);
    }
  }
}

/** One running exec: write to its stdin, read its output, resize its terminal, learn its exit code. */
export class ExecSession {
  /** The exec id the engine gave; also the session id in the protocol. */
  readonly id: string;
  /** Whether the process has a terminal. */
  readonly tty: boolean;
  /** The container as the caller named it. */
  readonly container: string;
  /** The command that runs. */
  readonly cmd: readonly string[];
  /** Resolves with the exit code once the session has ended (null when it is unknown: the process outlived `close`). */
  readonly exited: Promise<number | null>;
  private readonly exec: Docker.Exec;
  private readonly socket: Duplex;
  private readonly demuxer: FrameDemuxer | undefined;
  private readonly outputListeners: ((output: ExecOutput) => void)[] = [];
  private readonly exitListeners: ((exitCode: number | null) => void)[] = [];
  /** One masker per output stream, when there is a Redactor. */
  private readonly masks: Readonly<Record<ExecOutput['stream'], StreamRedactor>> | undefined;
  private flowing = false;
  private paused = false;
  private closing = false;
  private finishing = false;
  private exitCode: number | null | undefined;
  private resolveExited!: (code: number | null) => void;

  constructor(private readonly start: ExecStart) {
    this.exec = start.exec;
    this.socket = start.socket;
    this.tty = start.tty;
    this.container = start.ref;
    this.cmd = start.cmd;
    this.id = start.exec.id;
    this.demuxer = start.tty ? undefined : new FrameDemuxer();
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.masks = start.redactor && { stdout: start.redactor.stream(), stderr: start.redactor.stream() };
    const socket = start.socket;
    socket.on('end', () => void this.finish());
    socket.on('close', () => void this.finish());
    socket.on('error', () => void this.finish());
  }

  /** Whether the session has ended (the process exited or the session was closed). */
  get ended(): boolean {
    return this.finishing; // set as the connection ends, before the exit code is known
  }

  /** Receives the output; the first listener starts the flow. */
  onOutput(listener: (output: ExecOutput) => void): void {
    this.outputListeners.push(listener);
    if (this.flowing) return;
    this.flowing = true;
    this.socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    if (this.paused) this.socket.pause();
  }

  /** Called once with the exit code when the session ends (at once if it already has). */
  onExit(listener: (exitCode: number | null) => void): void {
    if (this.exitCode !== undefined) listener(this.exitCode);
    else this.exitListeners.push(listener);
  }

  /** Stops reading output (the engine and the process then wait) until `resume`. */
  pause(): void {
    this.paused = true;
    if (this.flowing) this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.flowing) this.socket.resume();
  }

  /** Writes to the process's stdin; resolves once handed to the engine connection. */
  write(data: Buffer | string): Promise<void> {
    if (this.ended || !this.socket.writable) {
      return Promise.reject(new RpcError('Conflict', `The exec session ${this.id.slice(0, 12)} has ended`));
    }
    return new Promise((resolve, reject) => {
      this.socket.write(data, (error) =>
        error ? reject(engineError(error, { action: 'write to exec in', ref: this.container })) : resolve(),
      );
    });
  }

  /** Closes the process's stdin (end of input), keeping its output flowing. */
  endInput(): void {
    if (this.socket.writable) this.socket.end();
  }

  /** Resizes the terminal; nothing to do without a TTY or once the process has exited. */
  async resize(cols: number, rows: number): Promise<void> {
    if (!this.tty || this.ended) return;
    try {
      await this.exec.resize({ h: rows, w: cols });
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      // 404 / 500 "not running": the process is gone; its exit is on the way.
      if (status === 404 || status === 500) return;
      throw engineError(e, { action: 'resize exec in', kind: 'container', ref: this.container });
    }
  }

  /**
   * Ends the session as closing a terminal would: its processes get a hangup (SIGHUP), then
   * the connection is closed — at once if they are gone, else after a short grace. The exit
   * is reported as usual (null if the process outlived the grace). Idempotent.
   */
  close(): void {
    if (this.closing || this.ended) return;
    this.closing = true;
    void this.hangup().finally(() => {
      if (this.ended) return;
      const timer = setTimeout(() => this.socket.destroy(), HANGUP_GRACE_MS);
      timer.unref();
      void this.exited.then(() => clearTimeout(timer));
    });
  }

  /**
   * Sends SIGHUP to every process of the session (found by the marker in its environment),
   * from a second exec as the same user. Without a shell in the image, cuts the connection.
   */
  private async hangup(): Promise<void> {
    const { marker } = this.start;
    const script =
      `for f in $(grep -l ${SESSION_ENV}=${marker} /proc/[0-9]*/environ 2>/dev/null); do ` +
      'p=${f#/proc/}; kill -HUP ${p%/environ} 2>/dev/null; done; true';
    try {
      const killer = await this.start.container.exec({
        Cmd: ['/bin/sh', '-c', script],
        AttachStdout: true,
        AttachStderr: true,
        ...(this.start.user ? { User: this.start.user } : {}),
      });
      const stream = await killer.start({ hijack: true, stdin: false });
      stream.resume();
      await new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      });
    } catch {
      this.socket.destroy();
    }
  }

  private onChunk(chunk: Buffer): void {
    if (!this.demuxer) {
      this.emit({ stream: 'stdout', data: chunk });
      return;
    }
    let frames;
    try {
      frames = this.demuxer.push(chunk);
    } catch {
      this.emit({ stream: 'stdout', data: chunk }); // Not multiplexed after all: pass it through.
      return;
    }
    for (const frame of frames)
      this.emit({ stream: frame.stream === 'stderr' ? 'stderr' : 'stdout', data: frame.payload });
  }

  private emit(output: ExecOutput): void {
    const data = this.masks ? this.masks[output.stream].push(output.data) : output.data;
    if (data.length === 0) return;
    for (const listener of this.outputListeners) listener({ stream: output.stream, data });
  }

  /** The output is over: what the maskers held back goes out. */
  private flushMasks(): void {
    if (!this.masks) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const data = this.masks[stream].end();
      if (data.length > 0) for (const listener of this.outputListeners) listener({ stream, data });
    }
  }

  /** The connection ended: ask the engine for the exit code and tell the listeners, once. */
  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.socket.destroy();
    this.flushMasks();
    const code = await this.readExitCode();
    this.exitCode = code;
    this.resolveExited(code);
    for (const listener of this.exitListeners.splice(0)) listener(code);
  }

  /** The engine records the exit code as the stream closes; ask again while it still says running. */
  private async readExitCode(): Promise<number | null> {
    for (let attempt = 0; attempt < EXIT_CODE_ATTEMPTS; attempt++) {
      try {
        const info = await this.exec.inspect();
        if (!info.Running) return typeof info.ExitCode === 'number' ? info.ExitCode : null;
      } catch {
        return null;
      }
    }
    return null;
  }
}

/** What an exec session is made of. */
interface ExecStart {
  readonly exec: Docker.Exec;
  readonly socket: Duplex;
  readonly tty: boolean;
  readonly container: Docker.Container;
  /** The container as the caller named it. */
  readonly ref: string;
  readonly cmd: readonly string[];
  /** The value of {@link SESSION_ENV} in the session's processes. */
  readonly marker: string;
  readonly user: string | undefined;
  /** Masks the output. */
  readonly redactor?: Redactor | undefined;
}

/** /bin/bash if the container has it, else /bin/sh. */
async function defaultShell(container: Docker.Container): Promise<string[]> {
  try {
    await container.infoArchive({ path: '/bin/bash' });
    return ['/bin/bash'];
  } catch (e) {
    // 404 means no bash (or no container: exec then says so); anything else is a real failure.
    if ((e as { statusCode?: number }).statusCode === 404) return ['/bin/sh'];
    throw e;
  }
}
