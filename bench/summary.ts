/**
 * Prints the closing table of a bench run from its BENCH_SUMMARY file (scripts/bench.sh).
 *
 *   node --import tsx bench/summary.ts <file>
 */
import { readFileSync } from 'node:fs';
import { formatSummaries, parseSummaries } from './lib/summary-table';

const file = process.argv[2];
if (!file) {
  console.error('usage: node --import tsx bench/summary.ts <summary file>');
  process.exit(2);
}
console.log(formatSummaries(parseSummaries(readFileSync(file, 'utf8'))));
