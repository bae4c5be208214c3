/**
 * Exec sessions against the real engine: a round trip with and without a TTY, stdin piped,
 * exit codes, resize, the default shell, closing, and clear errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { ContainerExec, type ExecOutput, type ExecSession } from '../../../daemon/src/docker/streams/exec';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { docker, testRun } from '../../helpers/docker-fixtures';
import { Collector } from './collect';

const run = testRun('bbexec');
const execs = new ContainerExec(() => docker);
let box: Docker.Container;
const open: ExecSession[] = [];

beforeAll(async () => {
  box = await run.createContainer({ Cmd: ['sleep', '300'] });
});

afterAll(async () => {
  for (const s of open) s.close();
  await run.cleanup();
});

/** Opens a session and records its output per stream. */
async function start(options: Parameters<ContainerExec['open']>[1], container = box.id) {
  const session = await execs.open(container, options);
  open.push(session);
  const output = new Collector<ExecOutput>();
  session.onOutput((o) => output.add(o));
  const text = (stream?: 'stdout' | 'stderr') =>
    Buffer.concat(output.items.filter((o) => !stream || o.stream === stream).map((o) => o.data)).toString();
  const until = (pattern: RegExp, stream?: 'stdout' | 'stderr') =>
    output.until(() => pattern.test(text(stream)), String(pattern));
  return { session, output, text, until };
}

describe('exec sessions', () => {
  it('round-trips a command through a TTY', async () => {
    const { session, until } = await start({ cmd: ['sh'], tty: true });
    expect(session.tty).toBe(true);
    await session.write('echo hello\n');
    await until(/^hello\r$/m); // the output line, not the echoed input
    await session.write('exit\n');
    expect(await session.exited).toBe(0);
  });

  it('keeps stdout and stderr apart without a TTY', async () => {
    const { session, text } = await start({ cmd: ['sh', '-c', 'echo hello; echo oops >&2'], tty: false });
    expect(await session.exited).toBe(0);
    expect(text('stdout')).toBe('hello\n');
    expect(text('stderr')).toBe('oops\n');
  });

  it('pipes stdin to the process, and closing it ends the input', async () => {
    const { session, until, output } = await start({ cmd: ['cat'], tty: false });
    await session.write('piped line\n');
    await until(/^piped line\n$/);
    const binary = Buffer.from([0x00, 0xff, 0x0a]);
    await session.write(binary);
    const bytes = () => Buffer.concat(output.items.map((o) => o.data));
    await output.until(() => bytes().includes(binary), 'the binary bytes back');
    session.endInput();
    expect(await session.exited).toBe(0);
    expect(bytes()).toEqual(Buffer.concat([Buffer.from('piped line\n'), binary]));
  });

  it('reports the exit code', async () => {
    const { session } = await start({ cmd: ['sh', '-c', 'exit 3'], tty: false });
    const reported = new Promise<number | null>((resolve) => session.onExit(resolve));
    expect(await session.exited).toBe(3);
    expect(await reported).toBe(3);
    await expect(session.write('late')).rejects.toMatchObject({ errorName: 'Conflict' });
  });

  it('starts at the given terminal size and resizes', async () => {
    const { session, until } = await start({ cmd: ['sh'], tty: true, cols: 120, rows: 40 });
    await session.write('stty size\n');
    await until(/^40 120\r$/m);
    await session.resize(100, 30);
    await session.write('stty size\n');
    await until(/^30 100\r$/m);
    await session.write('exit 0\n');
    expect(await session.exited).toBe(0);
    await session.resize(80, 24); // after exit: nothing to do, no error
  });

  it('resizing without a TTY does nothing and does not fail', async () => {
    const { session } = await start({ cmd: ['cat'], tty: false });
    await session.resize(80, 24);
    session.endInput();
    expect(await session.exited).toBe(0);
  });

  it('runs a shell by default: /bin/bash when the container has one, else /bin/sh', async () => {
    const plain = await start({});
    expect(plain.session.cmd).toEqual(['/bin/sh']);
    await plain.session.write('echo "$0"; exit\n');
    await plain.until(/^\/bin\/sh\r$/m);
    const withBash = await run.createContainer({
      Cmd: ['sh', '-c', 'ln -s /bin/sh /bin/bash && echo linked && exec sleep 300'],
    });
    // Wait for the link to exist: the container says so on its log.
    const logs = await withBash.logs({ follow: true, stdout: true });
    await new Promise<void>((resolve) =>
      logs.on('data', (chunk: Buffer) => chunk.toString().includes('linked') && resolve()),
    );
    (logs as unknown as { destroy(): void }).destroy();
    const bash = await start({}, withBash.id);
    expect(bash.session.cmd).toEqual(['/bin/bash']);
    bash.session.close();
    await bash.session.exited;
  });

  it('closing a session hangs up its processes, as closing a terminal would', async () => {
    for (const tty of [true, false]) {
      // A shell running a child that would otherwise outlive the connection.
      const { session, until } = await start({ cmd: ['sh', '-c', 'echo started; sleep 300; echo survived'], tty });
      await until(/started/);
      const reported = new Promise<number | null>((resolve) => session.onExit(resolve));
      session.close();
      expect(await reported).toBe(129); // 128 + SIGHUP
      expect(session.ended).toBe(true);
      const info = await docker.getExec(session.id).inspect();
      expect(info.Running).toBe(false);
    }
    // Nothing of the sessions is left running in the container.
    const top = (await box.top({ ps_args: '-o pid,args' })) as { Processes: string[][] };
    const sleeping = top.Processes.map((p) => p.join(' ')).filter((p) => p.includes('sleep 300'));
    expect(sleeping).toHaveLength(1); // the container's own
  });

  it('passes env, user and workdir', async () => {
    const { session, text } = await start({
      cmd: ['sh', '-c', 'echo "$GREETING $(id -u) $(pwd)"'],
      tty: false,
      env: { GREETING: 'hi there' },
      user: '1000',
      workdir: '/tmp',
    });
    expect(await session.exited).toBe(0);
    expect(text()).toBe('hi there 1000 /tmp\n');
  });

  it('answers ContainerNotFound for an unknown container and Conflict for a stopped one', async () => {
    for (const cmd of [undefined, ['true']]) {
      const error = await execs.open(`${run.runId}-nope`, { cmd }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RpcError);
      expect((error as RpcError).errorName).toBe('ContainerNotFound');
    }
    const stopped = await run.createContainer({ Cmd: ['true'], start: false });
    const error = await execs.open(stopped.id, { cmd: ['true'] }).catch((e: unknown) => e);
    expect((error as RpcError).errorName).toBe('Conflict');
  });
});
