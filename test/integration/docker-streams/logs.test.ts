/**
 * Container logs against the real engine: stdout and stderr apart, TTY containers, tail and
 * since, follow (new lines as printed, across restarts without repeats, into a container not
 * yet started), lines longer than the engine's 16 KiB entries, backpressure and cancel.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { ContainerLogs, type LogRecord, type RecordSink } from '../../../daemon/src/docker/streams/logs';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { docker, testRun } from '../../helpers/docker-fixtures';
import { CollectingSink } from './collect';

const run = testRun('bblogs');
const logs = new ContainerLogs(() => docker);

afterAll(async () => {
  await run.cleanup();
});

/** Runs a container to its end and returns it. */
async function finished(cmd: string[], opts: Partial<Docker.ContainerCreateOptions> = {}): Promise<Docker.Container> {
  const c = await run.createContainer({ Cmd: cmd, ...opts });
  await c.wait();
  return c;
}

/** Reads a whole (non-followed) log. */
async function readAll(id: string, options: Parameters<ContainerLogs['open']>[1] = {}): Promise<LogRecord[]> {
  const sink = new CollectingSink<LogRecord>();
  const stream = await logs.open(id, options);
  expect(await stream.run(sink, new AbortController().signal)).toBe('completed');
  return sink.items;
}

/** Runs `sh -c script` inside the container and waits for it to finish. */
async function execIn(container: Docker.Container, script: string): Promise<void> {
  const exec = await container.exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise((resolve) => stream.once('end', resolve));
}

const lines = (records: readonly LogRecord[]) => records.map((r) => r.line);

describe('container logs', () => {
  it('keeps stdout and stderr apart', async () => {
    const c = await finished(['sh', '-c', 'echo out; echo err >&2; echo out2']);
    const records = await readAll(c.id);
    expect(records.filter((r) => r.stream === 'stdout').map((r) => r.line)).toEqual(['out', 'out2']);
    expect(records.filter((r) => r.stream === 'stderr').map((r) => r.line)).toEqual(['err']);
  });

  it('reads a TTY container raw: all stdout, no carriage returns, the last unterminated line flushed', async () => {
    const c = await finished(['sh', '-c', 'echo hello tty; echo to stderr >&2; printf "no newline"'], { Tty: true });
    expect(await readAll(c.id)).toEqual([
      { stream: 'stdout', line: 'hello tty' },
      { stream: 'stdout', line: 'to stderr' },
      { stream: 'stdout', line: 'no newline' },
    ]);
  });

  it('gives timestamps only when asked, and honours tail and since', async () => {
    const c = await finished(['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done']);
    const stamped = await readAll(c.id, { timestamps: true });
    expect(lines(stamped)).toEqual(['line1', 'line2', 'line3', 'line4', 'line5']);
    for (const r of stamped) expect(r.t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect((await readAll(c.id)).every((r) => r.t === undefined)).toBe(true);

    expect(lines(await readAll(c.id, { tail: 2 }))).toEqual(['line4', 'line5']);
    expect(lines(await readAll(c.id, { tail: 0 }))).toEqual([]);
    expect(lines(await readAll(c.id, { tail: 'all' }))).toHaveLength(5);

    // since is inclusive, to the nanosecond, in RFC 3339 or unix seconds.
    expect(lines(await readAll(c.id, { since: stamped[2]!.t }))).toEqual(['line3', 'line4', 'line5']);
    expect(await readAll(c.id, { since: Math.ceil(Date.now() / 1000) + 3600 })).toEqual([]);
    expect(await readAll(c.id, { since: 1 })).toHaveLength(5);
  });

  it("keeps a line longer than the engine's 16 KiB log entries whole, with its timestamp", async () => {
    const c = await finished(['sh', '-c', 'head -c 40000 /dev/zero | tr "\\0" x; echo; echo after']);
    for (const timestamps of [false, true]) {
      const records = await readAll(c.id, { timestamps });
      expect(records.map((r) => r.line.length)).toEqual([40000, 5]);
      expect(records[0]!.line).toBe('x'.repeat(40000));
      if (timestamps) expect(records[0]!.t).toBeDefined();
    }
  });

  it('follows new lines as they are printed', async () => {
    const c = await run.createContainer({
      Cmd: ['sh', '-c', 'mkfifo /tmp/in; echo ready; while :; do cat /tmp/in; done'],
    });
    const sink = new CollectingSink<LogRecord>();
    const stream = await logs.open(c.id, { follow: true });
    const abort = new AbortController();
    const done = stream.run(sink, abort.signal);
    await sink.until((r) => lines(r).includes('ready'), '"ready"');
    await execIn(c, 'echo one > /tmp/in');
    await sink.until((r) => lines(r).includes('one'), '"one" after it was printed');
    await execIn(c, 'echo two > /tmp/in');
    await sink.until((r) => lines(r).includes('two'), '"two" after it was printed');
    abort.abort();
    expect(await done).toBe('cancelled');
    expect(lines(sink.items)).toEqual(['ready', 'one', 'two']);
  });

  it('follows across restarts without repeating a line, and ends when the container is removed', async () => {
    const c = await run.createContainer({
      Cmd: [
        'sh',
        '-c',
        'n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /n; echo "run $n"; echo "err $n" >&2; exec sleep 300',
      ],
    });
    const sink = new CollectingSink<LogRecord>();
    const stream = await logs.open(c.id, { follow: true, timestamps: true });
    const done = stream.run(sink, new AbortController().signal);
    await sink.until((r) => lines(r).includes('run 1') && lines(r).includes('err 1'), 'the first run');
    await c.restart({ t: 0 });
    await sink.until((r) => lines(r).includes('run 2') && lines(r).includes('err 2'), 'the second run');
    await c.stop({ t: 0 });
    await c.start();
    await sink.until((r) => lines(r).includes('run 3') && lines(r).includes('err 3'), 'the third run');
    expect(lines(sink.items.filter((r) => r.stream === 'stdout'))).toEqual(['run 1', 'run 2', 'run 3']);
    expect(lines(sink.items.filter((r) => r.stream === 'stderr'))).toEqual(['err 1', 'err 2', 'err 3']);
    expect(sink.items.every((r) => r.t !== undefined)).toBe(true);

    await c.remove({ force: true });
    expect(await done).toBe('removed');
  });

  it('follows a container by name, unaffected by another whose name starts the same', async () => {
    const script = 'n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /n; echo "run $n"; exec sleep 300';
    const name = `${run.runId}-web`;
    const c = await run.createContainer({ name, Cmd: ['sh', '-c', script] });
    const sibling = await run.createContainer({ name: `${name}-2`, Cmd: ['sleep', '300'] });
    const sink = new CollectingSink<LogRecord>();
    const abort = new AbortController();
    const stream = await logs.open(name, { follow: true });
    const done = stream.run(sink, abort.signal);
    await sink.until((r) => lines(r).includes('run 1'), 'the first run');
    // The engine's container filter matches "<name>" to "<name>-2" too: its removal and
    // restart must not end or disturb this stream.
    await sibling.remove({ force: true });
    await c.restart({ t: 0 });
    await sink.until((r) => lines(r).includes('run 2'), 'the second run, after the sibling was removed');
    abort.abort();
    expect(await done).toBe('cancelled');
    expect(lines(sink.items)).toEqual(['run 1', 'run 2']);
  });

  it('follows a container that has not started yet, from its first line', async () => {
    const c = await run.createContainer({ Cmd: ['sh', '-c', 'echo first; exec sleep 300'], start: false });
    const sink = new CollectingSink<LogRecord>();
    const stream = await logs.open(c.id, { follow: true });
    const abort = new AbortController();
    const done = stream.run(sink, abort.signal);
    await c.start();
    await sink.until((r) => lines(r).includes('first'), '"first" once started');
    abort.abort();
    expect(await done).toBe('cancelled');
    expect(lines(sink.items)).toEqual(['first']);
  });

  it('never pushes while the sink asked to wait, and delivers everything in order', async () => {
    const total = 50_000;
    const c = await finished(['sh', '-c', `seq 1 ${total}`]);
    let pending: (() => void) | undefined;
    let violations = 0;
    let waits = 0;
    const received: string[] = [];
    const sink: RecordSink<LogRecord> = {
      push: (r) => {
        if (pending) violations++;
        received.push(r.line);
        return received.length % 1000 !== 0; // "slow down" every 1000 lines
      },
      waitForDrain: () => {
        waits++;
        return new Promise<void>((resolve) => {
          pending = () => {
            pending = undefined;
            resolve();
          };
          setImmediate(() => pending?.()); // the consumer catches up on its next turn
        });
      },
    };
    const stream = await logs.open(c.id);
    expect(await stream.run(sink, new AbortController().signal)).toBe('completed');
    expect(violations).toBe(0);
    expect(waits).toBe(total / 1000);
    expect(received).toHaveLength(total);
    expect(received[0]).toBe('1');
    expect(received[total - 1]).toBe(String(total));
  });

  it('stops at once when cancelled while the sink holds the stream', async () => {
    const c = await finished(['sh', '-c', 'seq 1 100000']);
    const abort = new AbortController();
    let pushed = 0;
    const sink: RecordSink<LogRecord> = {
      push: () => ++pushed < 10,
      waitForDrain: () => {
        abort.abort(); // the client goes away instead of draining
        return new Promise<void>(() => undefined);
      },
    };
    const stream = await logs.open(c.id);
    expect(await stream.run(sink, abort.signal)).toBe('cancelled');
    expect(pushed).toBe(10);
  });

  it('answers ContainerNotFound for an unknown container', async () => {
    const error = await logs.open(`${run.runId}-nope`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).errorName).toBe('ContainerNotFound');
    const followed = await logs.open(`${run.runId}-nope`, { follow: true }).catch((e: unknown) => e);
    expect((followed as RpcError).errorName).toBe('ContainerNotFound');
  });

  it('refuses a since that is not a time', async () => {
    const c = await finished(['true']);
    const error = await logs.open(c.id, { since: 'yesterday' }).catch((e: unknown) => e);
    expect((error as RpcError).errorName).toBe('InvalidParams');
  });
});
