/**
 * Figures for the benchmarks under bench/: percentiles of latency samples, rates, ratios,
 * and a plain aligned table to print them.
 *
 *   const s = summarize(samplesMs);           // { n, min, mean, p50, p90, p99, max }
 *   printTable(['', 'p50', 'p99'], [['echo', formatMs(s.p50), formatMs(s.p99)]]);
 */

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The p-th percentile (0..100) of ascending `sorted` values, interpolating linearly between
 * the two nearest ranks (as numpy's default does). NaN for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** A duration given in milliseconds, in the unit that reads best: `87 µs`, `1.42 ms`, `2.1 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A rate per second with thousands separated: `23 412/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return String(perSecond);
  return `${Math.round(perSecond).toLocaleString('en-US').replace(/,/g, ' ')}/s`;
}

/** `a / b` as a factor: `1.84×`. */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}

/**
 * Rows as an aligned text table: the first column left-aligned, the others right-aligned,
 * a rule under the header.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('   ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('   '), ...rows.map(line)].join('\n');
}

export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  console.log(formatTable(header, rows));
}

/**
 * The median round of `rounds` by `key`: one round, whose figures are then reported
 * together (never the best p50 of one round beside the best p99 of another). With an even
 * number of rounds, the lower of the two middle ones. Throws for no rounds.
 */
export function medianRound<T>(rounds: readonly T[], key: (round: T) => number): T {
  if (rounds.length === 0) throw new Error('no rounds to take the median of');
  const sorted = [...rounds].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The lowest and highest of `values` (NaN for none): how far rounds differ. */
export function spread(values: readonly number[]): { readonly min: number; readonly max: number } {
  return values.length ? { min: Math.min(...values), max: Math.max(...values) } : { min: NaN, max: NaN };
}

/** `spread` as text, each end formatted by `format`: `21 004/s–23 412/s`. */
export function formatSpread(values: readonly number[], format: (n: number) => string): string {
  const { min, max } = spread(values);
  return `${format(min)}–${format(max)}`;
}
