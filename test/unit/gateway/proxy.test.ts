/**
 * The reverse proxy over real sockets on 127.0.0.1: what reaches the upstream (path, body,
 * headers), what comes back (hop-by-hop headers stripped, X-Branchbox-Route added), the
 * gateway's own answers (404, 502, 504), kept-alive upstream connections, a client that
 * goes away, WebSocket upgrades, and routes read afresh for every request.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { Gateways } from '../../../daemon/src/gateway/gateways';
import { joinPath } from '../../../daemon/src/gateway/proxy';
import type { SandboxRoutes } from '../../../daemon/src/gateway/route-table';
import { Cleanup, MemoryRoutes, deadPort, fetchText, stalledListener, startUpstream, type EchoBody } from './fixtures';

const cleanup = new Cleanup();
afterEach(cleanup.run);

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

async function gatewayFor(table: Partial<SandboxRoutes>, opts: { responseTimeoutMs?: number; connectTimeoutMs?: number } = {}) {
  const source = new MemoryRoutes();
  source.set({ sandbox: 'qa', routes: [], baseline: {}, services: {}, ...table });
  const gateways = new Gateways({ source, sharedPort: null, proxy: { responseTimeoutMs: opts.responseTimeoutMs ?? 5_000, connectTimeoutMs: opts.connectTimeoutMs ?? 5_000 } });
  cleanup.add(() => gateways.stop());
  const address = await gateways.open('qa', 0);
  return { source, gateways, url: address.url };
}

describe('forwarding', () => {
  it('passes method, path, query and body; sets X-Forwarded-*; strips hop-by-hop headers both ways', async () => {
    const up = await startUpstream(cleanup, 'account', (req, res) => {
      let bodyBytes = 0;
      req.on('data', (c: Buffer) => (bodyBytes += c.length));
      req.on('end', () => {
        res.writeHead(201, {
          'content-type': 'application/json',
          connection: 'x-upstream-hop',
          'x-upstream-hop': 'must not pass',
          'x-upstream-end': 'passes',
          'set-cookie': ['a=1', 'b=2'],
        });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes }));
      });
    });
    const { url } = await gatewayFor({
      routes: [{ prefix: '/account', service: 'account' }],
      services: { account: { route: 'sandbox', hostPort: up.port, commit: COMMIT } },
    });
    const answer = await fetchText(`${url}/account/42?q=1&r=/x`, {
      method: 'POST',
      headers: {
        connection: 'keep-alive, x-client-hop',
        'x-client-hop': 'must not pass',
        te: 'trailers',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-forwarded-for': '10.1.2.3',
        'x-end-to-end': 'passes',
        'content-type': 'text/plain',
      },
      body: 'hello upstream',
    });
    expect(answer.status).toBe(201);
    expect(answer.headers['x-branchbox-route']).toBe('account -> sandbox (0123456)');
    expect(answer.headers['x-upstream-end']).toBe('passes');
    expect(answer.headers['x-upstream-hop']).toBeUndefined();
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    const seen = JSON.parse(answer.body) as EchoBody;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/account/42?q=1&r=/x');
    expect(seen.bodyBytes).toBe('hello upstream'.length);
    expect(seen.headers.host).toBe(`127.0.0.1:${up.port}`);
    expect(seen.headers['x-forwarded-host']).toBe(new URL(url).host);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-for']).toBe('10.1.2.3, 127.0.0.1');
    expect(seen.headers['x-end-to-end']).toBe('passes');
    for (const hop of ['x-client-hop', 'te', 'proxy-authorization']) expect(seen.headers[hop]).toBeUndefined();
  });

  it("appends the request path to a target URL's own path", async () => {
    const up = await startUpstream(cleanup, 'v2');
    const { url } = await gatewayFor({
      routes: [{ prefix: '/api', service: 'api' }],
      services: { api: { route: 'url', url: `${up.url}/v2/` } },
    });
    const answer = await fetchText(`${url}/api/users?x=1`);
    expect((JSON.parse(answer.body) as EchoBody).url).toBe('/v2/api/users?x=1');
    expect(answer.headers['x-branchbox-route']).toBe('api -> url');
    expect(joinPath('/', '/a?b')).toBe('/a?b');
    expect(joinPath('/base', 'http://h/a?b')).toBe('/base/a?b');
  });

  it('keeps upstream connections alive across requests', async () => {
    const up = await startUpstream(cleanup, 'account');
    const { url } = await gatewayFor({
      routes: [{ prefix: '/', service: 'account' }],
      services: { account: { route: 'sandbox', hostPort: up.port } },
    });
    for (let i = 0; i < 20; i++) expect((await fetchText(`${url}/n/${i}`)).status).toBe(200);
    expect(up.seen.requests).toBe(20);
    expect(up.seen.connections).toBe(1);
  });

  it('passes header names as written and repeated headers apart, both ways', async () => {
    const up = await startUpstream(cleanup, 'account', (req, res) => {
      res.writeHead(200, [
        'X-Upstream-Case', 'Kept',
        'X-Multi', 'one',
        'X-Multi', 'two',
        'Content-Type', 'application/json',
      ]);
      res.end(JSON.stringify(req.rawHeaders));
    });
    const { url } = await gatewayFor({
      routes: [{ prefix: '/', service: 'account' }],
      services: { account: { route: 'sandbox', hostPort: up.port } },
    });
    const answer = await new Promise<{ raw: string[]; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/x`, { agent: false, headers: [['Host', new URL(url).host], ['X-Client-Case', 'Kept'], ['X-Repeat', 'a'], ['X-Repeat', 'b']].flat() }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ raw: res.rawHeaders, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const pairs = (raw: string[]) => raw.flatMap((v, i) => (i % 2 === 0 ? [`${v}: ${raw[i + 1]}`] : []));
    const seen = pairs(JSON.parse(answer.body) as string[]);
    expect(seen).toContain('X-Client-Case: Kept');
    expect(seen.filter((h) => h.startsWith('X-Repeat:'))).toEqual(['X-Repeat: a', 'X-Repeat: b']);
    const back = pairs(answer.raw);
    expect(back).toContain('X-Upstream-Case: Kept');
    expect(back.filter((h) => h.startsWith('X-Multi:'))).toEqual(['X-Multi: one', 'X-Multi: two']);
    expect(back).toContain('X-Branchbox-Route: account -> sandbox');
  });

  it("gives a kept-alive upstream connection nothing of the previous request's headers", async () => {
    const sockets = new Set<unknown>();
    const up = await startUpstream(cleanup, 'account', (req, res) => {
      sockets.add(req.socket);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.headers));
    });
    const { url } = await gatewayFor({
      routes: [{ prefix: '/', service: 'account' }],
      services: { account: { route: 'sandbox', hostPort: up.port } },
    });
    const first = await fetchText(`${url}/first`, {
      headers: { connection: 'x-private', 'x-private': 'one hop only', 'x-forwarded-for': '10.9.8.7', 'x-forwarded-host': 'front.example', 'x-only-first': '1' },
    });
    const second = await fetchText(`${url}/second`);
    expect(sockets.size).toBe(1);
    const a = JSON.parse(first.body) as http.IncomingHttpHeaders;
    const b = JSON.parse(second.body) as http.IncomingHttpHeaders;
    expect(a['x-private']).toBeUndefined();
    expect(a['x-forwarded-for']).toBe('10.9.8.7, 127.0.0.1');
    expect(a['x-forwarded-host']).toBe('front.example');
    expect(a['x-only-first']).toBe('1');
    expect(b['x-forwarded-for']).toBe('127.0.0.1');
    expect(b['x-forwarded-host']).toBe(new URL(url).host);
    expect(b['x-only-first']).toBeUndefined();
    expect(b.host).toBe(`127.0.0.1:${up.port}`);
  });

  it('cancels the upstream request when the client goes away', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    const up = await startUpstream(cleanup, 'slow', (req) => {
      req.socket.on('close', () => upstreamClosed());
      arrived(); // and never answer
    });
    const { url } = await gatewayFor({
      routes: [{ prefix: '/', service: 'slow' }],
      services: { slow: { route: 'sandbox', hostPort: up.port } },
    });
    const req = http.get(`${url}/wait`, { agent: false });
    req.on('error', () => undefined);
    await arrival;
    req.destroy();
    await closed;
  });
});

describe("the gateway's own answers", () => {
  it('answers 404 with the explanation when no route matches', async () => {
    const { url } = await gatewayFor({ routes: [{ prefix: '/account', service: 'account' }] });
    const answer = await fetchText(`${url}/nothing`);
    expect(answer.status).toBe(404);
    expect(answer.headers['x-branchbox-route']).toBe('none');
    expect(answer.body).toBe('no route matches /nothing (routes: /account)\n');
  });

  it('answers 502 naming the target and the cause when the target is down', async () => {
    const port = await deadPort();
    const { url } = await gatewayFor({
      routes: [{ prefix: '/account', service: 'account' }],
      services: { account: { route: 'sandbox', hostPort: port, commit: COMMIT } },
    });
    const answer = await fetchText(`${url}/account`);
    expect(answer.status).toBe(502);
    expect(answer.headers['x-branchbox-route']).toBe('account -> sandbox (0123456)');
    expect(answer.body).toContain(`cannot reach account -> sandbox (0123456) at http://127.0.0.1:${port}`);
    expect(answer.body).toContain('ECONNREFUSED');
  });

  it('answers 504 when the target does not answer in time', async () => {
    const up = await startUpstream(cleanup, 'mute', () => undefined);
    const { url } = await gatewayFor(
      { routes: [{ prefix: '/', service: 'mute' }], services: { mute: { route: 'url', url: up.url } } },
      { responseTimeoutMs: 200 },
    );
    const answer = await fetchText(`${url}/x`);
    expect(answer.status).toBe(504);
    expect(answer.body).toContain(`no answer from mute -> url at ${up.url}: no response within 200 ms`);
  });

  it('answers 504 when the target does not accept the connection in time', async () => {
    const port = await stalledListener(cleanup);
    const { url } = await gatewayFor(
      { routes: [{ prefix: '/', service: 'stalled' }], services: { stalled: { route: 'sandbox', hostPort: port } } },
      { connectTimeoutMs: 300 },
    );
    const answer = await fetchText(`${url}/x`);
    expect(answer.status).toBe(504);
    expect(answer.body).toContain(`no answer from stalled -> sandbox at http://127.0.0.1:${port}: no connection within 300 ms`);
  });

  it('answers 503 when the service has no target', async () => {
    const { url } = await gatewayFor({ routes: [{ prefix: '/payment', service: 'payment' }] });
    const answer = await fetchText(`${url}/payment`);
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('payment is not deployed in sandbox qa and the project has no baseline URL for payment');
  });
});

describe('route changes', () => {
  it('apply to the next request while a request in flight keeps its upstream', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    const a = await startUpstream(cleanup, 'a', (req, res) => {
      arrived();
      void held.then(() => res.end('from a'));
    });
    const b = await startUpstream(cleanup, 'b', (_req, res) => res.end('from b'));
    const { url, source } = await gatewayFor({
      routes: [{ prefix: '/', service: 'svc' }],
      services: { svc: { route: 'url', url: a.url } },
    });
    const slow = fetchText(`${url}/slow`);
    await arrival;
    source.set({ ...source.sandbox('qa')!, services: { svc: { route: 'url', url: b.url } } });
    expect((await fetchText(`${url}/fast`)).body).toBe('from b');
    release();
    expect((await slow).body).toBe('from a');
  });

  it('send a request to the new target when the old one went away under it (a switch-over), never a 502', async () => {
    // The old container: it drops every connection before answering, and the route moves to the new one as it does.
    const routes: { source?: MemoryRoutes } = {};
    const b = await startUpstream(cleanup, 'b', (req, res) => res.end(`from b ${req.method} ${req.url}`));
    const a = await startUpstream(cleanup, 'a', (req) => {
      routes.source!.set({ ...routes.source!.sandbox('qa')!, services: { svc: { route: 'sandbox', hostPort: b.port, commit: COMMIT } } });
      req.socket.destroy();
    });
    const gateway = await gatewayFor({ routes: [{ prefix: '/', service: 'svc' }], services: { svc: { route: 'sandbox', hostPort: a.port, commit: COMMIT } } });
    const source = (routes.source = gateway.source);
    const answer = await fetchText(`${gateway.url}/page?x=1`);
    expect([answer.status, answer.body]).toEqual([200, 'from b GET /page?x=1']);
    // A route that still names the dead target is a 502 as before; so is a request with a body (it may have been consumed).
    const dead = await deadPort();
    source.set({ ...source.sandbox('qa')!, services: { svc: { route: 'sandbox', hostPort: dead, commit: COMMIT } } });
    expect((await fetchText(`${gateway.url}/page`)).status).toBe(502);
    source.set({ ...source.sandbox('qa')!, services: { svc: { route: 'sandbox', hostPort: a.port, commit: COMMIT } } });
    expect((await fetchText(`${gateway.url}/form`, { method: 'POST', body: 'data' })).status).toBe(502);
  });
});

describe('WebSocket upgrades', () => {
  async function echoServer() {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.url} via ${String(req.headers['x-forwarded-for'])}`);
      ws.on('message', (data, binary) => ws.send(data, { binary }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.add(
      () =>
        new Promise<void>((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close();
          server.close(() => r());
        }),
    );
    return (server.address() as AddressInfo).port;
  }

  function open(url: string): Promise<{ ws: WebSocket; route: string | undefined; first: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      cleanup.add(() => ws.terminate());
      let route: string | undefined;
      ws.once('upgrade', (res) => (route = res.headers['x-branchbox-route'] as string | undefined));
      ws.once('message', (data) => resolve({ ws, route, first: String(data) }));
      ws.once('error', reject);
    });
  }

  it('echoes text and binary frames through the gateway', async () => {
    const port = await echoServer();
    const { url } = await gatewayFor({
      routes: [{ prefix: '/ws', service: 'chat' }],
      services: { chat: { route: 'sandbox', hostPort: port, commit: COMMIT } },
    });
    const { ws, route, first } = await open(`${url.replace('http', 'ws')}/ws/room?id=1`);
    expect(route).toBe('chat -> sandbox (0123456)');
    expect(first).toBe('hello /ws/room?id=1 via 127.0.0.1');
    const replies: string[] = [];
    const done = new Promise<void>((r) =>
      ws.on('message', (data) => {
        replies.push(Buffer.isBuffer(data) ? data.toString('hex') : String(data));
        if (replies.length === 3) r();
      }),
    );
    ws.send('one');
    ws.send(Buffer.from([0, 1, 2, 255]));
    ws.send('x'.repeat(200_000));
    await done;
    expect(replies[0]).toBe('6f6e65');
    expect(replies[1]).toBe('000102ff');
    expect(replies[2]).toHaveLength(400_000);
  });

  it('answers an upgrade to a dead target with 502, and relays a refusal', async () => {
    const port = await deadPort();
    const refusing = await startUpstream(cleanup, 'plain', (_req, res) => res.writeHead(400, { 'x-why': 'no ws here' }).end('no'));
    const { url } = await gatewayFor({
      routes: [
        { prefix: '/dead', service: 'dead' },
        { prefix: '/plain', service: 'plain' },
      ],
      services: { dead: { route: 'sandbox', hostPort: port }, plain: { route: 'url', url: refusing.url } },
    });
    const status = (path: string) =>
      new Promise<{ status: number; route: unknown }>((resolve) => {
        const ws = new WebSocket(`${url.replace('http', 'ws')}${path}`);
        ws.on('error', () => undefined);
        ws.once('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode ?? 0, route: res.headers['x-branchbox-route'] });
          res.resume();
          ws.terminate();
        });
      });
    expect(await status('/dead')).toEqual({ status: 502, route: 'dead -> sandbox' });
    expect(await status('/plain')).toEqual({ status: 400, route: 'plain -> url' });
    expect(await status('/none')).toEqual({ status: 404, route: 'none' });
  });

  it('answers an upgrade to a target that does not accept the connection in time with 504', async () => {
    const port = await stalledListener(cleanup);
    const { url } = await gatewayFor(
      { routes: [{ prefix: '/', service: 'stalled' }], services: { stalled: { route: 'sandbox', hostPort: port } } },
      { connectTimeoutMs: 300 },
    );
    const answer = await new Promise<{ status: number; body: string }>((resolve) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/socket`);
      ws.on('error', () => undefined);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(answer.status).toBe(504);
    expect(answer.body).toContain('no connection within 300 ms');
  });
});
