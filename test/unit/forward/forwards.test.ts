/**
 * Forwards over real sockets and a real SQLite store: TCP upstreams on 127.0.0.1 that say who
 * they are and echo, targets resolved from a table the test changes (the daemon reads them from
 * the container model; test/integration/forward/ does that with real containers).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Project } from '../../../schemas/src/project';
import { ForwardStore } from '../../../daemon/src/forward/forward-store';
import { Forwards, type ForwardsDeps } from '../../../daemon/src/forward/forwards';
import type { Resolution } from '../../../daemon/src/forward/forward-listener';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { nullLogger } from '../../../daemon/src/runtime/log';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { Cleanup } from '../gateway/fixtures';

const cleanup = new Cleanup();
afterEach(cleanup.run);

interface Echo {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
}

/** A TCP server that writes `<name>\n` on each connection, then echoes what it reads. */
async function echoServer(name: string): Promise<Echo> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { name, port: (server.address() as AddressInfo).port, server };
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A client connection that collects what it reads; `closed` resolves when the forward closes it. */
class Client {
  readonly socket: Socket;
  private text = '';
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];
  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => {
      this.text += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    cleanup.add(() => this.socket.destroy());
  }
  /** Resolves once what was read contains `needle`. */
  async read(needle: string): Promise<string> {
    while (!this.text.includes(needle)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.text;
  }
}

interface World {
  store: Store;
  sandboxes: SandboxStore;
  forwardStore: ForwardStore;
  forwards: Forwards;
  /** `sandbox/service/port` → target or reason. */
  targets: Map<string, Resolution>;
  deps: ForwardsDeps;
  a: Echo;
  b: Echo;
}

let w: World;

const PROJECT = { services: { db: { ports: [{ container: 5432, protocol: 'tcp', published: 41_234 }] }, web: { port: 8080 } } } as unknown as Project;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-fwd-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const store = openStore(join(dir, 'state.db'));
  cleanup.add(() => store.close());
  const sandboxes = new SandboxStore(store);
  const forwardStore = new ForwardStore(store);
  const targets = new Map<string, Resolution>();
  const deps: ForwardsDeps = {
    store: forwardStore,
    sandboxes,
    resolve: async (sandbox, service, port) => targets.get(`${sandbox}/${service}/${port}`) ?? { reason: `${service} is not deployed in sandbox ${sandbox}` },
    loadProject: () => PROJECT,
    log: nullLogger,
  };
  const forwards = new Forwards(deps);
  cleanup.add(() => forwards.stop());
  await forwards.start();
  const [a, b] = await Promise.all([echoServer('a'), echoServer('b')]);
  for (const name of ['qa-a', 'qa-b']) sandboxes.insert({ name, owner: 'test', project: 'shop', repoPath: dir });
  targets.set('qa-a/db/5432', { target: { sandbox: 'qa-a', containerId: 'ca', hostPort: a!.port } });
  targets.set('qa-b/db/5432', { target: { sandbox: 'qa-b', containerId: 'cb', hostPort: b!.port } });
  w = { store, sandboxes, forwardStore, forwards, targets, deps, a: a!, b: b! };
});

async function addDb(): Promise<number> {
  const localPort = await freePort();
  await w.forwards.add({ project: 'shop', service: 'db', containerPort: 5432, localPort });
  return localPort;
}

describe('forward/add', () => {
  it('defaults to the first published port, and to it + 10000 on 127.0.0.1', async () => {
    const view = await w.forwards.add({ project: 'shop', service: 'db' });
    expect(view).toMatchObject({ containerPort: 5432, localPort: 51_234, address: '127.0.0.1:51234', listening: true });
    const web = await w.forwards.add({ project: 'shop', service: 'web', localPort: await freePort() });
    expect(web.containerPort).toBe(8080);
  });

  it('names a port another process holds, and a port another forward holds', async () => {
    const taken = await echoServer('other');
    const error = await w.forwards.add({ project: 'shop', service: 'db', localPort: taken.port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ errorName: 'PortInUse', message: `127.0.0.1:${taken.port} is already in use by another process.` });

    const port = await addDb();
    const again = await w.forwards.add({ project: 'shop', service: 'web', containerPort: 8080, localPort: port }).catch((e: unknown) => e);
    expect(again).toMatchObject({ errorName: 'PortInUse', message: `127.0.0.1:${port} is already the forward of db:5432 of project shop.` });
    expect(await w.forwards.list()).toMatchObject([{ project: 'shop', forwards: [{ service: 'db' }] }]);
  });

  it('refuses a service the project does not have, and a forward that exists', async () => {
    await expect(w.forwards.add({ project: 'shop', service: 'nope' })).rejects.toMatchObject({
      errorName: 'InvalidParams',
      message: expect.stringContaining('project shop has no service "nope" (services: db, web)'),
    });
    const port = await addDb();
    await expect(w.forwards.add({ project: 'shop', service: 'db', containerPort: 5432, localPort: await freePort() })).rejects.toMatchObject({
      message: expect.stringContaining(`already forwarded on 127.0.0.1:${port}`),
    });
  });
});

describe('connections', () => {
  it('keeps a connection in flight on its sandbox across a switch; the next one reaches the new sandbox', async () => {
    const port = await addDb();
    await w.forwards.use({ sandbox: 'qa-a' });
    const first = new Client(port);
    await first.read('a\n');

    const switched = await w.forwards.use({ project: 'shop', sandbox: 'qa-b' });
    expect(switched).toMatchObject({ project: 'shop', sandbox: 'qa-b', forwards: [{ target: { sandbox: 'qa-b', hostPort: w.b.port }, connections: { open: 1, total: 1 } }] });
    const second = new Client(port);
    await second.read('b\n');
    first.socket.write('still here\n');
    expect(await first.read('still here\n')).toBe('a\nstill here\n');
    const [view] = (await w.forwards.state('shop')).forwards;
    expect(view!.connections).toEqual({ open: 2, total: 2, refused: 0 });
  });

  it('closes a connection at once when there is no current sandbox, or the service is not running there, and says why', async () => {
    const port = await addDb();
    const client = new Client(port);
    await client.closed;
    let [view] = (await w.forwards.state('shop')).forwards;
    expect(view).toMatchObject({ reason: 'project shop has no current sandbox (forward/use)', connections: { open: 0, total: 0, refused: 1 }, lastError: { message: 'project shop has no current sandbox (forward/use)' } });

    w.sandboxes.insert({ name: 'qa-c', owner: 'test', project: 'shop' });
    await w.forwards.use({ sandbox: 'qa-c' });
    await new Client(port).closed;
    [view] = (await w.forwards.state('shop')).forwards;
    expect(view).toMatchObject({ sandbox: 'qa-c', reason: 'db is not deployed in sandbox qa-c', connections: { refused: 2 } });
  });

  it('closes a connection whose upstream refuses it, and survives peers resetting', async () => {
    const port = await addDb();
    const dead = await freePort();
    w.targets.set('qa-a/db/5432', { target: { sandbox: 'qa-a', containerId: 'ca', hostPort: dead } });
    await w.forwards.use({ sandbox: 'qa-a' });
    await new Client(port).closed;
    const [view] = (await w.forwards.state('shop')).forwards;
    expect(view!.lastError?.message).toBe(`qa-a: 127.0.0.1:${dead} refused the connection (ECONNREFUSED)`);

    w.targets.set('qa-a/db/5432', { target: { sandbox: 'qa-a', containerId: 'ca', hostPort: w.a.port } });
    for (let i = 0; i < 20; i++) {
      const client = new Client(port);
      await client.read('a\n');
      client.socket.resetAndDestroy();
      await client.closed;
    }
    const after = new Client(port);
    await after.read('a\n');
    after.socket.end();
    await after.closed;
    await expect.poll(async () => (await w.forwards.state('shop')).forwards[0]!.connections.open).toBe(0);
  });

  it('ends the connections of a container that went away, cleanly', async () => {
    const port = await addDb();
    await w.forwards.use({ sandbox: 'qa-a' });
    const client = new Client(port);
    await client.read('a\n');
    let ended = false;
    client.socket.on('end', () => (ended = true));
    w.forwards.containerGone('cb');
    w.forwards.containerGone('ca');
    await client.closed;
    expect(ended).toBe(true);
  });
});

describe('forward/use and sandboxes', () => {
  it('refuses an unknown sandbox and a sandbox of another project', async () => {
    await expect(w.forwards.use({ sandbox: 'nope' })).rejects.toMatchObject({ errorName: 'SandboxNotFound' });
    w.sandboxes.insert({ name: 'other', owner: 'test', project: 'blog' });
    await expect(w.forwards.use({ project: 'shop', sandbox: 'other' })).rejects.toMatchObject({
      errorName: 'InvalidParams',
      message: expect.stringContaining('other is a sandbox of project blog, not shop'),
    });
  });

  it('unsets a deleted current sandbox and says so on the next connection', async () => {
    const port = await addDb();
    await w.forwards.use({ sandbox: 'qa-a' });
    const events: string[] = [];
    w.forwards.onChange((p) => events.push(p));
    w.sandboxes.remove('qa-a');
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['shop']);
    await new Client(port).closed;
    const state = await w.forwards.state('shop');
    expect(state.sandbox).toBeUndefined();
    expect(state.forwards[0]!.lastError?.message).toBe('project shop has no current sandbox: qa-a was deleted (forward/use another)');
    expect(w.forwardStore.currents().size).toBe(0);
  });

  it('restores forwards and the current sandbox from the store', async () => {
    const port = await addDb();
    await w.forwards.use({ sandbox: 'qa-b' });
    await w.forwards.stop();
    const restarted = new Forwards(w.deps);
    cleanup.add(() => restarted.stop());
    await restarted.start();
    const client = new Client(port);
    await client.read('b\n');
    expect(await restarted.list()).toMatchObject([{ project: 'shop', sandbox: 'qa-b', forwards: [{ localPort: port, listening: true }] }]);
  });

  it('reports a port taken while it was down, and listens again when the forward is added again', async () => {
    const port = await addDb();
    await w.forwards.stop();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    const restarted = new Forwards(w.deps);
    cleanup.add(() => restarted.stop());
    await restarted.start();
    expect((await restarted.state('shop')).forwards[0]).toMatchObject({ listening: false, listenError: `127.0.0.1:${port} is already in use by another process.` });
    await expect(restarted.add({ project: 'shop', service: 'db', containerPort: 5432 })).rejects.toMatchObject({ errorName: 'PortInUse' });
    await new Promise((resolve) => squatter.close(resolve));
    const again = await restarted.add({ project: 'shop', service: 'db', containerPort: 5432 });
    expect(again).toMatchObject({ localPort: port, listening: true });
    expect(again.listenError).toBeUndefined();
  });

  it('removes a forward: its port closes', async () => {
    const port = await addDb();
    const removed = await w.forwards.remove({ project: 'shop', service: 'db' });
    expect(removed).toMatchObject({ localPort: port, listening: false });
    await new Client(port).closed;
    await expect(w.forwards.remove({ project: 'shop', service: 'db' })).rejects.toMatchObject({
      message: expect.stringContaining('project shop has no forward db (forwards: none)'),
    });
    expect(await w.forwards.list()).toEqual([]);
  });
});
