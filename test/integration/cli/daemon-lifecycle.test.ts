/**
 * `branchbox daemon start|status|stop` against real daemon processes, and what every command
 * says when no daemon runs (exit code 3, one line with a hint).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it } from 'vitest';
import { readRuntimeFile } from '../../../schemas/node/runtime-file';
import { methods } from '../../../schemas/src/index';
import { runCli } from './cli-process';

const ajv = new Ajv({ strict: false });
addFormats(ajv);
const validInfo = ajv.compile(methods['system/info'].result);

const stateDirs: string[] = [];
function freshStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bbcli-'));
  stateDirs.push(dir);
  return dir;
}

afterEach(() => {
  // A daemon a failed test left running is killed; its state directory removed.
  for (const dir of stateDirs.splice(0)) {
    try {
      const runtime = readRuntimeFile(dir);
      if (runtime) process.kill(runtime.pid, 'SIGKILL');
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('branchbox daemon start / status / stop', () => {
  it('starts a detached daemon, reports it, and stops it', async () => {
    const stateDir = freshStateDir();

    const started = await runCli(['daemon', 'start', '--port', '0'], { stateDir });
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^branchboxd \S+ started \(pid \d+, ws:\/\/127\.0\.0\.1:\d+\)/);
    const runtime = readRuntimeFile(stateDir)!;
    expect(runtime.pid).toBeGreaterThan(0);

    const again = await runCli(['daemon', 'start', '--port', '0'], { stateDir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`branchboxd is already running (pid ${runtime.pid})`);

    const status = await runCli(['daemon', 'status', '-o', 'json'], { stateDir });
    expect(status.code).toBe(0);
    const info = JSON.parse(status.stdout) as unknown;
    expect(validInfo(info), JSON.stringify(validInfo.errors)).toBe(true);
    expect(info).toMatchObject({ pid: runtime.pid, stateDir });

    const stopped = await runCli(['daemon', 'stop'], { stateDir });
    expect(stopped.code).toBe(0);
    expect(stopped.stdout.trim()).toBe(`branchboxd (pid ${runtime.pid}) stopped`);
    expect(() => process.kill(runtime.pid, 0)).toThrow();
    expect(readRuntimeFile(stateDir)).toBeUndefined();

    const after = await runCli(['daemon', 'status'], { stateDir });
    expect(after.code).toBe(3);
  });

  it('reports why the daemon could not start', async () => {
    const stateDir = freshStateDir();
    const failed = await runCli(['daemon', 'start', '--log-level', 'loud'], { stateDir });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^branchbox: DaemonStartFailed: branchboxd exited with code 2 before listening: .*--log-level/);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('without a daemon', () => {
  it('exits 3 with one line naming the state directory and how to start one', async () => {
    const stateDir = freshStateDir();
    for (const args of [['info'], ['ps'], ['logs', '-f', 'web'], ['daemon', 'stop']]) {
      const r = await runCli(args, { stateDir });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `branchbox: DaemonNotRunning: no daemon is running for state directory ${stateDir} (no runtime.json); start it with \`branchbox daemon start\`\n`,
      );
    }
  });

  it('exits 3 when runtime.json names a daemon that does not answer', async () => {
    const stateDir = freshStateDir();
    // A port nobody listens on: bind one, note it, release it.
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    writeFileSync(join(stateDir, 'runtime.json'), JSON.stringify({ port, token: 'x', pid: 999_999, version: '0.0.0' }), { mode: 0o600 });

    const r = await runCli(['info'], { stateDir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^branchbox: DaemonUnreachable: the daemon of .* \(pid 999999\) does not answer on 127\.0\.0\.1:\d+ \(connection refused\);.*branchbox daemon start/);
    rmSync(join(stateDir, 'runtime.json'));
  });
});

describe('usage errors', () => {
  it('exit 2 with one line pointing at the help', async () => {
    const stateDir = freshStateDir();
    const unknown = await runCli(['frobnicate'], { stateDir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('branchbox: UsageError: unknown command "frobnicate" (see `branchbox --help`)\n');

    const badOption = await runCli(['ps', '--bogus'], { stateDir });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toBe("branchbox: UsageError: Unknown option '--bogus' (see `branchbox ps --help`)\n");

    const missing = await runCli(['logs'], { stateDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('branchbox: UsageError: missing CONTAINER|SERVICE (see `branchbox logs --help`)\n');

    const format = await runCli(['-o', 'yaml', 'info'], { stateDir });
    expect(format.code).toBe(2);
  });

  it('--help lists the commands and documents the exit codes', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const text of ['daemon start', 'ps', 'logs', 'Exit codes:', '130', 'deploy']) expect(help.stdout).toContain(text);
  });
});
