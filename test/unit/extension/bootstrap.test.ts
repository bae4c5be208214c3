/** Finding the daemon (extension/src/bootstrap.ts): state directory, runtime file, stale files, waiting for files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalDaemonHost,
  RemoteDaemonHost,
  isProcessAlive,
  readRuntimeFile,
  resolveStateDir,
  watchDirectoryUntil,
} from '../../../extension/src/bootstrap';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bbboot-'));
  dirs.push(d);
  return d;
};

/** A pid that is certainly not running: far above any pid_max. */
const DEAD_PID = 2 ** 30;

describe('resolveStateDir', () => {
  it('takes the setting, then BRANCHBOX_STATE_DIR, then XDG_STATE_HOME, then ~/.local/state', () => {
    const home = '/home/me';
    expect(resolveStateDir('/srv/bb', { BRANCHBOX_STATE_DIR: '/x' }, home)).toBe('/srv/bb');
    expect(resolveStateDir('~/bb', {}, home)).toBe('/home/me/bb');
    expect(resolveStateDir('  ', { BRANCHBOX_STATE_DIR: '/x', XDG_STATE_HOME: '/xdg' }, home)).toBe('/x');
    expect(resolveStateDir(undefined, { XDG_STATE_HOME: '/xdg' }, home)).toBe('/xdg/branchbox');
    expect(resolveStateDir(undefined, {}, home)).toBe('/home/me/.local/state/branchbox');
  });
});

describe('the runtime file', () => {
  it('is read when complete, ignored when missing or malformed', () => {
    const dir = tempDir();
    expect(readRuntimeFile(dir)).toBeUndefined();
    writeFileSync(join(dir, 'runtime.json'), '{"port": 1');
    expect(readRuntimeFile(dir)).toBeUndefined();
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ port: 47815, token: 'abc', pid: 42, version: '1.2.3' }));
    expect(readRuntimeFile(dir)).toEqual({ port: 47815, token: 'abc', pid: 42, version: '1.2.3' });
  });

  it('names a running daemon only while its pid lives', async () => {
    const dir = tempDir();
    const host = new LocalDaemonHost({ stateDir: dir, autoStart: false, nodePath: 'node', daemonScript: '/nowhere.js' });
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ port: 47815, token: 'abc', pid: process.pid, version: '1' }));
    expect(await host.find()).toEqual({ url: 'ws://127.0.0.1:47815', token: 'abc', pid: process.pid, version: '1' });
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ port: 47815, token: 'abc', pid: DEAD_PID, version: '1' }));
    expect(await host.find()).toBeUndefined();
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(DEAD_PID)).toBe(false);
    expect(host.logFile).toBe(join(dir, 'branchboxd.log'));
    expect(host.canStart).toBe(false);
  });

  it('a missing daemon script is a permanent start failure', async () => {
    const host = new LocalDaemonHost({ stateDir: tempDir(), autoStart: true, nodePath: 'node', daemonScript: '/nowhere/branchboxd.js' });
    await expect(host.start()).rejects.toMatchObject({ permanent: true, message: expect.stringMatching(/reinstall/) });
  });
});

describe('a daemon elsewhere', () => {
  it('reads its token from a token file or a runtime.json', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), 'secret-token\n');
    expect(await new RemoteDaemonHost('ws://10.0.0.2:47815', join(dir, 'token')).find()).toEqual({ url: 'ws://10.0.0.2:47815', token: 'secret-token' });
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ port: 1, token: 'from-runtime', pid: 1, version: '1' }));
    expect((await new RemoteDaemonHost('ws://h:1', join(dir, 'runtime.json')).find())!.token).toBe('from-runtime');
    await expect(new RemoteDaemonHost('ws://h:1', join(dir, 'missing')).find()).rejects.toThrow(/Cannot read the token file/);
  });
});

describe('watchDirectoryUntil', () => {
  it('resolves when a file appears, without waiting for the fallback check', async () => {
    const dir = tempDir();
    const appeared = watchDirectoryUntil(dir, () => readRuntimeFile(dir), {
      timeoutMs: 10_000,
      fallbackMs: 60_000,
      onTimeout: () => new Error('timeout'),
    });
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ port: 2, token: 't', pid: 3, version: 'v' }));
    await expect(appeared).resolves.toMatchObject({ port: 2 });
  });

  it('rejects with the caller\'s error when the process it waits for fails first', async () => {
    const dir = tempDir();
    const failed = Promise.reject(new Error('branchboxd exited (code 1) before it was ready'));
    await expect(
      watchDirectoryUntil(dir, () => undefined, { timeoutMs: 10_000, failed, onTimeout: () => new Error('timeout') }),
    ).rejects.toThrow('exited (code 1)');
  });
});
