// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The Stats panel's DOM with fake charts (no canvas): three chart rows, figures beside them
 * from the newest point, one draw per frame however many batches arrive, charts made again
 * on a theme change.
 */
import { describe, expect, it } from 'vitest';
import type { StatsSample } from '../../../schemas/src/docker-streams';
import type { ChartColumns } from '../../../webviews/src/stats/state';
import type { ChartFactory, ChartKind } from '../../../webviews/src/stats/charts';
import { pick } from '../../../webviews/src/stats/charts';
import { StatsView } from '../../../webviews/src/stats/view';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const sample = (s: number, o: Partial<StatsSample> = {}): StatsSample => ({
  id: 'c',
  t: new Date(T0 + s * 1000).toISOString(),
  cpuPercent: 25,
  memoryUsed: 1024 * 1024,
  memoryLimit: 4 * 1024 * 1024,
  memoryPercent: 25,
  netRxRate: 100,
  netTxRate: 200,
  blockReadRate: 0,
  blockWriteRate: 0,
  ...o,
});

function setup(vars: Record<string, string> = {}) {
  const made: { kind: ChartKind; colour: string; data: ChartColumns[]; destroyed: boolean }[] = [];
  const charts: ChartFactory = (kind, _parent, theme) => {
    const c = { kind, colour: theme.cpu, data: [] as ChartColumns[], destroyed: false };
    made.push(c);
    return { setData: (d) => c.data.push(d), setSize: () => undefined, destroy: () => (c.destroyed = true) };
  };
  const frames: (() => void)[] = [];
  const view = new StatsView({ charts, schedule: (fn) => frames.push(fn), readVariable: (n) => vars[n] ?? '' });
  document.body.replaceChildren(view.element);
  view.layout();
  const flush = () => frames.splice(0).forEach((f) => f());
  const text = (sel: string) => view.element.querySelector(sel)!.textContent;
  return { view, made, frames, flush, text, vars };
}

describe('StatsView', () => {
  it('shows three charts with the figures of the newest sample beside them', () => {
    const { view, made, flush, text } = setup();
    expect(made.map((c) => c.kind)).toEqual(['cpu', 'memory', 'network']);
    expect(text('.figure.cpu .value')).toBe('–');
    view.reset(false);
    view.apply(true, [sample(0), sample(1, { cpuPercent: 50 })]);
    flush();
    expect(text('.figure.cpu .value')).toBe('50.0 %');
    expect(text('.figure.memory .value')).toBe('1.00 MiB');
    expect(text('.figure.memory .sub')).toBe('of 4.00 MiB (25.0 %)');
    expect(text('.figure.rx .value')).toBe('100 B/s');
    expect(text('.figure.tx .value')).toBe('200 B/s');
    expect(made[0]!.data.at(-1)![1]).toEqual([25, 50]);
  });

  it('draws once per frame however many batches arrive', () => {
    const { view, made, frames, flush } = setup();
    view.reset(false);
    view.apply(true, [sample(0)]);
    for (let i = 1; i <= 50; i++) view.apply(false, [sample(i)]);
    expect(frames).toHaveLength(1);
    const before = made[0]!.data.length;
    flush();
    expect(made[0]!.data.length).toBe(before + 1);
    expect(made[0]!.data.at(-1)![0]).toHaveLength(51);
  });

  it('shows the container count of a sandbox and remakes the charts in the new theme colours', () => {
    const { view, made, flush, text, vars } = setup({ '--vscode-charts-blue': '#111111' });
    view.reset(true);
    view.apply(false, [sample(0, { id: 'a' }), sample(0, { id: 'b' })]);
    flush();
    expect(text('.figure.cpu .value')).toBe('50.0 %');
    expect(view.element.querySelector('.chart-row.cpu .side')!.textContent).toContain('2 containers');
    vars['--vscode-charts-blue'] = '#222222';
    view.retheme();
    expect(made.slice(0, 3).every((c) => c.destroyed)).toBe(true);
    expect(made.slice(3).map((c) => c.colour)).toEqual(['#222222', '#222222', '#222222']);
    expect(made[3]!.data.at(-1)![1]).toEqual([50]); // the new charts have the data
  });

  it('picks each chart’s columns', () => {
    const cols: ChartColumns = [[1], [2], [3], [4], [5], [6]];
    expect(pick('cpu', cols)).toEqual([[1], [2]]);
    expect(pick('memory', cols)).toEqual([[1], [3], [4]]);
    expect(pick('network', cols)).toEqual([[1], [5], [6]]);
  });
});
