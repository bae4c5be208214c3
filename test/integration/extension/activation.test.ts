/**
 * The whole extension (extension/src/extension.ts) activated against the real daemon, with a
 * recording `vscode` in place of VS Code: it starts branchboxd from dist/ on the system's
 * Node.js, connects, registers every command of the manifest, streams the daemon log on
 * Show Daemon Log, restarts the daemon, and leaves it running on deactivation (it is shared).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isProcessAlive, readRuntimeFile } from '../../../extension/src/bootstrap';
import { connectClient } from '../../helpers/daemon';
import * as fake from '../../unit/extension/fake-vscode';

vi.mock('vscode', () => import('../../unit/extension/fake-vscode'));
const extension = await import('../../../extension/src/extension');

const ROOT = resolve(__dirname, '../../..');
const stateDir = mkdtempSync(join(tmpdir(), 'bbact-'));
const pids = new Set<number>();
afterAll(() => {
  for (const pid of pids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
});

const context = {
  subscriptions: [] as { dispose(): void }[],
  extensionPath: ROOT, // dist/branchboxd.js, as in the installed extension
  extensionUri: fake.Uri.file(resolve(__dirname, '../../..')),
  extension: { packageJSON: { version: '0.1.0-test' } },
};
const status = () => fake.created.statusBarItems[0]!;
/** Connected to a daemon that reaches Docker (the integration suite runs on a real engine). */
const connectedText = (t: string) => t === '$(check) Branchbox';
const run = (id: string, ...args: unknown[]) => fake.commands.registered.get(id)!(...args);

describe('the activated extension', () => {
  it('starts the daemon when a view opens, connects, and registers every command of the manifest', async () => {
    fake.settings.set('branchbox.stateDir', stateDir);
    extension.activate(context as never);
    // Activation alone starts nothing: the first need of the daemon does (daemon-demand.ts).
    expect(status().text).toBe('$(circle-outline) Branchbox');
    expect(readRuntimeFile(stateDir)).toBeUndefined();
    fake.created.treeViews.find((v) => v.id === 'branchbox.sandboxes')!.setVisible(true);
    expect(status().text).toBe('$(sync~spin) Branchbox: connecting');
    await fake.until(() => connectedText(status().text));

    const runtime = readRuntimeFile(stateDir)!;
    pids.add(runtime.pid);
    expect(String(status().tooltip)).toContain(`branchboxd 0.1.0 (pid ${runtime.pid})`);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      contributes: { commands: { command: string }[] };
    };
    expect([...fake.commands.registered.keys()].sort()).toEqual(
      manifest.contributes.commands.map((c) => c.command).sort(),
    );
    const log = fake.created.outputChannels.find((c) => c.name === 'Branchbox')!;
    expect(log.lines.some((l) => l.startsWith(`[info] Started branchboxd`))).toBe(true);
    expect(fake.created.messages.filter((m) => m.severity === 'error')).toEqual([]);
    // The Containers view listed the engine's containers: its message went from loading to none.
    const view = fake.created.treeViews.find((v) => v.id === 'branchbox.containers')!;
    await fake.until(() => view.messages.includes('Loading containers…') && view.message === undefined);
    const waiting = ['Connecting to branchboxd…', 'Loading containers…', undefined];
    expect(view.messages.filter((m) => !waiting.includes(m))).toEqual([]); // no "Docker is unavailable", no "Could not list"
  });

  it('Show Daemon Log streams the daemon log live into "Branchbox Daemon"', async () => {
    await run('branchbox.showDaemonLog');
    const channel = fake.created.outputChannels.find((c) => c.name === 'Branchbox Daemon')!;
    expect(channel.lines[0]).toMatch(/^--- following branchboxd 0\.1\.0 \(pid \d+\)/);
    // Another client connecting makes the daemon log a line; it arrives in the channel.
    const runtime = readRuntimeFile(stateDir)!;
    const other = await connectClient(`ws://127.0.0.1:${runtime.port}`, runtime.token, 'second-window');
    await fake.until(() => channel.lines.some((l) => / \[info\] client initialized .*client=second-window/.test(l)));
    await other.closeSocket();
  });

  it('Restart Daemon stops the daemon and connects to a new one', async () => {
    const before = readRuntimeFile(stateDir)!.pid;
    await run('branchbox.restartDaemon');
    const after = readRuntimeFile(stateDir)!.pid;
    pids.add(after);
    expect(after).not.toBe(before);
    expect(isProcessAlive(before)).toBe(false);
    await fake.until(() => connectedText(status().text));
    expect(fake.created.messages.filter((m) => m.severity === 'error')).toEqual([]);
  });

  it('deactivating leaves the shared daemon running', () => {
    for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
    extension.deactivate();
    expect(isProcessAlive(readRuntimeFile(stateDir)!.pid)).toBe(true);
    expect(fake.commands.registered.size).toBe(0);
  });
});
