// Prints the closing line of a test run as "N passed, N failed, N skipped": the vitest JSON
// report plus, when given, the steps of the end-to-end report. Fails when anything failed or
// no test ran.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [vitestReport, e2eReport] = process.argv.slice(2);
const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
let passed = report.numPassedTests ?? 0;
// A test file that failed with no failed test in it failed outside its tests (an import, a
// hook): one failure each.
const filesFailedOutsideTests = (report.testResults ?? []).filter(
  (file) => file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed'),
);
for (const file of filesFailedOutsideTests)
  console.log(`failed outside its tests: ${file.name}: ${(file.message ?? '').split('\n')[0]}`);
// Each failed test by name, its file and the first line of its failure, so that the tail of a
// run's output says what failed without the full log.
for (const file of report.testResults ?? [])
  for (const test of file.assertionResults ?? [])
    if (test.status === 'failed')
      console.log(
        `failed: ${relative(process.cwd(), file.name)} > ${test.fullName}: ${String(test.failureMessages?.[0] ?? '').split('\n')[0]}`,
      );
let failed = (report.numFailedTests ?? 0) + filesFailedOutsideTests.length;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
let ok = report.success !== false;
if (e2eReport) {
  if (!existsSync(e2eReport)) {
    failed += 1;
    console.log(`end to end: no report at ${e2eReport}`);
  } else {
    const e2e = JSON.parse(readFileSync(e2eReport, 'utf8'));
    const steps = e2e.steps ?? [];
    passed += steps.filter((s) => s.ok).length;
    for (const step of steps.filter((s) => !s.ok))
      console.log(`failed: end to end step ${step.n}. ${step.name}: ${String(step.error ?? '').split('\n')[0]}`);
    failed += steps.filter((s) => !s.ok).length;
    // The run failed outside its steps (before the first, or in its cleanup), or its report
    // does not say that it finished: one failure.
    if (e2e.ok !== true && steps.every((s) => s.ok)) {
      failed += 1;
      console.log(`end to end: ${e2e.error ?? 'the report does not say the run finished'}`);
    }
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && passed > 0 && ok ? 0 : 1);
