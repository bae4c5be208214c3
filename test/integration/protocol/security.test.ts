/**
 * Transport security of the WebSocket, with raw `ws` and `http` clients against a real
 * daemon: who may connect (token, Host, Origin), what may be sent (message size, UTF-8),
 * who is dropped (heartbeat), and what the daemon exposes on disk and on the network.
 * All traffic goes to 127.0.0.1; the bound address is read from /proc, not probed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon';
import { Inbox } from '../../helpers/stdio-client';

const MAX_PAYLOAD = 4 * 1024 * 1024;

let daemon: TestDaemon | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await daemon?.dispose();
  daemon = undefined;
});

async function start(args: string[] = []): Promise<TestDaemon> {
  daemon = await startTestDaemon({ args });
  return daemon;
}

/** Either the socket opened, or the handshake was refused with an HTTP status and body. */
interface Attempt {
  readonly opened?: WebSocket;
  readonly status?: number;
  readonly body?: string;
}

/** Tries a WebSocket handshake; resolves with the open socket or the refusal's HTTP status. */
function attempt(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    sockets.push(ws);
    ws.once('open', () => resolve({ opened: ws }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    ws.once('error', (e) => reject(e));
  });
}

/** A raw HTTP upgrade request with exactly these headers (Host included), to 127.0.0.1. */
function rawUpgrade(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode!);
    });
    req.once('error', reject);
    req.end();
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Whether the daemon still answers a fresh, authenticated connection. */
async function stillServes(d: TestDaemon): Promise<void> {
  const client = await d.connect('after');
  expect((await client.request('system/info')).pid).toBe(d.runtime.pid);
  await client.closeSocket();
}

describe('who may connect', () => {
  it('no token → 401', async () => {
    const d = await start();
    const result = await attempt(d.url);
    expect(result.status).toBe(401);
    expect(result.body).toMatch(/token/);
  });

  it('a wrong token → 401, in the header and in the subprotocol', async () => {
    const d = await start();
    const wrong = d.runtime.token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    expect((await attempt(d.url, { headers: { Authorization: `Bearer ${wrong}` } })).status).toBe(401);
    expect((await attempt(d.url, { headers: { Authorization: 'Bearer ' } })).status).toBe(401);
    expect((await attempt(d.url, { headers: { Authorization: `Basic ${d.runtime.token}` } })).status).toBe(401);
    expect((await attempt(d.url, {}, ['branchbox.v1', `branchbox.token.${wrong}`])).status).toBe(401);
  });

  it('the token in the header is accepted', async () => {
    const d = await start();
    const result = await attempt(d.url, { headers: { Authorization: `Bearer ${d.runtime.token}` } });
    expect(result.opened).toBeDefined();
  });

  it('the token as a subprotocol is accepted and the server selects branchbox.v1', async () => {
    const d = await start();
    const result = await attempt(d.url, {}, ['branchbox.v1', `branchbox.token.${d.runtime.token}`]);
    expect(result.opened).toBeDefined();
    const ws = result.opened!;
    expect(ws.protocol).toBe('branchbox.v1');
    const inbox = new Inbox();
    ws.on('message', (data) => inbox.push(data.toString()));
    ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { clientInfo: { name: 'browser-like' } } }),
    );
    expect(await inbox.response(1)).toMatchObject({ result: { serverInfo: { name: 'branchboxd' } } });
  });

  it('a foreign Origin → 403, even with the right token; an allowed Origin is accepted', async () => {
    const d = await start(['--allow-origin', 'vscode-webview://allowed']);
    const auth = { Authorization: `Bearer ${d.runtime.token}` };
    const evil = await attempt(d.url, { headers: auth, origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body).toMatch(/Origin/);
    expect((await attempt(d.url, { headers: auth, origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await attempt(d.url, { headers: auth, origin: 'null' })).status).toBe(403);
    expect((await attempt(d.url, { headers: auth, origin: 'vscode-webview://allowed' })).opened).toBeDefined();
  });

  it('a Host that is not loopback with our port → 403 (DNS rebinding), even with the right token', async () => {
    const d = await start();
    const port = d.runtime.port;
    const auth = { Authorization: `Bearer ${d.runtime.token}` };
    expect(await rawUpgrade(port, { ...auth, Host: `evil.example:${port}` })).toBe(403);
    expect(await rawUpgrade(port, { ...auth, Host: 'evil.example' })).toBe(403);
    expect(await rawUpgrade(port, { ...auth, Host: `127.0.0.1:${port + 1 > 65535 ? port - 1 : port + 1}` })).toBe(403);
    expect(await rawUpgrade(port, { ...auth, Host: `127.0.0.1.evil.example:${port}` })).toBe(403);
    // The loopback names with the right port pass this check (and the token check).
    expect(await rawUpgrade(port, { ...auth, Host: `127.0.0.1:${port}` })).toBe(101);
    expect(await rawUpgrade(port, { ...auth, Host: `localhost:${port}` })).toBe(101);
    expect(await rawUpgrade(port, { ...auth, Host: `[::1]:${port}` })).toBe(101);
  });

  it('a plain HTTP GET → 426 Upgrade Required', async () => {
    const d = await start();
    const res = await fetch(`http://127.0.0.1:${d.runtime.port}/`);
    expect(res.status).toBe(426);
    expect(await res.text()).toMatch(/WebSocket/);
  });
});

describe('what may be sent', () => {
  it('a message larger than 4 MiB closes that socket with 1009; the daemon serves others', async () => {
    const d = await start();
    const victim = (await attempt(d.url, { headers: { Authorization: `Bearer ${d.runtime.token}` } })).opened!;
    const closed = closeOf(victim);
    victim.send(`{"jsonrpc":"2.0","id":1,"method":"rpc.discover","params":{"pad":"${'x'.repeat(MAX_PAYLOAD)}"}}`);
    expect((await closed).code).toBe(1009);
    await stillServes(d);
  });

  it('a message of exactly 4 MiB is still read and answered', async () => {
    const d = await start();
    const ws = (await attempt(d.url, { headers: { Authorization: `Bearer ${d.runtime.token}` } })).opened!;
    const inbox = new Inbox();
    ws.on('message', (data) => inbox.push(data.toString()));
    const head = '{"jsonrpc":"2.0","id":"big","method":"rpc.discover"';
    const text = head + ' '.repeat(MAX_PAYLOAD - head.length - 1) + '}';
    expect(Buffer.byteLength(text)).toBe(MAX_PAYLOAD);
    ws.send(text);
    expect(await inbox.response('big')).toMatchObject({ result: { openrpc: expect.any(String) } });
  });

  it('a text frame that is not UTF-8 closes that socket (1007); the daemon serves others', async () => {
    const d = await start();
    const ws = (await attempt(d.url, { headers: { Authorization: `Bearer ${d.runtime.token}` } })).opened!;
    const closed = closeOf(ws);
    ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0xc0, 0x7d]), { binary: false });
    expect((await closed).code).toBe(1007);
    await stillServes(d);
  });

  it('a peer that stops answering pings is dropped by the heartbeat', async () => {
    // Short, but long enough for a live peer on a loaded machine to answer in time.
    const d = await start(['--heartbeat-ms', '250']);
    const result = await attempt(d.url, { headers: { Authorization: `Bearer ${d.runtime.token}` }, autoPong: false });
    const closed = closeOf(result.opened!);
    // Terminated, not closed politely: the peer is presumed dead.
    expect((await closed).code).toBe(1006);
    await stillServes(d);
  });
});

describe('what the daemon exposes', () => {
  it('runtime.json is mode 0600 and carries a 32-byte token as 64 hex characters', async () => {
    const d = await start();
    const file = join(d.stateDir, 'runtime.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const runtime = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(runtime.token).toMatch(/^[0-9a-f]{64}$/);
    expect(runtime).toMatchObject({ pid: d.process.pid, port: d.runtime.port, version: expect.any(String) });
    // The token never reaches the log file.
    await stillServes(d);
    expect(readFileSync(join(d.stateDir, 'branchboxd.log'), 'utf8')).not.toContain(d.runtime.token);
  });

  it('listens on 127.0.0.1 only (checked in /proc/net/tcp and tcp6)', async () => {
    const d = await start();
    const listeners = [...listeningSockets('/proc/net/tcp'), ...listeningSockets('/proc/net/tcp6')].filter(
      (s) => s.port === d.runtime.port,
    );
    expect(listeners).toEqual([{ address: '127.0.0.1', port: d.runtime.port }]);
  });
});

/** The sockets in LISTEN state (st 0A) of a /proc/net/tcp{,6} table, with decoded addresses. */
function listeningSockets(table: string): { address: string; port: number }[] {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    return []; // no IPv6 on this machine
  }
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[3] === '0A')
    .map((cols) => {
      const [hexAddress, hexPort] = cols[1]!.split(':') as [string, string];
      return { address: decodeAddress(hexAddress), port: parseInt(hexPort, 16) };
    });
}

/** /proc/net prints addresses as host-order 32-bit words in hex (little-endian on x86 and arm64). */
function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return words.join(':');
}
