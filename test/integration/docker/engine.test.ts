/**
 * The engine connection against the real engine: discovery finds the default socket; an
 * engine that is not there is reported with the reason; and an engine that goes away and
 * comes back (a unix-socket proxy to the real socket that the test closes and reopens, so the
 * engine others use keeps running) is reconnected to, the container model resyncs and streams
 * waiting for its recovery are told. (A real engine restart under live streams:
 * docker-streams/engine-restart.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ContainerModel } from '../../../daemon/src/docker/container-model';
import { DEFAULT_SOCKET, discoverEngine } from '../../../daemon/src/docker/discovery';
import { DockerEngine } from '../../../daemon/src/docker/engine';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { testRun } from '../../helpers/docker-fixtures';

const run = testRun('bbengine');
const dir = mkdtempSync(join(tmpdir(), 'bbe-'));
const closers: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await run.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A unix socket at `path` forwarding every connection to the real engine; closing it cuts them all. */
function engineProxy(path: string) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    open: () =>
      new Promise<void>((resolve, reject) => {
        rmSync(path, { force: true });
        server = createServer((client) => {
          const upstream = createConnection(DEFAULT_SOCKET);
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('error', () => undefined);
            s.on('close', () => {
              sockets.delete(s);
              client.destroy();
              upstream.destroy();
            });
          }
          client.pipe(upstream).pipe(client);
        });
        server.once('error', reject);
        server.listen(path, () => resolve());
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}

describe('engine discovery and connection', () => {
  it('finds the engine on the default socket when nothing else is configured', async () => {
    const found = await discoverEngine({ env: {}, homeDir: dir });
    expect(found).toMatchObject({ strategy: 'default socket', endpoint: 'unix:///var/run/docker.sock' });
    await expect(found.docker.ping()).resolves.toBeTruthy();

    const engine = new DockerEngine({ env: {}, homeDir: dir });
    closers.push(() => engine.stop());
    const status = await engine.start();
    expect(status).toMatchObject({
      available: true,
      endpoint: 'unix:///var/run/docker.sock',
      apiVersion: expect.stringMatching(/^1\.\d+$/),
    });
    expect(status.version).toBeTruthy();
  });

  it('reports an engine that is not there, with the reason, and keeps answering DockerUnavailable', async () => {
    const socket = join(dir, 'no-engine.sock');
    const engine = new DockerEngine({ dockerHost: `unix://${socket}`, backoff: { initialMs: 60_000 } });
    const model = new ContainerModel(engine);
    closers.push(
      () => engine.stop(),
      () => model.close(),
    );

    const status = await engine.start();
    expect(status).toEqual({
      available: false,
      reason: `No Docker engine answered. Tried: Docker host setting unix://${socket} (ENOENT). Start Docker or correct the Docker host setting.`,
    });
    let thrown: unknown;
    try {
      engine.client();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RpcError);
    expect(thrown).toMatchObject({
      errorName: 'DockerUnavailable',
      code: 1201,
      message: status.reason,
      data: { tried: [{ strategy: 'Docker host setting', endpoint: `unix://${socket}`, error: 'ENOENT' }] },
    });
    await expect(model.list()).rejects.toMatchObject({ errorName: 'DockerUnavailable', message: status.reason });

    // The same through DOCKER_HOST: it alone is tried, though the default socket would answer.
    const viaEnv = new DockerEngine({ env: { DOCKER_HOST: `unix://${socket}` }, homeDir: dir });
    closers.push(() => viaEnv.stop());
    expect(await viaEnv.start()).toEqual({
      available: false,
      reason: `No Docker engine answered. Tried: DOCKER_HOST=unix://${socket} (ENOENT). Start that engine, or correct or unset DOCKER_HOST.`,
    });
    expect(() => viaEnv.client()).toThrow(expect.objectContaining({ errorName: 'DockerUnavailable' }));
  });

  it('notices the engine going away, reconnects when it is back, and the model resyncs', async () => {
    const socket = join(dir, 'proxy.sock');
    const proxy = engineProxy(socket);
    await proxy.open();
    const engine = new DockerEngine({ dockerHost: `unix://${socket}`, backoff: { initialMs: 20, maxMs: 200 } });
    const model = new ContainerModel(engine);
    closers.push(
      () => proxy.close(),
      () => engine.stop(),
      () => model.close(),
    );

    expect(await engine.start()).toMatchObject({ available: true, endpoint: `unix://${socket}` });
    expect(await engine.recovered(new AbortController().signal)).toBe(true); // up and answering: at once
    const before = `${run.runId}-before`;
    const created = model.next('event', (e) => e.action === 'create' && e.name === before);
    await run.createContainer({ name: before, Cmd: ['true'], start: false });
    await created;
    expect((await model.list({ all: true, label: [`branchbox.test=${run.runId}`] })).map((c) => c.name)).toEqual([
      before,
    ]);

    const disconnected = engine.next('disconnected');
    await proxy.close();
    const [reason] = await disconnected;
    expect(reason).toMatch(new RegExp(`^Lost the Docker engine at unix://${socket}: its event stream (ended|failed)`));
    expect(engine.status()).toEqual({ available: false, reason });
    expect(() => engine.client()).toThrow(expect.objectContaining({ errorName: 'DockerUnavailable' }));
    await expect(model.list()).rejects.toMatchObject({ errorName: 'DockerUnavailable' });

    // A change while the daemon cannot see the engine: the resync must pick it up.
    const during = `${run.runId}-during`;
    await run.createContainer({ name: during, Cmd: ['true'], start: false });

    // recovered(): false when its caller gives up; else true, once the engine is back.
    const giveUp = new AbortController();
    const abandoned = engine.recovered(giveUp.signal);
    giveUp.abort();
    expect(await abandoned).toBe(false);
    let recovered = false;
    const recovery = engine.recovered(new AbortController().signal).then((back) => (recovered = back));

    const connected = engine.next('connected');
    const resynced = model.next('resync');
    expect(recovered).toBe(false);
    await proxy.open();
    const [connection] = await connected;
    expect(await recovery).toBe(true);
    expect(connection).toMatchObject({ endpoint: `unix://${socket}`, strategy: 'Docker host setting' });
    const [why] = await resynced;
    expect(why).toBe(`Connected to the Docker engine at unix://${socket}`);
    expect(engine.status().available).toBe(true);
    expect((await model.list({ all: true, label: [`branchbox.test=${run.runId}`] })).map((c) => c.name).sort()).toEqual(
      [before, during].sort(),
    );

    // And the new event stream is live.
    const after = `${run.runId}-after`;
    const seen = model.next('event', (e) => e.action === 'create' && e.name === after);
    await run.createContainer({ name: after, Cmd: ['true'], start: false });
    expect((await seen)[0].container).toMatchObject({ name: after, state: 'created' });
  });

  it('reconnects as soon as the unix socket is back, without waiting for the backoff', async () => {
    const socket = join(dir, 'watched.sock');
    const proxy = engineProxy(socket);
    await proxy.open();
    // Ten minutes before the first retry: only the socket watch can reconnect within the test.
    const engine = new DockerEngine({ dockerHost: `unix://${socket}`, backoff: { initialMs: 600_000, maxMs: 600_000 } });
    closers.push(
      () => proxy.close(),
      () => engine.stop(),
    );
    expect((await engine.start()).available).toBe(true);
    const disconnected = engine.next('disconnected');
    await proxy.close(); // the socket file goes with the server
    await disconnected;
    const connected = engine.next('connected');
    await proxy.open();
    const [connection] = await connected;
    expect(connection.endpoint).toBe(`unix://${socket}`);
  });
});
