/** bench/lib/report.ts and summary-table.ts: a bench's exit code, its summary line, the closing table. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { exitCode, formatRatio, Report } from '../../../bench/lib/report';
import { formatSummaries, parseSummaries } from '../../../bench/lib/summary-table';

const dir = mkdtempSync(join(tmpdir(), 'bb-bench-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

describe('exitCode', () => {
  it('is 0 with no failure and 1 with any', () => {
    expect(exitCode([])).toBe(0);
    expect(exitCode(['gateway: 12 non-2xx answers'])).toBe(1);
  });
});

describe('Report', () => {
  it('ends 0 and writes its summary line with the ratios and the machine load when every check passed', () => {
    const file = join(dir, 'ok.jsonl');
    const report = new Report('rpc', true);
    expect(report.check(true, 'never shown')).toBe(true);
    expect(report.ratio('daemon / echo req/s', 0.5, '10/s vs 20/s')).toBe('0.50×');
    expect(report.end(file)).toBe(0);
    const [line] = parseSummaries(readFileSync(file, 'utf8'));
    expect(line).toMatchObject({
      bench: 'rpc',
      quick: true,
      ok: true,
      failed: [],
      ratios: [{ label: 'daemon / echo req/s', value: 0.5, figures: '10/s vs 20/s' }],
    });
    expect(line!.cores).toBeGreaterThan(0);
    expect(line!.loadStart).toHaveLength(3);
    expect(line!.loadEnd).toHaveLength(3);
  });

  it('ends 1 when a check failed, and says which', () => {
    const file = join(dir, 'failed.jsonl');
    const report = new Report('gateway', false);
    expect(report.check(false, 'gateway: 40 non-2xx answers')).toBe(false);
    expect(report.end(file)).toBe(1);
    expect(parseSummaries(readFileSync(file, 'utf8'))[0]).toMatchObject({
      ok: false,
      failed: ['gateway: 40 non-2xx answers'],
    });
  });

  it('ends 1 when the bench threw', () => {
    const report = new Report('deploy', false);
    report.fail(new Error('Branchbox deploy ended failed: no space left'));
    expect(report.summary().failed).toEqual(['failed: Branchbox deploy ended failed: no space left']);
    expect(report.end(join(dir, 'threw.jsonl'))).toBe(1);
  });
});

describe('formatSummaries', () => {
  it('lists every ratio of every bench with its outcome, and the benches that failed', () => {
    const file = join(dir, 'table.jsonl');
    const a = new Report('rpc', true);
    a.ratio('daemon / echo req/s', 0.42, '8 000/s vs 19 000/s');
    a.end(file);
    const b = new Report('gateway', true);
    b.ratio('gateway / direct req/s (3 B)', 0.61, '12 000/s vs 19 600/s');
    b.check(false, 'gateway: 3 socket errors');
    b.end(file);
    const text = formatSummaries(parseSummaries(readFileSync(file, 'utf8')));
    expect(text).toMatch(/^rpc: daemon \/ echo req\/s\s+0\.42×\s+8 000\/s vs 19 000\/s\s+ok\s+[\d.]+→[\d.]+$/m);
    expect(text).toMatch(/^gateway: gateway \/ direct req\/s \(3 B\)\s+0\.61×\s+12 000\/s vs 19 600\/s\s+FAILED\s/m);
    expect(text).toMatch(/2 benches on \d+ cores, 1 failed\n {2}gateway: gateway: 3 socket errors/);
  });
});

describe('every bench', () => {
  const benches = readdirSync(resolve(__dirname, '../../../bench')).filter((f) => f.endsWith('.bench.ts'));

  it.each(benches)(
    '%s parses its options with bench/lib/args.ts: an unknown one exits 2 before touching anything',
    async (bench) => {
      const child = spawn(process.execPath, ['--import', 'tsx', `bench/${bench}`, '--quick', '--no-such-option'], {
        cwd: resolve(__dirname, '../../..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((r) => child.once('close', r));
      expect(err).toMatch(/unknown option "--no-such-option"\noptions:\n {2}--quick/);
      expect(code).toBe(2);
    },
    60_000,
  );
});

describe('formatRatio', () => {
  it('keeps two decimals, and two significant digits below 0.1', () => {
    expect(formatRatio(1.8449)).toBe('1.84×');
    expect(formatRatio(0.0091)).toBe('0.0091×');
    expect(formatRatio(Infinity)).toBe('Infinity');
  });
});
