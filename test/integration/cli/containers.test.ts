/**
 * The CLI against a real daemon and Docker engine: `info`, `ps -o json` checked against the
 * protocol's result schema, one-line errors with their exit codes, `logs -f` until Ctrl-C, and
 * two clients — the CLI and a second protocol connection — seeing each other's changes live.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods, notifications, type StreamItem } from '../../../schemas/src/index';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { TEST_LABEL, testRun } from '../../helpers/docker-fixtures';
import { runCli, spawnCli, type LiveCli } from './cli-process';

const ajv = new Ajv({ strict: false });
addFormats(ajv);
const validate = (method: keyof typeof methods, value: unknown) => {
  const check = ajv.compile(methods[method].result);
  expect(check(value), `${method} result: ${JSON.stringify(check.errors)}`).toBe(true);
};

/** A busybox process that exits at once on SIGTERM (as PID 1 it needs a trap). */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

const run = testRun('bbcli');
let daemon: TestDaemon;
const live: LiveCli[] = [];
const cli = (args: string[]) => runCli(args, { stateDir: daemon.stateDir });

beforeAll(async () => {
  daemon = await startTestDaemon();
});
afterAll(async () => {
  for (const p of live) p.kill();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
});

describe('info and ps', () => {
  it('info prints what the daemon is; -o json is system/info exactly', async () => {
    const text = await cli(['info']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`state dir:   ${daemon.stateDir}`);
    expect(text.stdout).toMatch(/docker: +available/);

    const json = await cli(['info', '-o', 'json']);
    expect(json.code).toBe(0);
    const info = JSON.parse(json.stdout) as { stateDir: string; pid: number };
    validate('system/info', info);
    expect(info).toMatchObject({ stateDir: daemon.stateDir, pid: daemon.runtime.pid });
  });

  it('ps lists a container the test started, as a table and as container/list JSON', async () => {
    const name = `${run.runId}-ps`;
    const container = await run.createContainer({ Cmd: SLEEPER, name, Labels: run.labels() });
    const label = `${TEST_LABEL}=${run.runId}`;

    const json = await cli(['ps', '-o', 'json', '--label', label]);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { containers: { id: string; name: string; state: string }[] };
    validate('container/list', result);
    expect(result.containers.map((c) => c.name)).toContain(name);
    expect(result.containers.find((c) => c.name === name)).toMatchObject({ id: container.id, state: 'running' });

    const all = await cli(['-o', 'json', 'ps', '--all']);
    validate('container/list', JSON.parse(all.stdout));

    const table = await cli(['ps', '--label', label]);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^CONTAINER +NAME +IMAGE +STATE +STATUS/);
    const row = rows.find((r) => r.includes(name));
    expect(row).toMatch(new RegExp(`^${container.id.slice(0, 12)} +${name} +branchbox/busybox:1 +running +Up `));
  });
});

describe('errors', () => {
  it('an unknown container: exit 1 and one line naming ContainerNotFound', async () => {
    for (const args of [
      ['container', 'inspect', 'bbcli-no-such-container'],
      ['container', 'stop', 'bbcli-no-such-container'],
      ['logs', 'bbcli-no-such-container'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^branchbox: ContainerNotFound: .*bbcli-no-such-container.*\n$/);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
  });

  it('a service of a sandbox is its serving container sandbox-S_SERVICE', async () => {
    const r = await cli(['logs', '--sandbox', 'bbcli-nosuch', 'web']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^branchbox: ContainerNotFound: .*sandbox-bbcli-nosuch_web/);
  });
});

describe('logs -f', () => {
  it('prints the lines of a running container, new ones as they come, and exits 130 on Ctrl-C', async () => {
    const name = `${run.runId}-logs`;
    // Prints two lines at once, then one each time it gets SIGUSR1, so the test decides when.
    const container = await run.createContainer({
      name,
      Cmd: ['sh', '-c', 'echo first; echo second >&2; trap "echo third" USR1; trap "exit 0" TERM; while true; do sleep 1 & wait; done'],
    });
    const logs = spawnCli(['logs', '-f', name], { stateDir: daemon.stateDir });
    live.push(logs);
    await logs.waitForStdout((out) => out.includes('first\n'));
    await container.kill({ signal: 'SIGUSR1' });
    await logs.waitForStdout((out) => out.includes('third\n'));
    expect(logs.stdout()).toBe('first\nthird\n');
    expect(logs.stderr()).toBe('second\n'); // stderr lines go to stderr

    logs.process.kill('SIGINT');
    const end = await logs.exited;
    expect(end.code).toBe(130);
    expect(end.stderr).toBe('second\n'); // no error line: an interruption is not a failure
  });

  it('-o json prints each line as a container/logs/data item', async () => {
    const name = `${run.runId}-logsjson`;
    const container = await run.createContainer({ name, Cmd: ['sh', '-c', 'echo one; echo two >&2'] });
    await container.wait();
    const r = await cli(['logs', '-o', 'json', '--timestamps', name]);
    expect(r.code).toBe(0);
    const items = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as StreamItem<'container/logs/data'>);
    // Docker keeps each stream in order, not the two relative to each other.
    expect(items.map(({ stream, line }) => ({ stream, line }))).toEqual(
      expect.arrayContaining([
        { stream: 'stdout', line: 'one' },
        { stream: 'stderr', line: 'two' },
      ]),
    );
    expect(items).toHaveLength(2);
    for (const item of items) expect(item.t).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe('stats', () => {
  it('--once prints one sample of the container; -o json as container/stats/data items', async () => {
    const name = `${run.runId}-stats`;
    const container = await run.createContainer({ name, Cmd: SLEEPER });
    const json = await cli(['stats', '--once', name, '-o', 'json']);
    expect(json.code).toBe(0);
    const sample = JSON.parse(json.stdout) as { id: string };
    const check = ajv.compile(notifications['container/stats/data'].params.properties.items.items);
    expect(check(sample), JSON.stringify(check.errors)).toBe(true);
    expect(sample.id).toBe(container.id);

    const text = await cli(['stats', '--once', name]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^CONTAINER +CPU % +MEM USAGE / LIMIT +MEM % +NET RX/TX /s +BLOCK R/W /s\n${name} +\\d+\\.\\d\\d +\\S+ / \\S+ +`));
  });
});

describe('two clients', () => {
  it('a second connection sees the containers the CLI stops and starts, live', async () => {
    const name = `${run.runId}-shared`;
    const container = await run.createContainer({ name, Cmd: SLEEPER });
    const observer: TestClient = await daemon.connect('observer');
    try {
      const seen: string[] = [];
      const waiters: { action: string; resolve: () => void }[] = [];
      await observer.subscribe('events/subscribe', { types: ['container'] }, 'events/event', {
        onItems: (items) => {
          for (const e of items) {
            if (e.type === 'resync' || e.id !== container.id) continue;
            seen.push(e.action);
            waiters.filter((w) => w.action === e.action).forEach((w) => w.resolve());
          }
        },
      });
      const next = (action: string) => new Promise<void>((resolve) => waiters.push({ action, resolve }));

      const died = next('die');
      const stop = await cli(['container', 'stop', name]);
      expect(stop).toMatchObject({ code: 0, stdout: `Stopped ${name}\n` });
      await died;

      const started = next('start');
      const start = await cli(['container', 'start', name, '-o', 'json']);
      expect(start).toMatchObject({ code: 0, stdout: 'null\n' });
      await started;
      expect(seen).toEqual(expect.arrayContaining(['die', 'start']));

      // And the other way round: what the second connection changes, the CLI shows.
      const diedAgain = next('die');
      await observer.request('container/stop', { id: container.id });
      await diedAgain; // the daemon's model has it too, then
      const ps = JSON.parse((await cli(['ps', '-a', '-o', 'json', '--label', `${TEST_LABEL}=${run.runId}`])).stdout) as {
        containers: { name: string; state: string }[];
      };
      expect(ps.containers.find((c) => c.name === name)?.state).toBe('exited');
    } finally {
      await observer.closeSocket();
    }
  });
});
