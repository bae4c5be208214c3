import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstBindable, takenPorts } from '../../../daemon/src/sandbox/port-probe';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import { openStore, type Store } from '../../../daemon/src/state/store';

let dir: string;
let store: Store;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-ports-'));
  store = openStore(path.join(dir, 'state.db'));
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `count` consecutive ports nothing listens on, outside the default ranges. */
function freeRange(count: number): number {
  const taken = takenPorts() ?? new Set<number>();
  for (let tries = 0; tries < 1000; tries++) {
    const from = 43_000 + Math.floor(Math.random() * 5_000);
    if (Array.from({ length: count }, (_, i) => from + i).every((p) => !taken.has(p))) return from;
  }
  throw new Error('no free range');
}

/** Another process listening on 127.0.0.1:port; resolves once it listens. */
async function occupy(port: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening'))`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
  });
}

describe('PortAllocator', () => {
  it('hands out each port of the range once, then answers PortExhausted', () => {
    const from = freeRange(3);
    const ports = new PortAllocator(store, { ranges: { service: { from, to: from + 2 } } });
    const got = [0, 1, 2].map((i) => ports.allocate({ sandbox: 'a', service: `s${i}`, purpose: 'service' }));
    expect(new Set(got).size).toBe(3);
    expect([...got].sort()).toEqual([from, from + 1, from + 2]);
    expect(() => ports.allocate({ sandbox: 'b', service: 'x', purpose: 'service' })).toThrow(
      expect.objectContaining({
        errorName: 'PortExhausted',
        message: expect.stringMatching(new RegExp(`No free service port in ${from}-${from + 2}`)),
      }),
    );
  });

  it('records sandbox, service, purpose, deployment and time, and releases them', () => {
    const from = freeRange(2);
    const changed: string[] = [];
    const ports = new PortAllocator(store, {
      ranges: { gateway: { from, to: from + 1 } },
      now: () => new Date('2030-01-01T00:00:00Z'),
      onChange: (s) => changed.push(s),
    });
    const port = ports.allocate({ sandbox: 'qa', purpose: 'gateway', deploymentId: 'd1' });
    expect(ports.heldBy('qa')).toEqual([
      { port, purpose: 'gateway', deploymentId: 'd1', allocatedAt: '2030-01-01T00:00:00.000Z' },
    ]);
    ports.release(port);
    ports.release(port); // releasing twice does nothing
    expect(ports.heldBy('qa')).toEqual([]);
    expect(changed).toEqual(['qa', 'qa']);
  });

  it('reuses released ports, recently released ones last', () => {
    const from = freeRange(2);
    const ports = new PortAllocator(store, { ranges: { service: { from, to: from + 1 } } });
    const a = ports.allocate({ sandbox: 'a', service: 'x', purpose: 'service' });
    ports.release(a);
    const b = ports.allocate({ sandbox: 'a', service: 'x', purpose: 'service' });
    expect(b).not.toBe(a);
    const c = ports.allocate({ sandbox: 'b', service: 'x', purpose: 'service' });
    expect(c).toBe(a);
    expect(ports.releaseSandbox('a')).toBe(1);
    expect(ports.heldBy('a')).toEqual([]);
    expect(ports.heldBy('b').map((l) => l.port)).toEqual([a]);
  });

  it('never hands out a port recorded by an earlier allocator (a restarted daemon)', () => {
    const from = freeRange(2);
    const first = new PortAllocator(store, { ranges: { service: { from, to: from + 1 } } });
    const a = first.allocate({ sandbox: 'a', service: 'x', purpose: 'service' });
    const second = new PortAllocator(store, { ranges: { service: { from, to: from + 1 } } });
    const b = second.allocate({ sandbox: 'b', service: 'x', purpose: 'service' });
    expect(b).not.toBe(a);
    expect(() => second.allocate({ sandbox: 'c', service: 'x', purpose: 'service' })).toThrow(/No free service port/);
  });

  it('skips a port another process listens on', async () => {
    const from = freeRange(2);
    await occupy(from);
    const ports = new PortAllocator(store, { ranges: { service: { from, to: from + 1 } } });
    expect(ports.allocate({ sandbox: 'a', service: 'x', purpose: 'service' })).toBe(from + 1);
    expect(() => ports.allocate({ sandbox: 'a', service: 'y', purpose: 'service' })).toThrow(
      expect.objectContaining({
        errorName: 'PortExhausted',
        message: expect.stringMatching(/1 are held by sandboxes, 1 are in use on the host/),
      }),
    );
  });

  it('skips the local port of an outgoing connection, which a published port could not bind', async () => {
    const server = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve) => client.once('connect', resolve));
    try {
      const local = client.localPort!; // picked by the kernel from the ephemeral range
      // The hazard is real: a listener cannot take it (the engine's proxy fails the same way).
      const bind = await new Promise<string>((resolve) => {
        const probe = net.createServer();
        probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        probe.listen(local, '127.0.0.1', () => probe.close(() => resolve('bound')));
      });
      expect(bind).toBe('EADDRINUSE');
      expect(takenPorts()?.has(local)).toBe(true);
      const ports = new PortAllocator(store, { ranges: { service: { from: local, to: local } } });
      expect(() => ports.allocate({ sandbox: 'a', service: 'x', purpose: 'service' })).toThrow(expect.objectContaining({ errorName: 'PortExhausted' }));
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('finds the same taken port by binding briefly (the check used where /proc is absent)', async () => {
    const from = freeRange(2);
    await occupy(from);
    expect(takenPorts()?.has(from)).toBe(true);
    expect(firstBindable([from, from + 1])).toBe(from + 1);
    expect(firstBindable([from])).toBeUndefined();
  });

  it('refuses an invalid range', () => {
    expect(() => new PortAllocator(store, { ranges: { service: { from: 5000, to: 4000 } } })).toThrow(
      /Invalid service port range/,
    );
  });
});
