/**
 * The Stats panel's three uPlot charts (CPU %, memory used vs limit, network rx/tx rates),
 * coloured from the theme. Each chart takes the window's columns and picks its own series.
 * uPlot styles its elements through the CSSOM (allowed by the CSP) and its stylesheet is
 * bundled as `stats.css`.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartColumns, ChartTheme } from './state';
import { BYTE_INCREMENTS, formatBytes, formatPercent, formatRate, withAlpha } from './state';

export type ChartKind = 'cpu' | 'memory' | 'network';

/** What the view needs of a chart (tests pass a fake). */
export interface Chart {
  setData(columns: ChartColumns): void;
  setSize(width: number, height: number): void;
  destroy(): void;
}

export type ChartFactory = (kind: ChartKind, parent: HTMLElement, theme: ChartTheme, width: number, height: number) => Chart;

/** The columns of `kind` out of the window's columns. */
export function pick(kind: ChartKind, c: ChartColumns): uPlot.AlignedData {
  switch (kind) {
    case 'cpu':
      return [c[0], c[1]];
    case 'memory':
      return [c[0], c[2], c[3]];
    case 'network':
      return [c[0], c[4], c[5]];
  }
}

/** Whole seconds and minutes only: samples come once a second. */
const TIME_INCREMENTS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

export const uplotChart: ChartFactory = (kind, parent, theme, width, height) => {
  const axis = (format: (v: number) => string, incrs?: readonly number[]): uPlot.Axis => ({
    ...(incrs ? { incrs: [...incrs] } : {}),
    stroke: theme.foreground,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1 },
    font: theme.font,
    size: 86,
    values: (_u, splits) => splits.map((v) => format(v)),
  });
  const line = (label: string, stroke: string, format: (v: number) => string, dash?: number[]): uPlot.Series => {
    // Solid lines get a translucent area under them (a canvas fill takes no CSS variables).
    const fill = dash ? undefined : withAlpha(stroke, 0.15);
    return {
      label,
      stroke,
      width: 1.5,
      ...(dash ? { dash } : {}),
      ...(fill ? { fill } : {}),
      points: { show: false },
      value: (_u, v) => (v === null || v === undefined ? '–' : format(v)),
    };
  };
  const series: uPlot.Series[] =
    kind === 'cpu'
      ? [line('CPU', theme.cpu, formatPercent)]
      : kind === 'memory'
        ? [line('Used', theme.memory, formatBytes), line('Limit', theme.limit, formatBytes, [4, 4])]
        : [line('Received', theme.rx, formatRate), line('Sent', theme.tx, formatRate)];
  const format = kind === 'cpu' ? (v: number) => `${v.toFixed(0)} %` : kind === 'memory' ? formatBytes : formatRate;
  const opts: uPlot.Options = {
    width,
    height,
    series: [{ value: (_u, v) => (v === null || v === undefined ? '' : new Date(v * 1000).toLocaleTimeString()) }, ...series],
    axes: [
      {
        stroke: theme.foreground,
        grid: { stroke: theme.grid, width: 1 },
        ticks: { stroke: theme.grid, width: 1 },
        font: theme.font,
        space: 90,
        incrs: TIME_INCREMENTS,
        values: (_u, splits) => splits.map((v) => new Date(v * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })),
      },
      axis(format, kind === 'cpu' ? undefined : BYTE_INCREMENTS),
    ],
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(kind === 'cpu' ? 5 : 1, max * 1.1, min)] } },
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
  const plot = new uPlot(opts, [[], ...series.map(() => [])], parent);
  return {
    setData: (columns) => plot.setData(pick(kind, columns)),
    setSize: (w, h) => plot.setSize({ width: w, height: h }),
    destroy: () => plot.destroy(),
  };
};
