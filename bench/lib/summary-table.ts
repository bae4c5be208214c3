/**
 * The closing table of a `scripts/bench.sh` run: one row per ratio of every bench, from the
 * JSON lines the benches appended to the BENCH_SUMMARY file (bench/lib/report.ts), with each
 * bench's outcome and the machine's load while it ran.
 */
import { formatLoad, formatRatio, type BenchSummary } from './report';
import { formatTable } from './stats';

export function parseSummaries(text: string): BenchSummary[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as BenchSummary);
}

/** Every bench's ratios, and benches that ended without any (they failed early) on a row of their own. */
export function formatSummaries(summaries: readonly BenchSummary[]): string {
  const rows: string[][] = [];
  for (const s of summaries) {
    const outcome = s.ok ? 'ok' : 'FAILED';
    const load = `${formatLoad(s.loadStart.slice(0, 1))}→${formatLoad(s.loadEnd.slice(0, 1))}`;
    if (s.ratios.length === 0) rows.push([`${s.bench}: (no ratio)`, '', '', outcome, load]);
    for (const r of s.ratios) rows.push([`${s.bench}: ${r.label}`, formatRatio(r.value), r.figures, outcome, load]);
  }
  const table = formatTable(['bench: ratio', 'value', 'figures', 'checks', 'load 1 min'], rows);
  const failed = summaries.filter((s) => !s.ok);
  const cores = summaries[0]?.cores;
  const lines = [table, '', `${summaries.length} benches on ${cores ?? '?'} cores, ${failed.length} failed`];
  for (const s of failed) lines.push(`  ${s.bench}: ${s.failed.join('; ')}`);
  return lines.join('\n');
}
