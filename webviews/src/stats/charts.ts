/**
 * The Stats panel's three uPlot charts (CPU %, memory used vs limit, network rx/tx rates),
 * coloured from the theme, times written by the panel's clock, the memory axis by
 * `memory-axis.ts`, legends by `legend.ts`. Each chart takes the window's columns and picks its own series.
 * uPlot styles its elements through the CSSOM (allowed by the CSP) and its stylesheet is
 * bundled as `stats.css`.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { clock } from '../shared/clock';
import { legendValue } from './legend';
import { memoryAxis } from './memory-axis';
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
      value: (u, _v, sidx, idx) => legendValue(u.data[sidx], idx, format),
    };
  };
  const series: uPlot.Series[] =
    kind === 'cpu'
      ? [line('CPU', theme.cpu, formatPercent)]
      : kind === 'memory'
        ? [line('Used', theme.memory, formatBytes), line('Limit', theme.limit, formatBytes, [4, 4])]
        : [line('Received', theme.rx, formatRate), line('Sent', theme.tx, formatRate)];
  const format = kind === 'cpu' ? (v: number) => `${v.toFixed(0)} %` : kind === 'memory' ? formatBytes : formatRate;
  const time = (seconds: number) => clock().time(seconds * 1000);
  const yRange: uPlot.Range.Function =
    kind === 'memory'
      ? (u) => [0, memoryAxis(u.data[1] as number[], u.data[2] as number[]).max]
      : (_u, min, max) => [0, Math.max(kind === 'cpu' ? 5 : 1, max * 1.1, min)];
  const opts: uPlot.Options = {
    width,
    height,
    series: [{ value: (u, _v, _sidx, idx) => legendValue(u.data[0], idx, time) }, ...series],
    axes: [
      {
        stroke: theme.foreground,
        grid: { stroke: theme.grid, width: 1 },
        ticks: { stroke: theme.grid, width: 1 },
        font: theme.font,
        space: 90,
        incrs: TIME_INCREMENTS,
        values: (_u, splits) => splits.map(time),
      },
      axis(format, kind === 'cpu' ? undefined : BYTE_INCREMENTS),
    ],
    scales: { x: { time: true }, y: { range: yRange } },
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    // The top of the y axis, on the plot's element (the axis itself is drawn on the canvas).
    hooks: {
      setScale: [
        (u, key) => {
          if (key === 'y') parent.dataset.yMax = String(u.scales.y?.max ?? '');
        },
      ],
    },
  };
  const plot = new uPlot(opts, [[], ...series.map(() => [])], parent);
  return {
    setData: (columns) => plot.setData(pick(kind, columns)),
    setSize: (w, h) => plot.setSize({ width: w, height: h }),
    destroy: () => plot.destroy(),
  };
};
