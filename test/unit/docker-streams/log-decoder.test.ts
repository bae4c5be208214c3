import { describe, expect, it } from 'vitest';
import { FrameDemuxer } from '../../../daemon/src/docker/streams/frame-demuxer';
import { LogCursor, dockerTime, parseTimestampNs, toDockerSince } from '../../../daemon/src/docker/streams/log-cursor';
import { LogDecoder, LogStreamError, type LogRecord } from '../../../daemon/src/docker/streams/log-decoder';

/** A frame as the engine writes it: type, 3 zero bytes, big-endian length, payload. */
function frame(type: 1 | 2 | 3, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Feeds `bytes` cut into pieces of `size` and collects every record. */
function decodeInPieces(decoder: LogDecoder, bytes: Buffer, size: number): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...decoder.push(bytes.subarray(i, i + size)));
  out.push(...decoder.end());
  return out;
}

const T1 = '2024-05-01T10:00:00.000000001Z';
const T2 = '2024-05-01T10:00:00.000000002Z';
const T3 = '2024-05-01T10:00:01.500000000Z';

describe('FrameDemuxer', () => {
  it('hands out whole frames whatever the chunking', () => {
    const bytes = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'x'.repeat(1000))]);
    for (const size of [1, 3, 7, 8, 9, 100, bytes.length]) {
      const d = new FrameDemuxer();
      const frames = [];
      for (let i = 0; i < bytes.length; i += size) frames.push(...d.push(bytes.subarray(i, i + size)));
      expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
        ['stdout', 'out\n'],
        ['stderr', 'err\n'],
        ['stdout', 'x'.repeat(1000)],
      ]);
      expect(d.leftover).toBe(0);
    }
  });

  it('refuses a stream that is not multiplexed', () => {
    expect(() => new FrameDemuxer().push(Buffer.from('plain text, not frames\n'))).toThrow(/not a multiplexed/);
  });
});

describe('LogDecoder', () => {
  it('keeps stdout and stderr apart, and a line cut across frames and chunks whole', () => {
    const bytes = Buffer.concat([frame(1, 'out 1\nout'), frame(2, 'err 1\n'), frame(1, ' 2\n'), frame(2, 'tail')]);
    for (const size of [1, 5, 13, bytes.length]) {
      const records = decodeInPieces(
        new LogDecoder({ tty: false, timestamped: false, keepTimestamps: false }),
        bytes,
        size,
      );
      expect(records).toEqual([
        { stream: 'stdout', line: 'out 1' },
        { stream: 'stderr', line: 'err 1' },
        { stream: 'stdout', line: 'out 2' },
        { stream: 'stderr', line: 'tail' },
      ]);
    }
  });

  it("moves the timestamp of each entry into t, a long line keeping its first entry's", () => {
    const bytes = Buffer.concat([frame(1, `${T1} first\n`), frame(1, `${T2} long `), frame(1, `${T3} line\n`)]);
    const records = decodeInPieces(new LogDecoder({ tty: false, timestamped: true, keepTimestamps: true }), bytes, 4);
    expect(records).toEqual([
      { stream: 'stdout', line: 'first', t: T1 },
      { stream: 'stdout', line: 'long line', t: T2 },
    ]);
  });

  it('drops the timestamp when it was only asked for internally', () => {
    const records = decodeInPieces(
      new LogDecoder({ tty: false, timestamped: true, keepTimestamps: false }),
      frame(2, `${T1} oops\n`),
      3,
    );
    expect(records).toEqual([{ stream: 'stderr', line: 'oops' }]);
  });

  it('reads a TTY stream raw, all stdout, with CRLF line ends', () => {
    const bytes = Buffer.from(`${T1} hello\r\n${T2} world\r\n${T3} partial`);
    const records = decodeInPieces(new LogDecoder({ tty: true, timestamped: true, keepTimestamps: true }), bytes, 6);
    expect(records).toEqual([
      { stream: 'stdout', line: 'hello', t: T1 },
      { stream: 'stdout', line: 'world', t: T2 },
      { stream: 'stdout', line: 'partial', t: T3 },
    ]);
  });

  it('reports an engine error frame', () => {
    const decoder = new LogDecoder({ tty: false, timestamped: false, keepTimestamps: false });
    expect(() => decoder.push(frame(3, 'error from daemon in stream: boom'))).toThrow(LogStreamError);
  });

  it('skips what a resumed read repeats, and only that', () => {
    const cursor = new LogCursor();
    const first = new LogDecoder({ tty: false, timestamped: true, keepTimestamps: false, cursor });
    // Two entries share T2: both delivered before the restart.
    decodeInPieces(first, Buffer.concat([frame(1, `${T1} a\n`), frame(1, `${T2} b\n`), frame(2, `${T2} c\n`)]), 100);
    expect(cursor.resumeSince()).toBe(dockerTime(parseTimestampNs(T2)!));
    cursor.beginResume();
    const resumed = new LogDecoder({ tty: false, timestamped: true, keepTimestamps: false, cursor });
    // The engine's since is inclusive: it repeats both T2 entries, then the new ones (one also at T2).
    const records = decodeInPieces(
      resumed,
      Buffer.concat([frame(1, `${T2} b\n`), frame(2, `${T2} c\n`), frame(1, `${T2} d\n`), frame(1, `${T3} e\n`)]),
      100,
    );
    expect(records.map((r) => r.line)).toEqual(['d', 'e']);
  });
});

describe('log times', () => {
  it('parses RFC 3339 with nanoseconds exactly', () => {
    expect(parseTimestampNs('1970-01-01T00:00:01.000000002Z')).toBe(1_000_000_002n);
    expect(parseTimestampNs('1970-01-01T01:00:01.5+01:00')).toBe(1_500_000_000n);
    expect(parseTimestampNs('not a time')).toBeUndefined();
  });

  it("converts a caller's since to the engine's syntax", () => {
    expect(toDockerSince(1714557600)).toBe('1714557600');
    expect(toDockerSince('1714557600.25')).toBe('1714557600.25');
    expect(toDockerSince('2024-05-01T10:00:00Z')).toBe('1714557600.000000000');
    expect(toDockerSince('2024-05-01T10:00:00.123Z')).toBe('1714557600.123000000');
    expect(toDockerSince('2024-05-01T10:00Z')).toBe('1714557600.000000000');
    expect(toDockerSince('yesterday')).toBeUndefined();
    expect(toDockerSince(-1)).toBeUndefined();
  });
});
