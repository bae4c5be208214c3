/** scripts/test-summary.mjs: the closing line of a run, counted from the vitest and e2e reports. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = resolve(__dirname, '../../scripts/test-summary.mjs');
const dir = mkdtempSync(join(tmpdir(), 'bb-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const passingFile = {
  name: 'a.test.ts',
  status: 'passed',
  assertionResults: [{ status: 'passed' }, { status: 'passed' }],
};
const vitest = (files: object[], counts: object) => ({
  numPendingTests: 0,
  numTodoTests: 0,
  success: true,
  testResults: files,
  ...counts,
});

function summary(vitestReport: object, e2eReport?: object): { line: string; code: number | null } {
  writeFileSync(join(dir, 'vitest.json'), JSON.stringify(vitestReport));
  const args = [SCRIPT, join(dir, 'vitest.json')];
  if (e2eReport) {
    writeFileSync(join(dir, 'e2e.json'), JSON.stringify(e2eReport));
    args.push(join(dir, 'e2e.json'));
  }
  const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
  return { line: run.stdout.trim().split('\n').at(-1) ?? '', code: run.status };
}

const steps = (...ok: boolean[]) => ok.map((o, n) => ({ n, name: `step ${n}`, ok: o }));

describe('the test summary', () => {
  it('counts passed tests and passed e2e steps', () => {
    expect(
      summary(vitest([passingFile], { numPassedTests: 2, numFailedTests: 0 }), {
        ok: true,
        steps: steps(true, true, true),
      }),
    ).toEqual({
      line: 'tests: 5 passed, 0 failed, 0 skipped',
      code: 0,
    });
  });

  it('counts a test file that failed outside its tests (an import error) as a failure', () => {
    const broken = { name: 'b.test.ts', status: 'failed', message: 'broken at import', assertionResults: [] };
    expect(summary(vitest([passingFile, broken], { numPassedTests: 2, numFailedTests: 0, success: false }))).toEqual({
      line: 'tests: 2 passed, 1 failed, 0 skipped',
      code: 1,
    });
  });

  it('counts a failed test once, not again for its file', () => {
    const failing = {
      name: 'c.test.ts',
      status: 'failed',
      assertionResults: [{ status: 'passed' }, { status: 'failed' }],
    };
    expect(summary(vitest([failing], { numPassedTests: 1, numFailedTests: 1, success: false })).line).toBe(
      'tests: 1 passed, 1 failed, 0 skipped',
    );
  });

  it('counts an e2e run that failed outside its steps, or whose report does not say it finished', () => {
    const tests = vitest([passingFile], { numPassedTests: 2, numFailedTests: 0 });
    expect(summary(tests, { ok: false, error: 'code-server is not installed', steps: [] })).toEqual({
      line: 'tests: 2 passed, 1 failed, 0 skipped',
      code: 1,
    });
    expect(summary(tests, { steps: steps(true) })).toEqual({ line: 'tests: 3 passed, 1 failed, 0 skipped', code: 1 });
    expect(summary(tests, { ok: false, steps: steps(true, false) })).toEqual({
      line: 'tests: 3 passed, 1 failed, 0 skipped',
      code: 1,
    });
  });
});
