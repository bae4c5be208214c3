/**
 * What a chart's legend shows for a series: the value under the cursor, or, with the cursor
 * away from the chart, the newest value (uPlot passes no index then), so the legend always
 * reads as figures and never as a row of dashes.
 */

/** The legend text of `column` at data index `idx` (null or undefined: the cursor is away). */
export function legendValue(column: ArrayLike<number | null | undefined> | undefined, idx: number | null | undefined, format: (v: number) => string): string {
  if (!column || column.length === 0) return '';
  const at = idx === null || idx === undefined ? newestIndex(column) : idx;
  const v = at < 0 ? undefined : column[at];
  return v === null || v === undefined || !Number.isFinite(v) ? '' : format(v);
}

/** The index of the newest finite value, -1 for none. */
function newestIndex(column: ArrayLike<number | null | undefined>): number {
  for (let i = column.length - 1; i >= 0; i--) {
    const v = column[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) return i;
  }
  return -1;
}
