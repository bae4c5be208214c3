/**
 * What every benchmark prints and how it ends, in one place:
 *
 *   runBench('rpc', { options: { rounds: { full: 5, quick: 3, help: 'rounds' } } }, async ({ options }, report) => {
 *     …
 *     report.check(errors === 0, `${errors} answers were errors`);
 *     report.ratio('daemon / echo req/s', d.rps / e.rps, `${formatRate(d.rps)} vs ${formatRate(e.rps)}`);
 *   });
 *
 * The header names the bench, the mode and its settings, and the machine's load (cores,
 * load average) beside which the figures are to be read; the footer the load at the end, the
 * ratios, and every check that failed. The exit code is non-zero when a check failed or the
 * bench threw. With `BENCH_SUMMARY=<file>` set (scripts/bench.sh sets it), the summary is
 * appended to that file as one JSON line, for the table of every bench at the end.
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs, UsageError, type BenchArgs, type OptionSpec } from './args';
import { formatTable } from './stats';

export interface RatioFigure {
  /** What is divided by what: `gateway / direct req/s`. */
  readonly label: string;
  readonly value: number;
  /** The two figures behind it: `12 003/s vs 14 200/s`. */
  readonly figures: string;
}

/** One bench's outcome, as written to the BENCH_SUMMARY file. */
export interface BenchSummary {
  readonly bench: string;
  readonly quick: boolean;
  readonly ok: boolean;
  readonly cores: number;
  /** Load averages (1, 5, 15 min) at the start and at the end. */
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  readonly seconds: number;
  readonly ratios: readonly RatioFigure[];
  readonly failed: readonly string[];
}

/** 0 when nothing failed, 1 otherwise. */
export function exitCode(failed: readonly string[]): number {
  return failed.length === 0 ? 0 : 1;
}

export function formatLoad(load: readonly number[]): string {
  return load.map((n) => n.toFixed(2)).join(' ');
}

export function machineLine(): string {
  return `machine: ${cpus().length} cores, load average ${formatLoad(loadavg())} (1, 5, 15 min; a shared machine: compare ratios, not absolute figures)`;
}

export class Report {
  private readonly failed: string[] = [];
  private readonly ratios: RatioFigure[] = [];
  private readonly loadStart = loadavg();
  private readonly started = Date.now();

  constructor(
    readonly bench: string,
    readonly quick: boolean,
  ) {}

  /** Records a failed check unless `ok`; answers `ok`. */
  check(ok: boolean, failure: string): boolean {
    if (!ok) {
      this.failed.push(failure);
      console.log(`CHECK FAILED: ${failure}`);
    }
    return ok;
  }

  /** Records that the bench itself failed (it threw). */
  fail(error: unknown): void {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(text);
    this.failed.push(`failed: ${error instanceof Error ? error.message.split('\n')[0] : text}`);
  }

  /** Records a ratio for the summary; answers it formatted (`1.84×`). */
  ratio(label: string, value: number, figures: string): string {
    this.ratios.push({ label, value, figures });
    return formatRatio(value);
  }

  summary(): BenchSummary {
    return {
      bench: this.bench,
      quick: this.quick,
      ok: this.failed.length === 0,
      cores: cpus().length,
      loadStart: this.loadStart,
      loadEnd: loadavg(),
      seconds: (Date.now() - this.started) / 1000,
      ratios: [...this.ratios],
      failed: [...this.failed],
    };
  }

  /** Prints the footer, writes the summary line when asked to, and answers the exit code. */
  end(summaryFile = process.env.BENCH_SUMMARY): number {
    const s = this.summary();
    console.log(`\n${this.bench}: ratios`);
    console.log(
      formatTable(
        ['ratio', 'value', 'figures'],
        s.ratios.map((r) => [r.label, formatRatio(r.value), r.figures]),
      ),
    );
    console.log(`load average at the end: ${formatLoad(s.loadEnd)} (${s.cores} cores), ${s.seconds.toFixed(1)} s`);
    console.log(s.ok ? `${this.bench}: every check passed` : `${this.bench}: FAILED\n  ${s.failed.join('\n  ')}`);
    if (summaryFile) appendFileSync(summaryFile, JSON.stringify(s) + '\n');
    return exitCode(s.failed);
  }
}

export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  // Two significant digits below 0.1, so a small ratio does not read 0.00×.
  return `${value < 0.1 ? value.toPrecision(2) : value.toFixed(2)}×`;
}

/**
 * Runs a bench: parses its options (a usage error exits 2), prints the header, runs `main`,
 * prints the footer and exits with the report's code. Exits explicitly, so a handle left
 * open by a failure (a socket, a child process) cannot keep the run waiting.
 */
export function runBench<O extends string, F extends string = never>(
  bench: string,
  spec: { readonly options: Readonly<Record<O, OptionSpec>>; readonly flags?: Readonly<Record<F, string>> },
  main: (args: BenchArgs<O, F>, report: Report) => Promise<void>,
): void {
  let args: BenchArgs<O, F>;
  try {
    args = parseArgs(process.argv.slice(2), spec);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${bench}: ${e.message}`);
    process.exit(2);
  }
  const report = new Report(bench, args.quick);
  const settings = [
    ...Object.entries(args.options).map(([k, v]) => `${k}=${String(v)}`),
    ...[...args.flags].map((f) => `--${f}`),
  ];
  console.log(`${bench} (${args.quick ? 'quick' : 'full'} run: ${settings.join(' ')}; Node ${process.version})`);
  console.log(machineLine());
  main(args, report)
    .catch((e: unknown) => report.fail(e))
    .finally(() => process.exit(report.end()));
}
