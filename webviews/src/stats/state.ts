/**
 * What a Stats panel holds, without DOM: a bounded time window of samples per panel (at most
 * an hour, and at most `maxPoints` points), in columns uPlot draws directly; for a sandbox,
 * the live per-container samples summed second by second by the rule the daemon sums its
 * history with (`schemas/src/stats-sums.ts`); and the formatting of bytes, rates and percentages.
 */
import type { StatsSample } from '../../../schemas/src/docker-streams';
import { clock } from '../shared/clock';
import { SecondSums, secondOf, type SummedPoint } from '../../../schemas/src/stats-sums';

/** How much time a panel shows and keeps. */
export const WINDOW_MS = 3_600_000;
/** A hard bound on points, whatever the sample rate. */
export const MAX_POINTS = 7_200;
export { CARRY_SECONDS } from '../../../schemas/src/stats-sums';

/** One point of the window; `t` in ms since the epoch. */
export interface StatsPoint {
  readonly t: number;
  readonly cpuPercent: number;
  readonly memoryUsed: number;
  readonly memoryLimit: number;
  readonly netRxRate: number;
  readonly netTxRate: number;
  readonly containers: number;
}

export const pointOf = (s: StatsSample): StatsPoint => ({
  t: Date.parse(s.t),
  cpuPercent: s.cpuPercent,
  memoryUsed: s.memoryUsed,
  memoryLimit: s.memoryLimit,
  netRxRate: s.netRxRate,
  netTxRate: s.netTxRate,
  containers: s.containers ?? 1,
});

/** uPlot's columns: x in seconds, then CPU %, memory used, memory limit, rx, tx. */
export type ChartColumns = [number[], number[], number[], number[], number[], number[]];

/** A ring window of points ordered by time: old points fall out past `windowMs` or `maxPoints`. */
export class SeriesWindow {
  private points: StatsPoint[] = [];

  constructor(
    readonly windowMs = WINDOW_MS,
    readonly maxPoints = MAX_POINTS,
  ) {}

  get size(): number {
    return this.points.length;
  }

  get last(): StatsPoint | undefined {
    return this.points[this.points.length - 1];
  }

  get first(): StatsPoint | undefined {
    return this.points[0];
  }

  all(): readonly StatsPoint[] {
    return this.points;
  }

  /** Replaces everything (the history sent on open). */
  reset(points: readonly StatsPoint[] = []): void {
    this.points = [...points].filter((p) => Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
    this.trim();
  }

  /** Adds a point, or replaces the point at the same `t`; keeps time order. */
  upsert(p: StatsPoint): void {
    if (!Number.isFinite(p.t)) return;
    const n = this.points.length;
    if (n === 0 || p.t > this.points[n - 1]!.t) this.points.push(p);
    else {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.points[mid]!.t < p.t) lo = mid + 1;
        else hi = mid;
      }
      if (this.points[lo]?.t === p.t) this.points[lo] = p;
      else this.points.splice(lo, 0, p);
    }
    this.trim();
  }

  /** The columns to draw. */
  columns(): ChartColumns {
    const cols: ChartColumns = [[], [], [], [], [], []];
    for (const p of this.points) {
      cols[0].push(p.t / 1000);
      cols[1].push(p.cpuPercent);
      cols[2].push(p.memoryUsed);
      cols[3].push(p.memoryLimit);
      cols[4].push(p.netRxRate);
      cols[5].push(p.netTxRate);
    }
    return cols;
  }

  private trim(): void {
    const newest = this.last?.t;
    if (newest === undefined) return;
    let drop = 0;
    while (drop < this.points.length && this.points[drop]!.t < newest - this.windowMs) drop++;
    drop = Math.max(drop, this.points.length - this.maxPoints);
    if (drop > 0) this.points.splice(0, drop);
  }
}

/**
 * The state of one Stats panel: for a container, its samples as they are; for a sandbox, the
 * history's sums then live per-container samples summed per second. Live samples at or before
 * the end of the history are skipped (the host subscribes before reading the history).
 */
export class StatsState {
  readonly series: SeriesWindow;
  /** The latest sample of each container (sandbox), summed per second. */
  private readonly sums = new SecondSums();
  /** Live samples at or before this (ms; whole second for a sandbox) are already in the history. */
  private floor = -Infinity;

  constructor(
    readonly sandbox: boolean,
    series = new SeriesWindow(),
  ) {
    this.series = series;
  }

  /** Replaces what is shown with the history (oldest first). */
  history(samples: readonly StatsSample[]): void {
    this.sums.clear();
    this.series.reset(samples.map(pointOf));
    const last = this.series.last;
    this.floor = last ? last.t : -Infinity;
  }

  /** Applies live samples; answers whether anything shown changed. */
  live(samples: readonly StatsSample[]): boolean {
    let changed = false;
    for (const s of samples) {
      const p = pointOf(s);
      if (!Number.isFinite(p.t)) continue;
      if (!this.sandbox) {
        if (p.t <= this.floor) continue;
        this.series.upsert(p);
        changed = true;
        continue;
      }
      const second = secondOf(p.t);
      if (second * 1000 <= this.floor) continue;
      if (!this.sums.add(s.id, { ...s, t: p.t })) continue; // out of order: keep the newer one
      this.series.upsert(shownSum(this.sums.sumAt(second)));
      changed = true;
    }
    return changed;
  }
}

/** What the panel draws of a sandbox sum. */
const shownSum = (s: SummedPoint): StatsPoint => ({
  t: s.t,
  cpuPercent: s.cpuPercent,
  memoryUsed: s.memoryUsed,
  memoryLimit: s.memoryLimit,
  netRxRate: s.netRxRate,
  netTxRate: s.netTxRate,
  containers: s.containers,
});

// --- Formatting ------------------------------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in binary units, three significant digits: `0 B`, `512 B`, `1.50 KiB`, `64.0 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  let u = 0;
  while (n >= 1024 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(n)} B`;
  return `${n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)} ${UNITS[u]}`;
}

/** Axis steps for byte values: powers of two (ticks land on 16 MiB, 32 MiB, 2 KiB/s…, not 23.8 MiB). */
export const BYTE_INCREMENTS: readonly number[] = [0, 1, 2, 3, 4].flatMap((k) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k));

/** Bytes per second. */
export function formatRate(n: number): string {
  return `${formatBytes(n)}/s`;
}

/** A percentage with one decimal (`12.3 %`). */
export function formatPercent(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(1)} %` : '–';
}

/** The figures shown beside the charts, for the newest point. */
export interface Figures {
  readonly cpu: string;
  readonly memory: string;
  readonly memoryOf: string;
  readonly rx: string;
  readonly tx: string;
  readonly containers?: string;
  readonly at?: string;
}

export function figuresOf(p: StatsPoint | undefined, sandbox: boolean): Figures {
  if (!p) return { cpu: '–', memory: '–', memoryOf: '', rx: '–', tx: '–' };
  const memPercent = p.memoryLimit > 0 ? (p.memoryUsed / p.memoryLimit) * 100 : 0;
  return {
    cpu: formatPercent(p.cpuPercent),
    memory: formatBytes(p.memoryUsed),
    memoryOf: `of ${formatBytes(p.memoryLimit)} (${formatPercent(memPercent)})`,
    rx: formatRate(p.netRxRate),
    tx: formatRate(p.netTxRate),
    ...(sandbox ? { containers: `${p.containers} container${p.containers === 1 ? '' : 's'}` } : {}),
    at: clock().time(p.t),
  };
}

// --- Theme -----------------------------------------------------------------------------------

export interface ChartTheme {
  readonly foreground: string;
  readonly grid: string;
  readonly cpu: string;
  readonly memory: string;
  readonly limit: string;
  readonly rx: string;
  readonly tx: string;
  readonly font: string;
}

/** The charts' colours from VS Code's theme variables (`read` gives a variable's value or ''). */
export function chartTheme(read: (variable: string) => string): ChartTheme {
  const v = (name: string, fallback: string) => read(name).trim() || fallback;
  const foreground = v('--vscode-charts-foreground', v('--vscode-foreground', '#888888'));
  return {
    foreground,
    grid: v('--vscode-charts-lines', 'rgba(128,128,128,0.25)'),
    cpu: v('--vscode-charts-blue', '#3794ff'),
    memory: v('--vscode-charts-purple', '#b180d7'),
    limit: v('--vscode-charts-red', '#f14c4c'),
    rx: v('--vscode-charts-green', '#89d185'),
    tx: v('--vscode-charts-orange', '#d18616'),
    font: `${v('--vscode-font-size', '12px')} ${v('--vscode-font-family', 'sans-serif')}`,
  };
}

/** A colour at `alpha` (0–1) for a canvas fill: hex (#rgb, #rrggbb[aa]) and rgb()/rgba(); others give none. */
export function withAlpha(colour: string, alpha: number): string | undefined {
  const c = colour.trim();
  const a = Math.round(Math.min(1, Math.max(0, alpha)) * 255)
    .toString(16)
    .padStart(2, '0');
  let m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) return `#${[...m[1]!].map((x) => x + x).join('')}${a}`;
  m = /^#([0-9a-f]{6})(?:[0-9a-f]{2})?$/i.exec(c);
  if (m) return `#${m[1]}${a}`;
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(c);
  if (m) return `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})`;
  return undefined;
}
