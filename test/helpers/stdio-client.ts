/**
 * The stdio side of the protocol for tests: spawns `branchboxd --stdio` (a real process from
 * dist/, as an editor would), frames what it writes to stdin with `Content-Length` as in LSP,
 * splits what comes back on stdout, and feeds both a typed `BranchboxClient` and an `Inbox` of
 * raw messages. The framing here is written independently of the daemon's FrameReader, so a
 * framing bug cannot hide behind a shared implementation.
 *
 * `Inbox` is transport-neutral: the WebSocket tests use it too, to wait for (never sleep for)
 * a message, and to count the answers a request got.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BranchboxClient } from '../../schemas/src/client';
import { DAEMON_JS } from './daemon';

/** One JSON-RPC message as received: an object, or an array for a batch answer. */
export type Message = Record<string, unknown> | Record<string, unknown>[];

interface Waiter {
  readonly match: (m: Message) => boolean;
  readonly resolve: (m: Message) => void;
  readonly reject: (e: Error) => void;
}

/** Every message a peer received, in order, with a way to wait for the next one that matches. */
export class Inbox {
  /** Every parsed message, in arrival order. */
  readonly all: Message[] = [];
  /** Texts that were not JSON (must stay empty: the daemon only ever writes JSON). */
  readonly unparsable: string[] = [];
  private readonly taken = new Set<Message>();
  private waiters: Waiter[] = [];
  private closedReason: string | undefined;

  push(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      this.unparsable.push(text);
      return;
    }
    this.all.push(message);
    const waiter = this.waiters.find((w) => w.match(message));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  }

  /**
   * The first message not taken by an earlier `next` that matches, waiting for it if it has
   * not arrived; the message is then taken. Rejects if the peer closes first.
   */
  next<T extends Message = Record<string, unknown>>(
    match: (m: Message) => boolean = () => true,
    what = 'a message',
  ): Promise<T> {
    const found = this.all.find((m) => !this.taken.has(m) && match(m));
    if (found !== undefined) {
      this.taken.add(found);
      return Promise.resolve(found as T);
    }
    if (this.closedReason !== undefined)
      return Promise.reject(new Error(`closed (${this.closedReason}) while waiting for ${what}`));
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({
        match: (m) => !this.taken.has(m) && match(m),
        resolve: (m) => {
          this.taken.add(m);
          resolve(m as T);
        },
        reject: (e) => reject(new Error(`${e.message} while waiting for ${what}`)),
      });
    });
  }

  /** The response (not a batch) with this id, waiting for it if needed. */
  response(id: unknown): Promise<Record<string, unknown>> {
    return this.next(
      (m) => !Array.isArray(m) && 'id' in m && Object.is(m.id, id) && !('method' in m),
      `the response to id ${JSON.stringify(id)}`,
    );
  }

  /** Every single (non-batch) response received so far with this id. */
  responsesTo(id: unknown): Record<string, unknown>[] {
    return this.all.filter(
      (m): m is Record<string, unknown> => !Array.isArray(m) && !('method' in m) && Object.is(m.id, id),
    );
  }

  /** The peer is gone: pending waits fail instead of hanging until the test times out. */
  close(reason: string): void {
    this.closedReason = reason;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`closed (${reason})`));
  }
}

/** `Content-Length: n\r\n\r\n<n bytes>`, as LSP frames messages. */
export function lspFrame(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/** Splits a Content-Length framed byte stream back into message texts. */
export class LspDeframer {
  private buffer = Buffer.alloc(0);

  constructor(private readonly onMessage: (text: string) => void) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const length = /^Content-Length: (\d+)$/im.exec(header);
      if (!length) throw new Error(`daemon wrote a frame without Content-Length: ${JSON.stringify(header)}`);
      const start = headerEnd + 4;
      const end = start + Number(length[1]);
      if (this.buffer.length < end) return;
      this.onMessage(this.buffer.subarray(start, end).toString('utf8'));
      this.buffer = this.buffer.subarray(end);
    }
  }
}

export interface StdioDaemon {
  readonly process: ChildProcess;
  readonly stateDir: string;
  /** Typed client over this process's stdin/stdout (not initialized). */
  readonly client: BranchboxClient;
  /** Every message the daemon wrote to stdout. */
  readonly inbox: Inbox;
  /** Resolves with the exit code when the process exits. */
  readonly exited: Promise<number | null>;
  /** Frames and writes one raw message text. */
  send(text: string): void;
  /** Writes raw bytes to stdin, unframed. */
  writeRaw(bytes: Buffer | string): void;
  stderr(): string;
  /** Closes stdin (the editor went away) and waits for the exit code. */
  closeStdin(): Promise<number | null>;
  /** Kills the process if it still runs and removes the state directory (unless it was given). */
  dispose(): Promise<void>;
}

export interface StdioStartOptions {
  /** Default: a new temporary directory, removed by `dispose()`. */
  stateDir?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Spawns `node dist/branchboxd.js --stdio --state-dir <dir> --port 0 --log-level debug`.
 * Nothing needs to wait for readiness: what is written to stdin waits in the pipe.
 */
export function spawnStdioDaemon(opts: StdioStartOptions = {}): StdioDaemon {
  const ownsDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'bbd-stdio-'));
  const child = spawn(
    process.execPath,
    [DAEMON_JS, '--stdio', '--state-dir', stateDir, '--port', '0', '--log-level', 'debug', ...(opts.args ?? [])],
    { env: { ...process.env, BRANCHBOX_VALIDATE_RESULTS: '1', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const inbox = new Inbox();
  const client = new BranchboxClient((text) => send(text));
  const deframer = new LspDeframer((text) => {
    inbox.push(text);
    client.receive(text);
  });
  child.stdout!.on('data', (chunk: Buffer) => deframer.push(chunk));
  child.stdout!.on('close', () => {
    inbox.close('stdout closed');
    client.close('stdout closed');
  });
  // A write after the daemon exited fails with EPIPE; the exit is what the test observes.
  child.stdin!.on('error', () => undefined);

  function send(text: string): void {
    if (child.stdin!.writable) child.stdin!.write(lspFrame(text));
  }

  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    process: child,
    stateDir,
    client,
    inbox,
    exited,
    send,
    writeRaw: (bytes) => {
      if (child.stdin!.writable) child.stdin!.write(bytes);
    },
    stderr: () => stderr,
    closeStdin: () => {
      child.stdin!.end();
      return exited;
    },
    dispose: async () => {
      if (alive()) {
        child.kill('SIGKILL');
        await exited;
      }
      if (ownsDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
