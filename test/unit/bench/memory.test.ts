/** bench/lib/memory.ts: /proc status figures and the growth of a series of samples. */
import { describe, expect, it } from 'vitest';
import { growth, MiB, parseProcStatus, parseSmaps, readAnonSplit, readProcMemory, slope } from '../../../bench/lib/memory';

const STATUS = `Name:\tnode
VmPeak:\t 1200000 kB
VmRSS:\t  106000 kB
RssAnon:\t   60000 kB
RssFile:\t   46000 kB
RssShmem:\t       0 kB
`;

describe('parseProcStatus', () => {
  it('reads VmRSS, RssAnon and RssFile in bytes', () => {
    expect(parseProcStatus(STATUS)).toEqual({ rss: 106000 * 1024, anon: 60000 * 1024, file: 46000 * 1024 });
  });

  it('names the line that is missing', () => {
    expect(() => parseProcStatus(STATUS.replace(/^RssAnon.*\n/m, ''))).toThrow(/RssAnon/);
  });

  it('reads this process', () => {
    const m = readProcMemory(process.pid);
    expect(m.rss).toBeGreaterThan(0);
    expect(m.anon + m.file).toBeLessThanOrEqual(m.rss);
  });
});

const SMAPS = `55d0c0a00000-55d0c0c00000 r-xp 00000000 fe:00 1234                       /usr/bin/node
Rss:                1000 kB
55d0c3a00000-55d0c4c00000 rw-p 00000000 00:00 0                          [heap]
Size:               2048 kB
Rss:                 300 kB
7f0000000000-7f0000040000 rw-p 00000000 00:00 0 
Rss:                 200 kB
7f0000100000-7f0000140000 rw-p 00000000 00:00 0                          [anon:v8]
Rss:                  20 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Rss:                  16 kB
`;

describe('parseSmaps', () => {
  it('splits the anonymous resident memory into the brk heap and the other anonymous mappings', () => {
    expect(parseSmaps(SMAPS)).toEqual({ brkHeap: 300 * 1024, otherAnon: 220 * 1024 });
  });

  it('reads this process', () => {
    const split = readAnonSplit(process.pid);
    expect(split.brkHeap + split.otherAnon).toBeGreaterThan(0);
    expect(split.brkHeap + split.otherAnon).toBeLessThanOrEqual(readProcMemory(process.pid).rss);
  });
});

describe('slope', () => {
  it('is the least-squares slope in bytes per second', () => {
    expect(slope([0, 10, 20, 30].map((s) => ({ seconds: s, bytes: 1000 + 5 * s })))).toBeCloseTo(5);
    // Noise around a flat line: no slope.
    expect(slope([104, 100, 100, 104].map((b, i) => ({ seconds: i * 10, bytes: b })))).toBeCloseTo(0);
  });

  it('is NaN without two distinct times', () => {
    expect(slope([{ seconds: 0, bytes: 1 }])).toBeNaN();
    expect(slope([{ seconds: 5, bytes: 1 }, { seconds: 5, bytes: 2 }])).toBeNaN();
  });
});

describe('growth', () => {
  it('fits the line over the second half only, per minute', () => {
    // A jump while settling in the first half, then flat: no growth by the slope, but end − start shows the jump.
    const bytes = [100, 150, 160, 160, 160, 160].map((m) => m * MiB);
    const g = growth(bytes.map((b, i) => ({ seconds: i * 10, bytes: b })));
    expect(g).toMatchObject({ start: 100 * MiB, end: 160 * MiB, max: 160 * MiB, endMinusStart: 60 * MiB });
    expect(g.slopePerMin).toBe(0);
  });

  it('finds a steady leak', () => {
    const g = growth(Array.from({ length: 10 }, (_, i) => ({ seconds: i * 10, bytes: 100 * MiB + i * MiB })));
    expect(g.slopePerMin / MiB).toBeCloseTo(6);
  });

  it('refuses too few samples', () => {
    expect(() => growth([{ seconds: 0, bytes: 1 }])).toThrow(/too few/);
  });
});
