/**
 * Container output passes the daemon's Redactor, against the real engine: log lines (stdout
 * and stderr, timestamps on and off, TTY or not, a secret printed in several writes, a secret
 * cut by the engine's 16 KiB entries, followed across a restart) and exec output (a secret
 * written in pieces with a pause between them, with and without a TTY, typed input echoed).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { ContainerExec, type ExecOutput } from '../../../daemon/src/docker/streams/exec';
import { ContainerLogs, type LogRecord } from '../../../daemon/src/docker/streams/logs';
import { Redactor } from '../../../daemon/src/runtime/redactor';
import { docker, testRun } from '../../helpers/docker-fixtures';
import { Collector, CollectingSink } from './collect';

const run = testRun('bbredact');
const SECRET = `Zq9-${run.runId}-secret`;
const OTHER = 'pässwörd-✓-other-sandbox';
const redactor = new Redactor();
redactor.setSecrets('environment', [SECRET, OTHER]);
const logs = new ContainerLogs(() => docker, undefined, redactor);
const execs = new ContainerExec(() => docker, redactor);

afterAll(async () => {
  await run.cleanup();
});

/** Prints the secret: whole, in two writes with a pause, at the 16 KiB entry boundary, and the other one. */
const PRINT = [
  'echo "whole $S."',
  'echo "to stderr $S" >&2',
  'printf "split %s" "${S%????????}"; sleep 0.3; printf "%s end\\n" "${S#"${S%????????}"}"',
  // 16380 bytes, then the secret: the engine ends its 16 KiB entry inside the secret.
  `printf "%16380s" "" | tr " " x; printf "%s tail\\n" "$S"`,
  'echo "other $O"',
].join('; ');

async function finished(opts: Partial<Docker.ContainerCreateOptions>): Promise<Docker.Container> {
  const c = await run.createContainer({ Cmd: ['sh', '-c', PRINT], Env: [`S=${SECRET}`, `O=${OTHER}`], ...opts });
  await c.wait();
  return c;
}

async function readAll(id: string, options: Parameters<ContainerLogs['open']>[1] = {}): Promise<LogRecord[]> {
  const sink = new CollectingSink<LogRecord>();
  const stream = await logs.open(id, options);
  expect(await stream.run(sink, new AbortController().signal)).toBe('completed');
  return sink.items;
}

const leaks = (text: string) => [SECRET, OTHER, SECRET.slice(0, -8), SECRET.slice(-8)].filter((s) => text.includes(s));

describe('container logs through the redactor', () => {
  it.each([
    ['plain', {}, false],
    ['with timestamps', { timestamps: true }, false],
    ['of a TTY container', {}, true],
    ['of a TTY container with timestamps', { timestamps: true }, true],
  ] as const)('masks every secret, %s', async (_what, options, tty) => {
    const c = await finished({ Tty: tty });
    const records = await readAll(c.id, options);
    const text = records.map((r) => r.line).join('\n');
    expect(leaks(text)).toEqual([]);
    expect(records.map((r) => r.line)).toEqual(
      expect.arrayContaining(['whole ***.', 'to stderr ***', 'split *** end', `${'x'.repeat(16380)}*** tail`, 'other ***']),
    );
    if (!tty) expect(records.find((r) => r.line === 'to stderr ***')?.stream).toBe('stderr');
    if ('timestamps' in options) expect(records.every((r) => typeof r.t === 'string')).toBe(true);
  });

  it('masks a followed log, across a restart of the container', async () => {
    const c = await run.createContainer({ Cmd: ['sh', '-c', `${PRINT}; sleep 0.5`], Env: [`S=${SECRET}`, `O=${OTHER}`] });
    const sink = new CollectingSink<LogRecord>();
    const controller = new AbortController();
    const stream = await logs.open(c.id, { follow: true });
    const running = stream.run(sink, controller.signal);
    await sink.until((items) => items.filter((r) => r.line === 'other ***').length === 1, 'the first run');
    await c.wait();
    await c.start();
    await sink.until((items) => items.filter((r) => r.line === 'other ***').length === 2, 'the second run');
    controller.abort();
    await running;
    expect(leaks(sink.items.map((r) => r.line).join('\n'))).toEqual([]);
    expect(sink.items.filter((r) => r.line === 'split *** end')).toHaveLength(2);
  });
});

describe('exec output through the redactor', () => {
  async function start(options: Parameters<ContainerExec['open']>[1], container: string) {
    const session = await execs.open(container, options);
    const output = new Collector<ExecOutput>();
    session.onOutput((o) => output.add(o));
    const text = (stream?: 'stdout' | 'stderr') =>
      Buffer.concat(output.items.filter((o) => !stream || o.stream === stream).map((o) => o.data)).toString('utf8');
    return { session, output, text };
  }

  it('masks a secret written in pieces, on stdout and stderr apart', async () => {
    const box = await run.createContainer({ Cmd: ['sleep', '300'], Env: [`S=${SECRET}`, `O=${OTHER}`] });
    const { session, output, text } = await start({ cmd: ['sh', '-c', PRINT], tty: false }, box.id);
    expect(await session.exited).toBe(0);
    await output.until(() => text().includes('other ***'), 'the last line');
    expect(leaks(text())).toEqual([]);
    expect(text('stdout')).toBe(`whole ***.\nsplit *** end\n${'x'.repeat(16380)}*** tail\nother ***\n`);
    expect(text('stderr')).toBe('to stderr ***\n');
    // The pause split the secret across chunks: it did arrive in more than one piece.
    expect(output.items.length).toBeGreaterThan(2);
  });

  it('masks the output of a TTY session, typed input echoed included', async () => {
    const box = await run.createContainer({ Cmd: ['sleep', '300'], Env: [`S=${SECRET}`, `O=${OTHER}`] });
    const { session, output, text } = await start({ cmd: ['sh'], tty: true, cols: 200, rows: 50 }, box.id);
    // Typed character by character, as a terminal sends it; echoed back by the TTY.
    for (const ch of `echo ${SECRET} $O\n`) await session.write(ch);
    await output.until(() => /^\*\*\* \*\*\*\r$/m.test(text()), 'the echoed line');
    await session.write('echo "$S"; exit\n');
    expect(await session.exited).toBe(0);
    expect(leaks(text())).toEqual([]);
  });
});
