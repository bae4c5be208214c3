/**
 * Vitest global setup of the integration project: the daemon under test is `dist/branchboxd.js`,
 * so it is built from the sources first (`node esbuild.config.mjs`, a few seconds) and a run of
 * `npx vitest run test/integration` never tests stale code. `scripts/test.sh`, which has just
 * built, sets BRANCHBOX_BUILD_FRESH=1 to skip it.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export default function setup(): void {
  if (process.env.BRANCHBOX_BUILD_FRESH === '1') return;
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: resolve(__dirname, '../..'), stdio: 'inherit' });
}
