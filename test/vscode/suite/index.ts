/**
 * The extension-host suite, run inside a real VS Code by test/vscode/run.ts: the packaged
 * manifest and the real extension, against the real daemon the extension starts itself.
 * A tiny runner (no framework): each test is an async function; the first failure fails the
 * run with its name.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import WebSocket from 'ws';
import { BranchboxClient } from '../../../schemas/src/client';

const EXTENSION_ID = 'branchbox.branchbox';
const stateDir = process.env.BRANCHBOX_TEST_STATE_DIR!;

/** Resolves once `file` exists (watching its folder; no polling), or rejects after `ms`. */
function whenExists(file: string, ms: number): Promise<void> {
  if (existsSync(file)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const watcher = watch(join(file, '..'), () => {
      if (!existsSync(file)) return;
      clearTimeout(timer);
      watcher.close();
      resolve();
    });
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`${file} did not appear within ${ms} ms`));
    }, ms);
  });
}

async function connect(): Promise<{ client: BranchboxClient; close(): void }> {
  const runtime = JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as { port: number; token: string };
  const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}`, { headers: { Authorization: `Bearer ${runtime.token}` } });
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  const client = new BranchboxClient((text) => ws.send(text));
  ws.on('message', (data) => client.receive(data.toString()));
  await client.request('initialize', { clientInfo: { name: 'vscode-test' } });
  return { client, close: () => ws.close() };
}

const tests: [string, () => Promise<void>][] = [
  [
    'the extension activates',
    async () => {
      const extension = vscode.extensions.getExtension(EXTENSION_ID);
      assert.ok(extension, `${EXTENSION_ID} is installed`);
      await extension.activate();
      assert.equal(extension.isActive, true);
    },
  ],
  [
    'every command of the manifest is registered',
    async () => {
      const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as {
        contributes: { commands: { command: string }[] };
      };
      const registered = new Set(await vscode.commands.getCommands(true));
      const missing = manifest.contributes.commands.map((c) => c.command).filter((c) => !registered.has(c));
      assert.deepEqual(missing, []);
    },
  ],
  [
    'the Branchbox views open',
    async () => {
      for (const view of ['branchbox.sandboxes', 'branchbox.containers', 'branchbox.deployments']) {
        await vscode.commands.executeCommand(`${view}.focus`);
      }
    },
  ],
  [
    // Not at activation: a view shown (above) is the daemon's first need.
    'it starts the daemon for its state directory once a view is shown, and that daemon answers',
    async () => {
      await whenExists(join(stateDir, 'runtime.json'), 30_000);
      const { client, close } = await connect();
      try {
        const info = await client.request('system/info');
        assert.equal(info.stateDir, stateDir);
        const clients = await client.request('audit/list', { limit: 1 });
        assert.ok(Array.isArray(clients.entries));
      } finally {
        close();
      }
    },
  ],
  [
    'Restart Daemon brings up a new daemon process',
    async () => {
      const before = JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as { pid: number };
      await vscode.commands.executeCommand('branchbox.restartDaemon');
      await whenExists(join(stateDir, 'runtime.json'), 30_000);
      const { client, close } = await connect();
      try {
        assert.notEqual((await client.request('system/info')).pid, before.pid);
      } finally {
        close();
      }
    },
  ],
];

export async function run(): Promise<void> {
  let failed = 0;
  for (const [name, test] of tests) {
    try {
      await test();
      console.log(`  ✓ ${name}`);
    } catch (e) {
      failed++;
      console.error(`  ✗ ${name}\n    ${(e as Error)?.stack ?? String(e)}`);
    }
  }
  // Stop the daemon the extension started, so the run leaves nothing behind.
  try {
    const { client } = await connect();
    await client.request('shutdown');
  } catch {
    // already gone
  }
  console.log(`${tests.length - failed} passed, ${failed} failed`);
  if (failed) throw new Error(`${failed} extension-host test(s) failed`);
}
