/**
 * The Stats panel's DOM: one row per chart (CPU, memory, network), the current figures beside
 * each chart, a status line. Samples go into the `StatsState`; drawing happens at most once a
 * frame (`schedule`). Charts come from a factory, so tests run without a canvas.
 */
import { el } from '../shared/bridge';
import type { StatsSample } from '../../../schemas/src/docker-streams';
import type { Chart, ChartFactory, ChartKind } from './charts';
import { StatsState, chartTheme, figuresOf, type ChartTheme } from './state';

export const CHART_HEIGHT = 160;
const KINDS: readonly ChartKind[] = ['cpu', 'memory', 'network'];
const TITLES: Record<ChartKind, string> = { cpu: 'CPU', memory: 'Memory', network: 'Network' };

export interface StatsViewOptions {
  readonly charts: ChartFactory;
  /** Schedules a redraw (requestAnimationFrame in the webview; tests pass their own). */
  readonly schedule?: (fn: () => void) => void;
  /** Reads a CSS variable of the theme. */
  readonly readVariable?: (name: string) => string;
}

export class StatsView {
  readonly element: HTMLDivElement;
  state = new StatsState(false);
  private readonly status: HTMLDivElement;
  private readonly rows = new Map<ChartKind, { figures: HTMLDivElement; plot: HTMLDivElement; chart?: Chart }>();
  private readonly schedule: (fn: () => void) => void;
  private scheduled = false;
  private theme: ChartTheme;

  constructor(private readonly options: StatsViewOptions) {
    this.schedule = options.schedule ?? ((fn) => requestAnimationFrame(fn));
    this.theme = this.readTheme();
    this.status = el('div', { class: 'status' });
    this.element = el('div', { class: 'stats' }, this.status);
    for (const kind of KINDS) {
      const figures = el('div', { class: `figures ${kind}` });
      const plot = el('div', { class: 'plot' });
      this.element.append(el('section', { class: `chart-row ${kind}` }, el('div', { class: 'side' }, el('h3', {}, TITLES[kind]), figures), plot));
      this.rows.set(kind, { figures, plot });
    }
    this.showFigures();
  }

  /** Starts over for a target (on `init`). */
  reset(sandbox: boolean): void {
    this.state = new StatsState(sandbox);
    this.invalidate();
  }

  apply(history: boolean, samples: readonly StatsSample[]): void {
    if (history) this.state.history(samples);
    else if (!this.state.live(samples)) return;
    this.invalidate();
  }

  showStatus(level: 'info' | 'error', text: string): void {
    this.status.className = level === 'error' ? 'status error' : 'status';
    this.status.textContent = text;
  }

  /** Creates the charts once the element is laid out, and sizes them to their rows. */
  layout(): void {
    for (const kind of KINDS) {
      const row = this.rows.get(kind)!;
      const width = Math.max(200, row.plot.clientWidth || 600);
      if (row.chart) row.chart.setSize(width, CHART_HEIGHT);
      else row.chart = this.options.charts(kind, row.plot, this.theme, width, CHART_HEIGHT);
    }
    this.draw();
  }

  /** The theme changed: charts are made again with its colours. */
  retheme(): void {
    this.theme = this.readTheme();
    for (const row of this.rows.values()) {
      row.chart?.destroy();
      row.chart = undefined;
      row.plot.textContent = '';
    }
    this.layout();
  }

  /** Draws on the next frame (once, however many batches arrive before it). */
  invalidate(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  draw(): void {
    const columns = this.state.series.columns();
    for (const row of this.rows.values()) row.chart?.setData(columns);
    this.showFigures();
  }

  private showFigures(): void {
    const f = figuresOf(this.state.series.last, this.state.sandbox);
    const figure = (cls: string, label: string, value: string, sub = '') =>
      el('div', { class: `figure ${cls}` }, el('span', { class: 'label muted' }, label), el('span', { class: 'value' }, value), ...(sub ? [el('span', { class: 'sub muted' }, sub)] : []));
    this.rows.get('cpu')!.figures.replaceChildren(figure('cpu', 'CPU', f.cpu), ...(f.containers ? [el('div', { class: 'muted' }, f.containers)] : []), ...(f.at ? [el('div', { class: 'muted at' }, f.at)] : []));
    this.rows.get('memory')!.figures.replaceChildren(figure('memory', 'Used', f.memory, f.memoryOf));
    this.rows.get('network')!.figures.replaceChildren(figure('rx', '↓ Received', f.rx), figure('tx', '↑ Sent', f.tx));
  }

  private readTheme(): ChartTheme {
    const read = this.options.readVariable ?? ((name: string) => getComputedStyle(document.body).getPropertyValue(name));
    return chartTheme(read);
  }
}
