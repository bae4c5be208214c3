/**
 * The Logs panel's line list: a virtualized, fixed-row-height list over a `LogView`. Only the
 * rows in sight (and a few around) are in the DOM, recycled from a pool; a spacer gives the
 * scrollbar its full height. Following keeps the newest line in sight; scrolling up pauses
 * following, scrolling back to the bottom resumes it.
 *
 * `apply(lines)` is the one entry for new lines (store → view → render on the next frame).
 */
import type { LogLine, LogSourceRef } from '../../../schemas/src/webview';
import { SOURCE_COLOURS } from '../shared/bridge';
import { formatTime, renderAnsi, renderMarked } from './render-line';
import type { LogStore } from './store';
import { plainText, visibleRows, type LogView } from './view';

export const ROW_HEIGHT = 18;

export interface LogListOptions {
  readonly rowHeight?: number;
  /** Schedules a render (requestAnimationFrame in the webview; tests pass their own). */
  readonly schedule?: (fn: () => void) => void;
}

export class LogList {
  readonly element: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly layer: HTMLDivElement;
  private readonly pool: HTMLDivElement[] = [];
  private readonly rowHeight: number;
  private readonly schedule: (fn: () => void) => void;
  private scheduled = false;
  private followValue = true;
  private showTimestamps = true;
  private sources: readonly LogSourceRef[] = [];
  /** Ignore the scroll event our own scrolling causes. */
  private selfScroll = false;
  onFollowChange: (following: boolean) => void = () => undefined;

  constructor(
    private readonly store: LogStore,
    private readonly view: LogView,
    options: LogListOptions = {},
  ) {
    this.rowHeight = options.rowHeight ?? ROW_HEIGHT;
    this.schedule = options.schedule ?? ((fn) => requestAnimationFrame(fn));
    this.element = document.createElement('div');
    this.element.className = 'log-list';
    this.element.tabIndex = 0;
    this.spacer = document.createElement('div');
    this.spacer.className = 'log-spacer';
    this.layer = document.createElement('div');
    this.layer.className = 'log-rows';
    this.element.append(this.spacer, this.layer);
    this.element.addEventListener('scroll', () => this.onScroll());
  }

  get following(): boolean {
    return this.followValue;
  }

  setFollowing(follow: boolean): void {
    if (this.followValue === follow) return;
    this.followValue = follow;
    this.onFollowChange(follow);
    if (follow) this.invalidate();
  }

  setSources(sources: readonly LogSourceRef[]): void {
    this.sources = sources;
    this.invalidate();
  }

  setTimestamps(show: boolean): void {
    this.showTimestamps = show;
    this.invalidate();
  }

  /** New lines: into the store and the view; a render follows. Returns lines dropped from the store. */
  apply(lines: readonly LogLine[]): number {
    const from = this.store.end;
    const dropped = this.store.append(lines);
    this.view.appended(from);
    this.invalidate();
    return dropped;
  }

  /** Scrolls so that `row` is in sight (centred), pausing follow. */
  reveal(row: number): void {
    if (row < 0) return;
    this.setFollowing(false);
    const top = Math.max(0, row * this.rowHeight - this.viewportHeight() / 2);
    this.scrollTo(top);
    this.invalidate();
  }

  /** Renders on the next frame (at most once per frame). */
  invalidate(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.render();
    });
  }

  /** Renders now: sizes the spacer, follows, and fills the rows in sight. Returns how many rows are in the DOM. */
  render(): number {
    const rows = this.view.rows;
    const h = this.rowHeight;
    this.spacer.style.height = `${rows * h}px`;
    const viewport = this.viewportHeight();
    if (this.followValue) this.scrollTo(Math.max(0, rows * h - viewport));
    const { first, last } = visibleRows(this.element.scrollTop, viewport, h, rows);
    const count = last - first;
    while (this.pool.length < count) {
      const row = document.createElement('div');
      row.className = 'log-row';
      row.append(document.createElement('span'), document.createElement('span'), document.createElement('span'));
      (row.children[0] as HTMLElement).className = 'src';
      (row.children[1] as HTMLElement).className = 'ts';
      (row.children[2] as HTMLElement).className = 'text';
      this.pool.push(row);
      this.layer.append(row);
    }
    this.layer.style.transform = `translateY(${first * h}px)`;
    const currentRow = this.view.currentMatchRow;
    const multi = this.sources.length > 1;
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k]!;
      if (k >= count) {
        row.hidden = true;
        continue;
      }
      row.hidden = false;
      const r = first + k;
      const index = this.view.lineIndexOf(r);
      const line = this.store.get(index);
      if (!line) continue;
      this.fill(row, line, index, r === currentRow, multi);
    }
    return count;
  }

  private fill(row: HTMLDivElement, line: LogLine, index: number, current: boolean, multi: boolean): void {
    row.className = line.marker ? 'log-row marker' : line.err ? 'log-row err' : 'log-row';
    const [src, ts, text] = row.children as unknown as [HTMLElement, HTMLElement, HTMLElement];
    src.hidden = !multi;
    if (multi) {
      const source = this.sources[line.src];
      src.textContent = source?.label ?? String(line.src);
      src.style.color = `var(${SOURCE_COLOURS[line.src % SOURCE_COLOURS.length]})`;
    }
    ts.hidden = !this.showTimestamps;
    if (this.showTimestamps) ts.textContent = formatTime(line.ts);
    if (this.view.isMatch(index)) renderMarked(text, line.text, this.view.ranges(plainText(line.text)), current);
    else renderAnsi(text, line.text);
  }

  private viewportHeight(): number {
    return this.element.clientHeight || 600;
  }

  private scrollTo(top: number): void {
    if (Math.abs(this.element.scrollTop - top) < 1) return;
    this.selfScroll = true;
    this.element.scrollTop = top;
  }

  private onScroll(): void {
    if (this.selfScroll) {
      this.selfScroll = false;
      this.invalidate();
      return;
    }
    const atBottom = this.element.scrollTop + this.viewportHeight() >= this.view.rows * this.rowHeight - this.rowHeight;
    this.setFollowing(atBottom);
    this.invalidate();
  }
}
