/**
 * The CLI's command line without a daemon: finding the command among global options, usage
 * errors (exit 2, one line), help, and the exit code 3 when no daemon runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { findCommand, runCli } from '../../../daemon/src/cli/cli';
import { arity } from '../../../daemon/src/cli/command';
import { commands } from '../../../daemon/src/cli/commands/index';
import { methods } from '../../../schemas/src/index';

const emptyStateDir = mkdtempSync(join(tmpdir(), 'bbcli-unit-'));
afterAll(() => rmSync(emptyStateDir, { recursive: true, force: true }));

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli({
    argv,
    env: { BRANCHBOX_STATE_DIR: emptyStateDir, ...env },
    cwd: process.cwd(),
    stdin: Readable.from([]),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

describe('finding the command', () => {
  const words = (argv: string[]) => findCommand(argv).command?.words.join(' ');

  it('takes the command words wherever global options are', () => {
    expect(words(['ps'])).toBe('ps');
    expect(words(['-o', 'json', 'ps', '--all'])).toBe('ps');
    expect(words(['--state-dir', '/x', 'sandbox', 'ls'])).toBe('sandbox ls');
    expect(words(['--state-dir=/x', '--no-color', 'daemon', 'status'])).toBe('daemon status');
    expect(words(['-ojson', 'info'])).toBe('info');
  });

  it('stops at the first argument that is not a command word', () => {
    expect(findCommand(['logs', 'web', '-f'])).toMatchObject({ words: ['logs'], rest: ['web', '-f'] });
    expect(findCommand(['sandbox', 'create', 'qa1'])).toMatchObject({ words: ['sandbox', 'create'], rest: ['qa1'] });
    // a container called "ps" is an argument, not a command
    expect(findCommand(['logs', 'ps'])).toMatchObject({ words: ['logs'], rest: ['ps'] });
  });

  it('finds no command for a group alone or an unknown word', () => {
    expect(findCommand(['sandbox']).command).toBeUndefined();
    expect(findCommand(['frobnicate']).command).toBeUndefined();
  });
});

describe('the command table', () => {
  it('declares only methods of the protocol, a summary and a unique name per command', () => {
    const names = commands.map((c) => c.words.join(' '));
    expect(new Set(names).size).toBe(names.length);
    for (const c of commands) {
      expect(c.summary.length, c.words.join(' ')).toBeGreaterThan(10);
      for (const m of c.methods) expect(Object.keys(methods), c.words.join(' ')).toContain(m);
    }
  });

  it('counts required, optional and repeated arguments', () => {
    const logs = commands.find((c) => c.words.join(' ') === 'logs')!;
    expect(arity(logs)).toEqual({ min: 1, max: 1 });
    const stats = commands.find((c) => c.words.join(' ') === 'stats')!;
    expect(arity(stats)).toEqual({ min: 0, max: 1 });
  });
});

describe('usage errors and help', () => {
  it('answers exit 2 and one line for unknown commands, options, missing and extra arguments', async () => {
    expect(await cli(['nope'])).toEqual({ code: 2, stdout: '', stderr: 'branchbox: UsageError: unknown command "nope" (see `branchbox --help`)\n' });
    expect(await cli(['sandbox', 'frob'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'branchbox: UsageError: unknown command "sandbox frob" (see `branchbox sandbox --help`)\n',
    });
    expect(await cli(['ps', '--tail', '3'])).toMatchObject({ code: 2, stderr: "branchbox: UsageError: Unknown option '--tail' (see `branchbox ps --help`)\n" });
    expect(await cli(['container', 'stop'])).toMatchObject({ code: 2, stderr: 'branchbox: UsageError: missing CONTAINER (see `branchbox container stop --help`)\n' });
    expect(await cli(['info', 'extra'])).toMatchObject({ code: 2, stderr: 'branchbox: UsageError: unexpected argument "extra" (see `branchbox info --help`)\n' });
    expect(await cli(['-o', 'xml', 'info'])).toMatchObject({ code: 2, stderr: 'branchbox: UsageError: -o: "xml" is not json or text (see `branchbox info --help`)\n' });
  });

  it('refuses a secret on the command line before contacting the daemon', async () => {
    const r = await cli(['env', 'set', '--sandbox', 'qa1', '--secret', 'API_TOKEN', 'hunter2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^branchbox: UsageError: a secret is never taken from the command line/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('prints help for everything, a group, and one command, with the exit codes', async () => {
    const all = await cli(['--help']);
    expect(all.code).toBe(0);
    for (const c of commands) expect(all.stdout).toContain(c.words.join(' '));
    expect(all.stdout).toContain('Exit codes:\n  0    success');
    expect(all.stdout).toContain('130  interrupted');

    const group = await cli(['sandbox', '--help']);
    expect(group.stdout).toContain('sandbox create NAME');
    expect(group.stdout).not.toContain('daemon stop');

    const one = await cli(['help', 'logs']);
    expect(one.stdout).toMatch(/^Usage: branchbox logs \[options\] CONTAINER\|SERVICE/);
    expect(one.stdout).toContain('-f, --follow');
    expect(one.stdout).toContain('Protocol methods: container/logs');
    expect((await cli(['logs', '--help'])).stdout).toBe(one.stdout);
  });

  it('prints its version', async () => {
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('without a daemon', () => {
  it('exits 3 naming the state directory (from BRANCHBOX_STATE_DIR or --state-dir)', async () => {
    const r = await cli(['info']);
    expect(r).toEqual({
      code: 3,
      stdout: '',
      stderr: `branchbox: DaemonNotRunning: no daemon is running for state directory ${emptyStateDir} (no runtime.json); start it with \`branchbox daemon start\`\n`,
    });
    const other = join(emptyStateDir, 'other');
    expect((await cli(['--state-dir', other, 'ps'])).stderr).toContain(`state directory ${other} `);
  });
});
