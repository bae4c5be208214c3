/**
 * What a Logs panel shows of its store: the lines that pass the filter (streams, sources),
 * as rows 0 … `rows - 1`, and the search over those rows (matches, the current one, next and
 * previous). Both are kept incrementally as lines arrive and old ones are dropped, so a
 * million lines cost a scan only when the filter or the query changes. Pure (no DOM).
 */
import type { LogLine } from '../../../schemas/src/webview';
import type { LogStore } from './store';

export interface LogFilter {
  readonly stdout: boolean;
  readonly stderr: boolean;
  /** Sources hidden (by index). */
  readonly hiddenSources: ReadonlySet<number>;
}

export const SHOW_ALL: LogFilter = { stdout: true, stderr: true, hiddenSources: new Set() };

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

/** The text of a line without its ANSI escapes. */
export function plainText(text: string): string {
  return text.includes('\u001b') ? text.replace(ANSI, '') : text;
}

/** Sorted absolute indices with O(1) amortized drop from the front. */
class IndexList {
  private items: number[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  at(k: number): number {
    return this.items[this.head + k]!;
  }
  push(i: number): void {
    this.items.push(i);
  }
  /** Removes the entries below `base`; returns how many. */
  dropBelow(base: number): number {
    const start = this.head;
    while (this.head < this.items.length && this.items[this.head]! < base) this.head++;
    if (this.head > 65_536 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return this.head - start;
  }
  /** The position of the first entry >= `i`. */
  lowerBound(i: number): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class LogView {
  private filterValue: LogFilter = SHOW_ALL;
  /** The rows' absolute indices when a filter applies; undefined: every line is a row. */
  private rowsIndex: IndexList | undefined;
  private queryValue = '';
  private needle = '';
  /** Absolute indices of matching rows, ascending. */
  private readonly matches = new IndexList();
  /** The current match, as a position in `matches`; -1 for none. */
  private current = -1;

  constructor(private readonly store: LogStore) {}

  get filter(): LogFilter {
    return this.filterValue;
  }

  get query(): string {
    return this.queryValue;
  }

  /** How many rows show. */
  get rows(): number {
    return this.rowsIndex ? this.rowsIndex.length : this.store.size;
  }

  /** The absolute line index of row `r`. */
  lineIndexOf(r: number): number {
    return this.rowsIndex ? this.rowsIndex.at(r) : this.store.base + r;
  }

  line(r: number): LogLine | undefined {
    return this.store.get(this.lineIndexOf(r));
  }

  /** The row showing absolute line `i` (or the next row after it, when filtered out). */
  rowOf(i: number): number {
    return this.rowsIndex ? this.rowsIndex.lowerBound(i) : i - this.store.base;
  }

  /** Call after `store.append(lines)` with the index of the first line appended. */
  appended(from: number): void {
    const base = this.store.base;
    if (this.rowsIndex) this.rowsIndex.dropBelow(base);
    const droppedMatches = this.matches.dropBelow(base);
    if (this.current >= 0) this.current = this.current - droppedMatches;
    if (this.current < 0 && droppedMatches > 0) this.current = this.matches.length > 0 ? 0 : -1;
    for (let i = Math.max(from, base); i < this.store.end; i++) {
      const line = this.store.get(i)!;
      if (!this.passes(line)) continue;
      this.rowsIndex?.push(i);
      if (this.needle && this.hit(line)) this.matches.push(i);
    }
  }

  setFilter(filter: LogFilter): void {
    this.filterValue = filter;
    const all = filter.stdout && filter.stderr && filter.hiddenSources.size === 0;
    this.rowsIndex = all ? undefined : new IndexList();
    this.rescan();
  }

  /** Sets the search (case-insensitive, plain text); the current match becomes the first at or after `fromRow`. */
  setQuery(query: string, fromRow = 0): void {
    this.queryValue = query;
    this.needle = query.toLowerCase();
    this.rescan();
    this.current = -1;
    if (this.matches.length > 0) {
      const k = this.matches.lowerBound(this.lineIndexOf(Math.min(fromRow, Math.max(0, this.rows - 1))));
      this.current = k < this.matches.length ? k : 0;
    }
  }

  get matchCount(): number {
    return this.matches.length;
  }

  /** The position (0-based) of the current match, -1 for none. */
  get currentMatch(): number {
    return this.current;
  }

  /** The row of the current match, or -1. */
  get currentMatchRow(): number {
    return this.current < 0 ? -1 : this.rowOf(this.matches.at(this.current));
  }

  /** Moves to the next (or previous) match, wrapping; returns its row or -1. */
  step(delta: 1 | -1): number {
    const n = this.matches.length;
    if (n === 0) return -1;
    this.current = this.current < 0 ? (delta > 0 ? 0 : n - 1) : (this.current + delta + n) % n;
    return this.currentMatchRow;
  }

  /** Whether absolute line `i` matches the search. */
  isMatch(i: number): boolean {
    if (!this.needle) return false;
    const k = this.matches.lowerBound(i);
    return k < this.matches.length && this.matches.at(k) === i;
  }

  /** The [start, end) ranges of the search in `text` (plain text). */
  ranges(text: string): [number, number][] {
    if (!this.needle) return [];
    const out: [number, number][] = [];
    const lower = text.toLowerCase();
    for (let at = lower.indexOf(this.needle); at >= 0; at = lower.indexOf(this.needle, at + this.needle.length)) {
      out.push([at, at + this.needle.length]);
    }
    return out;
  }

  /** Forget everything (the store was cleared). */
  reset(): void {
    this.rowsIndex?.clear();
    this.matches.clear();
    this.current = -1;
  }

  private passes(line: LogLine): boolean {
    const f = this.filterValue;
    return (line.err ? f.stderr : f.stdout) && !f.hiddenSources.has(line.src);
  }

  private hit(line: LogLine): boolean {
    return plainText(line.text).toLowerCase().includes(this.needle);
  }

  private rescan(): void {
    this.rowsIndex?.clear();
    this.matches.clear();
    const wantRows = this.rowsIndex !== undefined;
    if (!wantRows && !this.needle) return;
    for (let i = this.store.base; i < this.store.end; i++) {
      const line = this.store.get(i)!;
      if (!this.passes(line)) continue;
      if (wantRows) this.rowsIndex!.push(i);
      if (this.needle && this.hit(line)) this.matches.push(i);
    }
    if (this.current >= this.matches.length) this.current = this.matches.length - 1;
  }
}

/** Rows to render for a viewport: the visible ones plus `overscan` each side. */
export function visibleRows(scrollTop: number, viewportHeight: number, rowHeight: number, rows: number, overscan = 10): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(rows, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return { first, last: Math.max(first, last) };
}
