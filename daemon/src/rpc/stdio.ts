/**
 * The stdio transport: the same protocol framed as in LSP, each message preceded by
 * `Content-Length: <bytes>\r\n\r\n`. stdout carries nothing else (the daemon logs to its file).
 *
 * A frame that cannot be read — no Content-Length, a value that is not a byte count, a body
 * over the limit, bytes that are no header at all — is answered with one ParseError (id null)
 * and reading resynchronises on the next `Content-Length` header, so one bad frame never
 * costs the frames after it.
 */
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../runtime/log';
import { errorResponse } from './answer-text';
import type { Connection } from './transport';

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = 'content-length:';
/** A header block longer than this without its blank line is not a header. */
const MAX_HEADER_BYTES = 8192;
/** `name: value`, the name an HTTP token. */
const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/;

type HeaderBlock = { length: number } | { problem: string };

/** The body length a header block announces, or why it announces none. */
function readHeaders(text: string): HeaderBlock {
  const lines = text.split(/\r?\n/);
  const header = (line: string) => HEADER_LINE.test(line) && line.toLowerCase().indexOf(CONTENT_LENGTH) <= 0;
  if (!lines.every(header)) return { problem: 'bytes that are not a header' };
  const values = lines
    .filter((line) => line.toLowerCase().startsWith(CONTENT_LENGTH))
    .map((line) => line.slice(CONTENT_LENGTH.length).trim());
  if (values.length === 0) return { problem: 'missing Content-Length header' };
  if (new Set(values).size > 1) return { problem: `conflicting Content-Length headers (${values.join(', ')})` };
  const value = values[0]!;
  if (!/^\d{1,15}$/.test(value)) return { problem: `Content-Length ${JSON.stringify(value.slice(0, 40))} is not a byte count` };
  return { length: Number(value) };
}

/** Where a Content-Length header begins after other bytes on its line (the last such place). */
function resumePoint(text: string): number | undefined {
  const lower = text.toLowerCase();
  for (let at = lower.lastIndexOf(CONTENT_LENGTH); at > 0; at = lower.lastIndexOf(CONTENT_LENGTH, at - 1)) {
    if (lower[at - 1] !== '\n') return at;
  }
  return undefined;
}

/** Splits a byte stream into Content-Length framed messages. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of an oversized body still to be skipped as they arrive. */
  private discard = 0;
  /** Skipping to the next header after a bad frame (already reported). */
  private resyncing = false;

  constructor(
    private readonly maxPayload: number,
    private readonly onMessage: (text: string) => void,
    /** A frame that cannot be read: its bytes are skipped and reading goes on. Once per bad frame. */
    private readonly onBadFrame: (reason: string) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.discard > 0) {
      const skipped = Math.min(this.discard, chunk.length);
      this.discard -= skipped;
      chunk = chunk.subarray(skipped);
      if (chunk.length === 0) return;
    }
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const end = this.buffer.indexOf(HEADER_END);
      if (end < 0) {
        if (this.buffer.length > MAX_HEADER_BYTES) this.dropHeaderless();
        return;
      }
      const text = this.buffer.subarray(0, end).toString('latin1');
      const block = readHeaders(text);
      if ('problem' in block) {
        this.bad(block.problem);
        // A frame right after unreadable bytes starts in the middle of a line: resume there.
        // Otherwise the block is one bad header: skip it; its body, of unknown length, is
        // skipped the same way when the next header comes.
        const next = resumePoint(text);
        this.buffer = this.buffer.subarray(next ?? end + HEADER_END.length);
        continue;
      }
      this.resyncing = false;
      const bodyStart = end + HEADER_END.length;
      if (block.length > this.maxPayload) {
        this.onBadFrame(`a message of ${block.length} bytes exceeds the ${this.maxPayload}-byte limit`);
        const available = this.buffer.length - bodyStart;
        this.discard = Math.max(0, block.length - available);
        this.buffer = this.buffer.subarray(Math.min(this.buffer.length, bodyStart + block.length));
        if (this.discard > 0) return;
        continue;
      }
      if (this.buffer.length < bodyStart + block.length) return;
      const body = this.buffer.subarray(bodyStart, bodyStart + block.length).toString('utf8');
      this.buffer = this.buffer.subarray(bodyStart + block.length);
      this.onMessage(body);
    }
  }

  /** Reports a bad frame, once for a run of unreadable bytes. */
  private bad(reason: string): void {
    if (!this.resyncing) this.onBadFrame(reason);
    this.resyncing = true;
  }

  /** Too many bytes without a header end: keep only what may begin the next header. */
  private dropHeaderless(): void {
    this.bad('bytes that are not a header');
    const next = resumePoint(this.buffer.toString('latin1'));
    const keep = next !== undefined && this.buffer.length - next <= MAX_HEADER_BYTES ? next : this.buffer.length - CONTENT_LENGTH.length;
    this.buffer = Buffer.from(this.buffer.subarray(keep));
  }
}

export function frame(message: string): string {
  return `Content-Length: ${Buffer.byteLength(message, 'utf8')}\r\n\r\n${message}`;
}

/** The answer to a frame that could not be read. */
export const parseErrorText = (reason: string): string =>
  JSON.stringify(errorResponse(null, -32700, `Parse error: ${reason}; skipped up to the next Content-Length header`));

export function stdioConnection(output: Writable): Connection {
  return {
    label: 'stdio',
    send: (message) => {
      if (!output.writableEnded && !output.destroyed) output.write(frame(message));
    },
    bufferedAmount: () => output.writableLength,
    whenDrained: () =>
      output.writableLength === 0 || output.writableEnded
        ? Promise.resolve()
        : new Promise((resolve) => output.once('drain', () => resolve())),
    close: () => output.end(),
  };
}

export function readFrames(input: Readable, reader: FrameReader, onEnd: () => void): void {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  input.on('data', (chunk: Buffer) => reader.push(chunk));
  input.on('error', end);
  input.on('end', end);
  input.on('close', end);
}

export interface StdioServeOptions {
  readonly input: Readable;
  readonly output: Writable;
  readonly maxPayload: number;
  readonly log: Logger;
  /** Opens the session of the connection; as the WebSocket transport's `accept`. */
  readonly accept: (connection: Connection) => { message(text: string): void; closed(): void };
  /** stdin ended: the editor went away. */
  readonly onEnd: () => void;
}

/** Serves one session over a byte stream pair (the daemon's stdin and stdout). */
export function serveStdio(opts: StdioServeOptions): void {
  const connection = stdioConnection(opts.output);
  // A reader that went away (EPIPE) ends the session like a closed stdin, never the process.
  opts.output.on('error', (e) => opts.log.warn('stdout failed', { error: e.message }));
  const session = opts.accept(connection);
  const reader = new FrameReader(
    opts.maxPayload,
    (text) => session.message(text),
    (reason) => {
      opts.log.warn('unreadable stdio frame skipped', { reason });
      connection.send(parseErrorText(reason));
    },
  );
  readFrames(opts.input, reader, () => {
    session.closed();
    opts.onEnd();
  });
}
