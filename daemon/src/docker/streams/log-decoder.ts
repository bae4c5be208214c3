/**
 * Turns the bytes of a container's log stream into log records `{stream, line, t?}`.
 *
 * Without a TTY the engine multiplexes stdout and stderr in frames, one frame per log entry;
 * with a TTY it sends the raw terminal output, all of it stdout. When timestamps were asked
 * for, every entry starts with `<RFC 3339 nanosecond timestamp> `: the decoder moves it into
 * `t` (or drops it when the caller did not want it). The engine cuts lines longer than 16 KiB
 * into several entries; a line keeps the timestamp of its first entry.
 */
import type { LogRecord } from '../../../../schemas/src/docker-streams';
import { FrameDemuxer } from './frame-demuxer';
import { LineSplitter } from './line-splitter';
import { parseTimestampNs, splitTimestamp, type LogCursor } from './log-cursor';

/** One line of a container's output, as the protocol carries it. */
export type { LogRecord } from '../../../../schemas/src/docker-streams';

/** How the log stream was asked for, and what to do with timestamps. */
export interface LogDecoderOptions {
  /** The container runs with a TTY: the stream is raw, not multiplexed. */
  readonly tty: boolean;
  /** The engine was asked to prefix entries with timestamps. */
  readonly timestamped: boolean;
  /** Put the timestamp in `t` (otherwise it is only used to resume and de-duplicate). */
  readonly keepTimestamps: boolean;
  /** Skips entries a resumed read repeats, and records what was delivered. */
  readonly cursor?: LogCursor;
  readonly maxLineBytes?: number;
}

/** The engine reported a failure inside the log stream itself. */
export class LogStreamError extends Error {}

interface LineState {
  readonly splitter: LineSplitter;
  /** Timestamp of the entry that started the pending line. */
  t: string | undefined;
}

/** Log stream bytes in, log records out; one decoder per engine request. */
export class LogDecoder {
  private readonly demuxer: FrameDemuxer | undefined;
  private readonly stdout: LineState;
  private readonly stderr: LineState;

  constructor(private readonly opts: LogDecoderOptions) {
    this.demuxer = opts.tty ? undefined : new FrameDemuxer();
    this.stdout = { splitter: new LineSplitter(opts.maxLineBytes), t: undefined };
    this.stderr = { splitter: new LineSplitter(opts.maxLineBytes), t: undefined };
  }

  /** The records this chunk completes, in stream order. */
  push(chunk: Buffer): LogRecord[] {
    const out: LogRecord[] = [];
    if (!this.demuxer) {
      for (const line of this.stdout.splitter.push(chunk)) this.rawLine(line, out);
      return out;
    }
    for (const frame of this.demuxer.push(chunk)) {
      if (frame.stream === 'error') throw new LogStreamError(frame.payload.toString('utf8').trim());
      this.entry(frame.stream, frame.payload, out);
    }
    return out;
  }

  /** The last, unterminated lines once the stream has ended. */
  end(): LogRecord[] {
    const out: LogRecord[] = [];
    if (!this.demuxer) {
      const line = this.stdout.splitter.flush();
      if (line !== undefined) this.rawLine(line, out);
      return out;
    }
    for (const [stream, state] of [
      ['stdout', this.stdout],
      ['stderr', this.stderr],
    ] as const) {
      const line = state.splitter.flush();
      if (line !== undefined) out.push(this.record(stream, line, state.t));
    }
    return out;
  }

  /** One multiplexed entry (frame payload) of one stream. */
  private entry(stream: 'stdout' | 'stderr', payload: Buffer, out: LogRecord[]): void {
    const state = stream === 'stdout' ? this.stdout : this.stderr;
    let text = payload;
    if (this.opts.timestamped) {
      const parts = splitTimestamp(payload);
      if (parts) {
        if (this.opts.cursor && !this.opts.cursor.accept(parts.ns)) return;
        if (!state.splitter.hasPartial) state.t = parts.t;
        text = parts.rest;
      }
    }
    for (const line of state.splitter.push(text)) out.push(this.record(stream, line, state.t));
  }

  /** One line of a TTY stream, its timestamp (if any) still in front. */
  private rawLine(line: string, out: LogRecord[]): void {
    if (!this.opts.timestamped) {
      out.push(this.record('stdout', line, undefined));
      return;
    }
    const space = line.indexOf(' ');
    const t = space > 0 ? line.slice(0, space) : line;
    const ns = parseTimestampNs(t);
    if (ns === undefined) {
      out.push(this.record('stdout', line, undefined));
      return;
    }
    if (this.opts.cursor && !this.opts.cursor.accept(ns)) return;
    out.push(this.record('stdout', space > 0 ? line.slice(space + 1) : '', t));
  }

  private record(stream: 'stdout' | 'stderr', line: string, t: string | undefined): LogRecord {
    return this.opts.keepTimestamps && t !== undefined ? { stream, line, t } : { stream, line };
  }
}
