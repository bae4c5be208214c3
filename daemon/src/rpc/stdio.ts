/**
 * The stdio transport: the same protocol framed as in LSP, each message preceded by
 * `Content-Length: <bytes>\r\n\r\n`. stdout carries nothing else (the daemon logs to its file).
 */
import type { Readable, Writable } from 'node:stream';
import type { Connection } from './transport';

const HEADER_END = Buffer.from('\r\n\r\n');

/** Splits a byte stream into Content-Length framed messages. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of an oversized body still to be skipped as they arrive. */
  private discard = 0;

  constructor(
    private readonly maxPayload: number,
    private readonly onMessage: (text: string) => void,
    /** A frame that cannot be read: its bytes are skipped and reading goes on. */
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
        if (this.buffer.length > 8192) this.skip(this.buffer.length, 'header block too long');
        return;
      }
      const headers = this.buffer.subarray(0, end).toString('ascii');
      const match = /^content-length:\s*(\d+)\s*$/im.exec(headers);
      if (!match) {
        this.skip(end + HEADER_END.length, 'missing Content-Length header');
        continue;
      }
      const length = Number(match[1]);
      const bodyStart = end + HEADER_END.length;
      if (length > this.maxPayload) {
        this.onBadFrame(`message of ${length} bytes exceeds the ${this.maxPayload} byte limit`);
        const available = this.buffer.length - bodyStart;
        this.discard = Math.max(0, length - available);
        this.buffer = this.buffer.subarray(Math.min(this.buffer.length, bodyStart + length));
        if (this.discard > 0) return;
        continue;
      }
      if (this.buffer.length < bodyStart + length) return;
      const body = this.buffer.subarray(bodyStart, bodyStart + length).toString('utf8');
      this.buffer = this.buffer.subarray(bodyStart + length);
      this.onMessage(body);
    }
  }

  private skip(bytes: number, reason: string): void {
    this.onBadFrame(reason);
    this.buffer = this.buffer.subarray(bytes);
  }
}

export function frame(message: string): string {
  return `Content-Length: ${Buffer.byteLength(message, 'utf8')}\r\n\r\n${message}`;
}

export function stdioConnection(output: Writable): Connection {
  return {
    label: 'stdio',
    send: (message) => {
      if (!output.writableEnded) output.write(frame(message));
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
  input.on('data', (chunk: Buffer) => reader.push(chunk));
  input.on('end', onEnd);
  input.on('close', onEnd);
}
