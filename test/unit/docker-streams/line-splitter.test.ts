import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../daemon/src/docker/streams/line-splitter';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('LineSplitter', () => {
  it('returns complete lines and keeps a partial one for the next chunk', () => {
    const s = new LineSplitter();
    expect(s.push(b('one\ntw'))).toEqual(['one']);
    expect(s.hasPartial).toBe(true);
    expect(s.push(b('o\nthree\n'))).toEqual(['two', 'three']);
    expect(s.hasPartial).toBe(false);
    expect(s.flush()).toBeUndefined();
  });

  it('joins a line cut across many chunks, byte by byte', () => {
    const s = new LineSplitter();
    const out: string[] = [];
    for (const byte of b('alpha\nbeta\ngamma')) out.push(...s.push(Buffer.from([byte])));
    expect(out).toEqual(['alpha', 'beta']);
    expect(s.flush()).toBe('gamma');
    expect(s.flush()).toBeUndefined();
  });

  it('does not break a multi-byte UTF-8 character cut by a chunk boundary', () => {
    const s = new LineSplitter();
    const bytes = b('héllo wörld ✓\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside "é"
    expect(s.push(bytes.subarray(0, cut))).toEqual([]);
    expect(s.push(bytes.subarray(cut))).toEqual(['héllo wörld ✓']);
  });

  it('drops the carriage return of CRLF line ends, also when \\r and \\n arrive apart', () => {
    const s = new LineSplitter();
    expect(s.push(b('tty line\r'))).toEqual([]);
    expect(s.push(b('\nnext\r\n'))).toEqual(['tty line', 'next']);
  });

  it('keeps empty lines', () => {
    expect(new LineSplitter().push(b('\n\nx\n'))).toEqual(['', '', 'x']);
  });

  it('cuts a line longer than the limit instead of buffering it whole', () => {
    const s = new LineSplitter(8);
    expect(s.push(b('0123456789abcdef'))).toEqual(['01234567', '89abcdef']);
    expect(s.hasPartial).toBe(false);
    expect(s.push(b('xyz\n'))).toEqual(['xyz']);
  });

  it('does not cut inside a UTF-8 character at the limit', () => {
    const s = new LineSplitter(4);
    const lines = s.push(b('aaé€'));
    expect(lines.join('') + (s.flush() ?? '')).toBe('aaé€');
    for (const line of lines) expect(line).not.toContain('\ufffd');
  });
});
