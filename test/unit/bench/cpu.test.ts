/** bench/lib/cpu.ts: a process's CPU time from /proc/<pid>/stat. */
import { describe, expect, it } from 'vitest';
import { cpuPercent, parseProcStatCpu, processCpuSeconds } from '../../../bench/lib/cpu';

describe('parseProcStatCpu', () => {
  it('reads utime and stime (fields 14 and 15) in seconds, counting from the end of the name', () => {
    const line = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 8 9 20 0 11 0 100 1000000 2000 18446744073709551615\n';
    expect(parseProcStatCpu(line)).toEqual({ user: 12.34, system: 5.67 });
  });

  it('throws on a text that is not a stat line', () => {
    expect(() => parseProcStatCpu('not a stat line')).toThrow(/not a \/proc\/<pid>\/stat line/);
    expect(() => parseProcStatCpu('1 (x) S 1 2')).toThrow(/not a \/proc\/<pid>\/stat line/);
  });

  it('reads this process, whose CPU time grows as it works', () => {
    const before = processCpuSeconds(process.pid);
    let x = 0;
    const until = Date.now() + 150;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    expect(processCpuSeconds(process.pid)).toBeGreaterThan(before);
  });
});

describe('cpuPercent', () => {
  it('is CPU time over wall time, in % of one core', () => {
    expect(cpuPercent(0.05, 10)).toBeCloseTo(0.5);
    expect(cpuPercent(2, 1)).toBe(200);
  });

  it('refuses no wall time', () => {
    expect(() => cpuPercent(1, 0)).toThrow(/no wall time/);
  });
});
