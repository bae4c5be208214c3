/**
 * schemas/node: the client contract every Node client (the extension, the CLI) and the daemon
 * share — where the state directory is, what a valid runtime file is, whether its writer lives.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseOptions } from '../../../daemon/src/config';
import { runCli } from '../../../daemon/src/cli/cli';
import { readLockPid } from '../../../schemas/node/lock-file';
import { isProcessAlive, isZombie, processExists, zombieState } from '../../../schemas/node/process-liveness';
import { RuntimeFileError, readRuntimeFile } from '../../../schemas/node/runtime-file';
import { resolveStateDir } from '../../../schemas/node/state-dir';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bbnode-'));
  dirs.push(d);
  return d;
};

describe('the state directory', () => {
  const home = '/home/me';

  it('is the explicit choice, then BRANCHBOX_STATE_DIR, then XDG_STATE_HOME, then ~/.local/state', () => {
    expect(resolveStateDir('/srv/bb', { BRANCHBOX_STATE_DIR: '/x' }, { home })).toBe('/srv/bb');
    expect(resolveStateDir(undefined, { BRANCHBOX_STATE_DIR: '/x', XDG_STATE_HOME: '/xdg' }, { home })).toBe('/x');
    expect(resolveStateDir(' ', { BRANCHBOX_STATE_DIR: '', XDG_STATE_HOME: '/xdg' }, { home })).toBe('/xdg/branchbox');
    expect(resolveStateDir(undefined, {}, { home })).toBe('/home/me/.local/state/branchbox');
    expect(resolveStateDir('rel/dir', {}, { home, cwd: '/work' })).toBe('/work/rel/dir');
  });

  it('expands a leading ~ in the explicit choice and in BRANCHBOX_STATE_DIR, and only a leading one', () => {
    expect(resolveStateDir('~/bb', {}, { home })).toBe('/home/me/bb');
    expect(resolveStateDir(undefined, { BRANCHBOX_STATE_DIR: '~' }, { home })).toBe('/home/me');
    expect(resolveStateDir(undefined, { BRANCHBOX_STATE_DIR: '~/.bb' }, { home })).toBe('/home/me/.bb');
    expect(resolveStateDir(undefined, { BRANCHBOX_STATE_DIR: '/a/~/b' }, { home })).toBe('/a/~/b');
    expect(resolveStateDir(undefined, { BRANCHBOX_STATE_DIR: '~other/x' }, { home, cwd: '/w' })).toBe('/w/~other/x');
  });

  it('is the same for branchboxd and the CLI when BRANCHBOX_STATE_DIR starts with ~', async () => {
    const env = { BRANCHBOX_STATE_DIR: '~/.bb-test-state' };
    const expected = join(homedir(), '.bb-test-state');
    expect(parseOptions([], env)).toMatchObject({ stateDir: expected });
    // `daemon status` names the state directory it looked in when no daemon runs there.
    let stderr = '';
    await runCli({
      argv: ['daemon', 'status'],
      env,
      cwd: '/',
      stdin: Readable.from([]),
      stdout: { write: () => undefined },
      stderr: { write: (t: string) => (stderr += t) },
      signal: new AbortController().signal,
    });
    expect(stderr).toContain(expected);
  });
});

describe('the runtime file', () => {
  it('is read when valid and refused, without quoting it, when a field is wrong', () => {
    const dir = tempDir();
    const file = join(dir, 'runtime.json');
    expect(readRuntimeFile(dir)).toBeUndefined();
    const valid = { port: 47815, token: 'secret-token', pid: 42, version: '1.2.3' };
    writeFileSync(file, JSON.stringify(valid));
    expect(readRuntimeFile(dir)).toEqual(valid);
    for (const [bad, problem] of [
      ['{"port": 1, "token": "secret-token"', 'not valid JSON'],
      ['[]', 'not a JSON object'],
      [JSON.stringify({ ...valid, port: 70000 }), '"port" is not a port number'],
      [JSON.stringify({ ...valid, token: '' }), '"token" is missing'],
      [JSON.stringify({ ...valid, pid: -1 }), '"pid" is not a process id'],
      [JSON.stringify({ ...valid, version: undefined }), '"version" is missing'],
    ] as const) {
      writeFileSync(file, bad);
      let error: unknown;
      try {
        readRuntimeFile(dir);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RuntimeFileError);
      expect((error as Error).message).toContain(problem);
      expect((error as Error).message).not.toContain('secret-token');
    }
  });

  it('names in the lock file the pid that owns the directory', () => {
    const dir = tempDir();
    expect(readLockPid(dir)).toBeUndefined();
    writeFileSync(join(dir, 'branchboxd.lock'), '1234\n');
    expect(readLockPid(dir)).toBe(1234);
    writeFileSync(join(dir, 'branchboxd.lock'), '12ab\n');
    expect(readLockPid(dir)).toBeUndefined();
  });
});

describe('the liveness of the pid that wrote a file', () => {
  it('reads the state after the last ")" of /proc/<pid>/stat', () => {
    expect(zombieState('123 (node) S 1 2 3')).toBe(false);
    expect(zombieState('123 (branchboxd) Z 1 2 3')).toBe(true);
    expect(zombieState('123 (a) b) X 1 2 3')).toBe(true);
    expect(zombieState('123 (a) Z) R 1 2 3')).toBe(false);
  });

  it('counts a running process as alive and a dead one as not', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 30)).toBe(false);
    expect(processExists(process.pid)).toBe(true);
    expect(processExists(2 ** 30)).toBe(false);
  });

  it.skipIf(process.platform !== 'linux')('counts a zombie (exited, never reaped) as not alive', async () => {
    // The shell starts a child that exits at once, then becomes a sleep that never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(
        await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))),
      );
      const deadline = Date.now() + 10_000;
      while (!readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')) {
        if (Date.now() > deadline) throw new Error(`pid ${pid} never became a zombie`);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(isZombie(pid)).toBe(true);
      expect(isProcessAlive(pid)).toBe(false);
      expect(processExists(pid)).toBe(true); // its pid stays taken until it is reaped
      expect(isZombie(process.pid)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
