/**
 * `npm run test:vscode`: runs the extension-host suite (test/vscode/suite) inside a desktop
 * VS Code with @vscode/test-electron. Set VSCODE_EXECUTABLE to a VS Code binary (this
 * project's CI machines cannot download one; code-server drives the end-to-end suite there
 * instead); without it, test-electron downloads the stable build.
 *
 * The extension gets a throwaway user profile whose settings point it at a fresh state
 * directory and the system Node, so it starts its own daemon; the suite stops that daemon.
 */
import { runTests } from '@vscode/test-electron';
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

async function main(): Promise<void> {
  const out = join(root, 'dist', 'test-vscode');
  await build({
    entryPoints: { suite: join(__dirname, 'suite/index.ts') },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    outdir: out,
    logLevel: 'warning',
  });
  const scratch = mkdtempSync(join(tmpdir(), 'bb-vscode-'));
  const userData = join(scratch, 'user-data');
  const workspace = join(scratch, 'workspace');
  const stateDir = join(scratch, 'state');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(workspace, { recursive: true });
  writeFileSync(
    join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'branchbox.stateDir': stateDir,
      'branchbox.daemon.nodePath': process.execPath,
      'branchbox.daemon.autoStart': true,
    }),
  );
  try {
    await runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: join(out, 'suite.js'),
      ...(process.env.VSCODE_EXECUTABLE ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE } : {}),
      launchArgs: [workspace, '--user-data-dir', userData, '--disable-workspace-trust', '--skip-welcome'],
      extensionTestsEnv: { BRANCHBOX_TEST_STATE_DIR: stateDir },
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`test:vscode failed: ${(e as Error)?.message ?? String(e)}`);
  process.exit(1);
});
