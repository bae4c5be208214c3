/** The Stats webview's state: bounded windows, sandbox sums per second, history then live, formatting, theme. */
import { describe, expect, it } from 'vitest';
import type { StatsSample } from '../../../schemas/src/docker-streams';
import { CARRY_SECONDS, SeriesWindow, StatsState, WINDOW_MS, chartTheme, figuresOf, formatBytes, formatPercent, formatRate, pointOf, withAlpha } from '../../../webviews/src/stats/state';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const sample = (ms: number, o: Partial<StatsSample> = {}): StatsSample => ({
  id: 'c1',
  t: iso(ms),
  cpuPercent: 10,
  memoryUsed: 100,
  memoryLimit: 1000,
  memoryPercent: 10,
  netRxRate: 1,
  netTxRate: 2,
  blockReadRate: 0,
  blockWriteRate: 0,
  ...o,
});

describe('SeriesWindow', () => {
  it('keeps points in time order and replaces a point at the same time', () => {
    const w = new SeriesWindow();
    for (const s of [2, 0, 1, 1]) w.upsert(pointOf(sample(T0 + s * 1000, { cpuPercent: s })));
    expect(w.all().map((p) => (p.t - T0) / 1000)).toEqual([0, 1, 2]);
    w.upsert(pointOf(sample(T0 + 1000, { cpuPercent: 42 })));
    expect(w.all()[1]!.cpuPercent).toBe(42);
    expect(w.size).toBe(3);
  });

  it('drops points older than an hour before the newest, and never holds more than its cap', () => {
    const w = new SeriesWindow(WINDOW_MS, 5000);
    for (let s = 0; s <= 4000; s++) w.upsert(pointOf(sample(T0 + s * 1000)));
    expect(w.first!.t).toBe(T0 + 400 * 1000);
    expect(w.last!.t - w.first!.t).toBe(WINDOW_MS);
    const capped = new SeriesWindow(WINDOW_MS, 100);
    for (let i = 0; i < 1000; i++) capped.upsert(pointOf(sample(T0 + i * 10)));
    expect(capped.size).toBe(100);
    expect(capped.last!.t).toBe(T0 + 9990);
  });

  it('gives uPlot columns: seconds, CPU, memory used and limit, rx, tx', () => {
    const w = new SeriesWindow();
    w.reset([pointOf(sample(T0, { cpuPercent: 5, memoryUsed: 7, memoryLimit: 9, netRxRate: 3, netTxRate: 4 }))]);
    expect(w.columns()).toEqual([[T0 / 1000], [5], [7], [9], [3], [4]]);
  });
});

describe('StatsState', () => {
  it('for a container: history replaces, then live samples not already in it follow', () => {
    const st = new StatsState(false);
    st.live([sample(T0 - 5000)]); // before history: replaced by it
    st.history([sample(T0), sample(T0 + 1000), sample(T0 + 2000)]);
    expect(st.series.size).toBe(3);
    expect(st.live([sample(T0 + 1000), sample(T0 + 2000)])).toBe(false); // already in the history
    expect(st.live([sample(T0 + 3000, { cpuPercent: 77 })])).toBe(true);
    expect(st.series.size).toBe(4);
    expect(st.series.last!.cpuPercent).toBe(77);
  });

  it('for a sandbox: sums containers per whole second, updating the second as more samples come', () => {
    const st = new StatsState(true);
    st.history([]);
    st.live([sample(T0 + 100, { id: 'a', cpuPercent: 10, memoryLimit: 64 })]);
    expect(st.series.last).toMatchObject({ t: T0, cpuPercent: 10, containers: 1 });
    st.live([sample(T0 + 400, { id: 'b', cpuPercent: 30, memoryLimit: 64 })]);
    expect(st.series.size).toBe(1);
    expect(st.series.last).toMatchObject({ t: T0, cpuPercent: 40, memoryLimit: 128, netRxRate: 2, netTxRate: 4, containers: 2 });
    // Next second: a ticks, b not yet: b's previous sample still counts (within the carry).
    st.live([sample(T0 + 1100, { id: 'a', cpuPercent: 20 })]);
    expect(st.series.last).toMatchObject({ t: T0 + 1000, cpuPercent: 50, containers: 2 });
    // Past the carry, b no longer counts.
    st.live([sample(T0 + (2 + CARRY_SECONDS) * 1000, { id: 'a', cpuPercent: 5 })]);
    expect(st.series.last).toMatchObject({ cpuPercent: 5, containers: 1 });
  });

  it('for a sandbox: rounds to the nearest second as the daemon does, and skips what the history holds', () => {
    const st = new StatsState(true);
    st.history([sample(T0, { id: 'sb', containers: 2, cpuPercent: 99 })]);
    st.live([sample(T0 - 300, { id: 'a' }), sample(T0 + 200, { id: 'b' })]); // both round to T0: in the history
    expect(st.series.all()).toHaveLength(1);
    expect(st.series.last!.cpuPercent).toBe(99);
    st.live([sample(T0 + 600, { id: 'a', cpuPercent: 1 })]); // rounds to T0 + 1 s
    expect(st.series.last).toMatchObject({ t: T0 + 1000, cpuPercent: 1 });
    expect(st.series.first!.containers).toBe(2);
  });
});

describe('formatting', () => {
  it('formats bytes in binary units with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64.0 MiB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
    expect(formatBytes(Number.NaN)).toBe('–');
    expect(formatRate(2048)).toBe('2.00 KiB/s');
    expect(formatPercent(12.345)).toBe('12.3 %');
  });

  it('gives the current figures, with the container count for a sandbox', () => {
    const f = figuresOf(pointOf(sample(T0, { cpuPercent: 51.26, memoryUsed: 32 * 1024 * 1024, memoryLimit: 64 * 1024 * 1024, netRxRate: 1024, containers: 3 })), true);
    expect(f).toMatchObject({ cpu: '51.3 %', memory: '32.0 MiB', memoryOf: 'of 64.0 MiB (50.0 %)', rx: '1.00 KiB/s', tx: '2 B/s', containers: '3 containers' });
    expect(figuresOf(undefined, false).cpu).toBe('–');
    expect(figuresOf(pointOf(sample(T0)), false).containers).toBeUndefined();
  });

  it('takes chart colours from the theme variables, with fallbacks', () => {
    const vars: Record<string, string> = { '--vscode-charts-blue': ' #0000ff ', '--vscode-foreground': '#ccc' };
    const theme = chartTheme((name) => vars[name] ?? '');
    expect(theme.cpu).toBe('#0000ff');
    expect(theme.foreground).toBe('#ccc');
    expect(theme.rx).toBe('#89d185');
  });

  it('makes translucent fills from theme colours', () => {
    expect(withAlpha('#3794ff', 0.15)).toBe('#3794ff26');
    expect(withAlpha('#abc', 1)).toBe('#aabbccff');
    expect(withAlpha('#3794ff80', 0)).toBe('#3794ff00');
    expect(withAlpha('rgb(1, 2, 3)', 0.5)).toBe('rgba(1, 2, 3, 0.5)');
    expect(withAlpha('var(--x)', 0.5)).toBeUndefined();
  });
});
