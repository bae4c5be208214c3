/**
 * The texts of the Logs toolbar that follow what the panel shows: how many lines pass the
 * stream and source filters (of how many held) and, with a search, how many of them match;
 * the search's own counter (`3 of 12`). Pure.
 */

/** What the line count describes. */
export interface LineCount {
  /** Lines that pass the filters (the rows shown). */
  readonly shown: number;
  /** Lines held. */
  readonly total: number;
  /** With a search: the rows shown that match it. */
  readonly matches?: number;
}

const lines = (n: number) => `${n.toLocaleString()} line${n === 1 ? '' : 's'}`;

/** `10 lines`, `4 of 10 lines` (filtered), `4 of 10 lines · 2 matches` (and searched). */
export function lineCountText(c: LineCount): string {
  const base = c.shown === c.total ? lines(c.total) : `${c.shown.toLocaleString()} of ${lines(c.total)}`;
  if (c.matches === undefined) return base;
  return `${base} · ${c.matches.toLocaleString()} match${c.matches === 1 ? '' : 'es'}`;
}

/** The search counter: empty without a search, `No results`, or the current match of how many. */
export function matchCounterText(query: string, current: number, count: number): string {
  if (!query) return '';
  return count === 0 ? 'No results' : `${(current + 1).toLocaleString()} of ${count.toLocaleString()}`;
}
