// Prints the closing line of a test run as "N passed, N failed, N skipped": the vitest JSON
// report plus, when given, the steps of the end-to-end report. Fails when anything failed or
// no test ran.
import { existsSync, readFileSync } from 'node:fs';

const [vitestReport, e2eReport] = process.argv.slice(2);
const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
let passed = report.numPassedTests ?? 0;
let failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
let ok = report.success !== false;
if (e2eReport) {
  if (!existsSync(e2eReport)) {
    failed += 1;
    console.log(`end to end: no report at ${e2eReport}`);
  } else {
    const steps = JSON.parse(readFileSync(e2eReport, 'utf8')).steps ?? [];
    passed += steps.filter((s) => s.ok).length;
    failed += steps.filter((s) => !s.ok).length + (steps.length < 8 ? 1 : 0);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && passed > 0 && ok ? 0 : 1);
