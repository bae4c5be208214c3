import { describe, expect, it } from 'vitest';
import { StatsHistory, sumBySecond } from '../../../daemon/src/docker/streams/stats-history';
import {
  cpuPercent,
  memoryUsed,
  toPoint,
  type RawStats,
  type StatsPoint,
} from '../../../daemon/src/docker/streams/stats-math';

/** A cgroup v1 document as the engine sends it (trimmed to what is read). */
function doc(over: {
  read: string;
  total: number;
  system: number;
  preTotal?: number;
  preSystem?: number;
  rx?: number;
  blkRead?: number;
}): RawStats {
  return {
    read: over.read,
    cpu_stats: {
      cpu_usage: { total_usage: over.total, percpu_usage: [1, 2] },
      system_cpu_usage: over.system,
      online_cpus: 2,
    },
    precpu_stats: { cpu_usage: { total_usage: over.preTotal ?? 0 }, system_cpu_usage: over.preSystem },
    memory_stats: {
      usage: 10_000_000,
      limit: 64 * 1024 * 1024,
      stats: { cache: 4_000_000, total_inactive_file: 3_000_000 },
    },
    networks: { eth0: { rx_bytes: over.rx ?? 0, tx_bytes: 0 } },
    blkio_stats: {
      io_service_bytes_recursive: [
        { op: 'Read', value: over.blkRead ?? 0 },
        { op: 'Write', value: 0 },
        { op: 'Total', value: 99 },
      ],
    },
  };
}

describe('stats math', () => {
  it('computes CPU % as the docker CLI does', () => {
    // 0.5 s of CPU over 2 s of system time (both CPUs), 2 CPUs online: 50 %.
    const raw = doc({ read: '2024-05-01T10:00:01Z', total: 1.5e9, preTotal: 1e9, system: 12e9, preSystem: 10e9 });
    expect(cpuPercent(raw)).toBeCloseTo(50);
    // Falls back to the number of per-CPU counters when online_cpus is missing.
    const noOnline = { ...raw, cpu_stats: { ...raw.cpu_stats, online_cpus: 0 } };
    expect(cpuPercent(noOnline)).toBeCloseTo(50);
  });

  it('gives no sample for the first document (no CPU baseline) and none for a stopped container', () => {
    const first = toPoint(doc({ read: '2024-05-01T10:00:00Z', total: 1e9, system: 10e9 }), undefined);
    expect(first?.point).toBeUndefined();
    expect(first?.counters).toBeDefined();
    expect(toPoint({ read: '0001-01-01T00:00:00Z' }, undefined)).toBeUndefined();
    expect(cpuPercent({})).toBe(0);
  });

  it('subtracts inactive page cache from memory (cgroup v1 total_inactive_file, v2 inactive_file)', () => {
    expect(memoryUsed(doc({ read: 'x', total: 0, system: 0 }))).toBe(7_000_000);
    expect(memoryUsed({ memory_stats: { usage: 5000, stats: { inactive_file: 1000 } } })).toBe(4000);
    expect(memoryUsed({ memory_stats: { usage: 5000 } })).toBe(5000);
  });

  it('computes I/O rates between consecutive documents, never negative', () => {
    const a = toPoint(
      doc({ read: '2024-05-01T10:00:00Z', total: 1e9, system: 10e9, rx: 1000, blkRead: 0 }),
      undefined,
    )!;
    const b = toPoint(
      doc({
        read: '2024-05-01T10:00:02Z',
        total: 1.1e9,
        preTotal: 1e9,
        system: 12e9,
        preSystem: 10e9,
        rx: 5000,
        blkRead: 8192,
      }),
      a.counters,
    )!;
    expect(b.point?.netRxRate).toBe(2000);
    expect(b.point?.blockReadRate).toBe(4096);
    // Counters reset (container restarted): 0, not a negative rate.
    const c = toPoint(
      doc({ read: '2024-05-01T10:00:03Z', total: 1.2e9, preTotal: 1.1e9, system: 13e9, preSystem: 12e9, rx: 10 }),
      b.counters,
    )!;
    expect(c.point?.netRxRate).toBe(0);
    for (const v of Object.values(c.point!)) expect(Number.isFinite(v)).toBe(true);
  });
});

const point = (t: number, cpu: number): StatsPoint => ({
  t,
  cpuPercent: cpu,
  memoryUsed: 1,
  memoryLimit: 10,
  netRxRate: 0,
  netTxRate: 0,
  blockReadRate: 0,
  blockWriteRate: 0,
});

describe('StatsHistory', () => {
  it('keeps the last `capacity` samples in order, in fixed memory', () => {
    const h = new StatsHistory(3);
    for (let i = 1; i <= 5; i++) h.push(point(i * 1000, i));
    expect(h.size).toBe(3);
    expect(h.since().map((p) => p.cpuPercent)).toEqual([3, 4, 5]);
    expect(h.since(4000).map((p) => p.cpuPercent)).toEqual([4, 5]);
    expect(h.since(9000)).toEqual([]);
    expect(h.latest()?.cpuPercent).toBe(5);
  });

  it('holds an hour at one sample a second by default', () => {
    const h = new StatsHistory();
    for (let i = 0; i < 5000; i++) h.push(point(i * 1000, i));
    expect(h.size).toBe(3600);
    expect(h.since()[0]?.cpuPercent).toBe(1400);
  });
});

describe('sumBySecond', () => {
  it('adds containers up second by second, carrying a late sample over', () => {
    const a = [point(1000, 10), point(2010, 10), point(3000, 10)];
    const b = [point(980, 5), point(3020, 7)]; // no sample near second 2: carries its second-1 value
    const sum = sumBySecond([a, b]);
    expect(sum.map((p) => [p.t, p.cpuPercent, p.containers])).toEqual([
      [1000, 15, 2],
      [2000, 15, 2],
      [3000, 17, 2],
    ]);
  });
});
