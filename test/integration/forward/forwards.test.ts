/**
 * Forwards end to end: a real daemon (from dist/), real containers of the fixture repository
 * (`account`, a Node server on 8080 answering its branch) in two sandboxes, and raw TCP
 * connections to the forward on 127.0.0.1. A forward switched from one sandbox to the other
 * while a connection stays open on the first; a port already taken; no current sandbox; the
 * daemon restarted (forwards restored); the current sandbox deleted; the CLI. Traffic goes to
 * 127.0.0.1 only.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods, type StreamItem } from '../../../schemas/src/index';
import { failure, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { TEST_LABEL, testRun } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { deployAndWait, portWindows } from '../lifecycle/helpers';
import { runCli } from '../cli/cli-process';

/** One daemon and two sandboxes for the whole file (the tests follow each other); removed at the end. */
const run = testRun('bbfwd');
const env = { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...portWindows() };
const fx = {} as { daemon: TestDaemon; client: TestClient; repo: FixtureRepo; restart(): Promise<void> };
fx.restart = async () => {
  await fx.client.closeSocket();
  await fx.daemon.stop();
  fx.daemon = await startTestDaemon({ stateDir: fx.daemon.stateDir, env });
  fx.client = await fx.daemon.connect('forward-test');
};
const A = () => `fwa-${run.runId.slice(-8)}`;
const B = () => `fwb-${run.runId.slice(-8)}`;
const open: Socket[] = [];
const servers: Server[] = [];

afterAll(async () => {
  for (const s of open) s.destroy();
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
});

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A raw TCP connection to the forward that can send HTTP requests on the same socket. */
class Conn {
  readonly socket: Socket;
  private text = '';
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    open.push(this.socket);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => {
      this.text += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        resolve();
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }
  /** GET / on this connection (keep-alive); answers the body: the branch of the container that answered. */
  async get(): Promise<string> {
    this.text = '';
    this.socket.write('GET / HTTP/1.1\r\nHost: forward.test\r\nConnection: keep-alive\r\n\r\n');
    for (;;) {
      // The fixture answers with one chunk: `<hex size>\r\n<body>\r\n0\r\n\r\n`.
      const match = /\r\n\r\n([0-9a-f]+)\r\n([\s\S]*)\r\n0\r\n\r\n$/i.exec(this.text);
      if (match) return match[2]!.slice(0, parseInt(match[1]!, 16));
      if (this.socket.destroyed) throw new Error(`connection closed; read: ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

const forwardOf = async () => {
  const { projects } = await fx.client.request('forward/list', { project: 'shop' });
  return { project: projects[0]!, forward: projects[0]!.forwards[0]! };
};

let port: number;

beforeAll(async () => {
  fx.repo = createFixtureRepo();
  fx.daemon = await startTestDaemon({ env });
  fx.client = await fx.daemon.connect('forward-test');
  for (const name of [A(), B()]) await fx.client.request('sandbox/create', { name, repoPath: fx.repo.root });
  await deployAndWait(fx.client, { sandbox: A(), repoPath: fx.repo.root, ref: 'main', services: ['account'] });
  await deployAndWait(fx.client, { sandbox: B(), repoPath: fx.repo.root, ref: 'feature/x', services: ['account'] });
}, 240_000);

afterAll(async () => {
  if (fx.client) for (const name of [A(), B()]) await fx.client.request('sandbox/delete', { name }).catch(() => undefined);
  await fx.client?.closeSocket();
  await fx.daemon?.stop();
  await fx.daemon?.dispose();
  await run.cleanup();
  fx.repo?.dispose();
});

describe('forwards with real containers', () => {
  it('refuses connections at once while the project has no current sandbox, and says why', async () => {
    port = await freePort();
    const added = await fx.client.request('forward/add', { project: 'shop', service: 'account', localPort: port });
    expect(added).toMatchObject({ containerPort: 8080, localPort: port, address: `127.0.0.1:${port}`, listening: true, reason: 'project shop has no current sandbox (forward/use)' });
    const conn = new Conn(port);
    await conn.closed;
    const { forward } = await forwardOf();
    expect(forward.connections).toEqual({ open: 0, total: 0, refused: 1 });
    expect(forward.lastError?.message).toBe('project shop has no current sandbox (forward/use)');
  });

  it('switches: a connection open on the first sandbox keeps it, the next one reaches the second', async () => {
    const events: StreamItem<'forward/event'>[] = [];
    await fx.client.subscribe('forward/subscribe', {}, 'forward/event', { onItems: (items) => events.push(...items) });

    const used = await fx.client.request('forward/use', { sandbox: A() });
    expect(used).toMatchObject({ project: 'shop', sandbox: A(), forwards: [{ target: { sandbox: A() } }] });
    const first = new Conn(port);
    expect(await first.get()).toBe('main');

    await fx.client.request('forward/use', { project: 'shop', sandbox: B() });
    const second = new Conn(port);
    expect(await second.get()).toBe('feature/x');
    expect(await first.get()).toBe('main');
    expect(await second.get()).toBe('feature/x');

    const sandbox = await fx.client.request('sandbox/get', { name: B() });
    const { project, forward } = await forwardOf();
    expect(project.sandbox).toBe(B());
    expect(forward.target).toEqual({ sandbox: B(), containerId: sandbox.services[0]!.containerId, hostPort: sandbox.services[0]!.hostPort });
    expect(forward.connections).toMatchObject({ open: 2, total: 2 });
    await expect.poll(() => events.map((e) => e.state.sandbox)).toEqual([A(), B()]);
  });

  it('names a local port another process holds', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const taken = (server.address() as AddressInfo).port;
    const error = await failure(fx.client.request('forward/add', { project: 'shop', service: 'payment', containerPort: 8080, localPort: taken }));
    expect(error.code).toBe(1302);
    expect(error.message).toBe(`127.0.0.1:${taken} is already in use by another process.`);
    const again = await failure(fx.client.request('forward/add', { project: 'shop', service: 'payment', localPort: port }));
    expect(again.message).toBe(`127.0.0.1:${port} is already the forward of account:8080 of project shop.`);
  });

  it('is restored when the daemon restarts', async () => {
    for (const s of open) s.destroy();
    await fx.restart();
    const { project, forward } = await forwardOf();
    expect(project.sandbox).toBe(B());
    expect(forward).toMatchObject({ listening: true, localPort: port, connections: { open: 0, total: 0, refused: 0 } });
    expect(await new Conn(port).get()).toBe('feature/x');
  });

  it('works from the CLI', async () => {
    const cli = (args: string[]) => runCli(args, { stateDir: fx.daemon.stateDir, cwd: fx.repo.root });
    const used = await cli(['forward', 'use', A()]);
    expect(used.stderr).toBe('');
    expect(used.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} +account:8080 +${A()} \\(127\\.0\\.0\\.1:\\d+\\)`, 'm'));
    const listed = await cli(['forward', 'ls', '-o', 'json']);
    const ajv = addFormats(new Ajv({ strict: false }));
    const value = JSON.parse(listed.stdout) as unknown;
    expect(ajv.compile(methods['forward/list'].result)(value)).toBe(true);
    expect(await new Conn(port).get()).toBe('main');
    const bad = await cli(['forward', 'add', 'account:99999']);
    expect(bad.code).toBe(2);
  });

  it('unsets a deleted current sandbox: its connections end, new ones are refused with the reason', async () => {
    const held = new Conn(port);
    expect(await held.get()).toBe('main');
    await fx.client.request('sandbox/delete', { name: A() });
    await held.closed;
    const conn = new Conn(port);
    await conn.closed;
    const { project, forward } = await forwardOf();
    expect(project.sandbox).toBeUndefined();
    expect(forward.lastError?.message).toBe(`project shop has no current sandbox: ${A()} was deleted (forward/use another)`);
    const removed = await fx.client.request('forward/remove', { project: 'shop', service: 'account' });
    expect(removed.removed.localPort).toBe(port);
  });
});
