/**
 * The WebSocket transport: an HTTP server on 127.0.0.1 that upgrades only requests that
 * pass every check, in this order:
 *   Host is 127.0.0.1, localhost or [::1] with our port     else 403 (DNS rebinding)
 *   Origin, when present, is in the allow-list              else 403 (cross-site pages)
 *   the token matches (constant-time)                      else 401
 * The token comes as `Authorization: Bearer <token>` (Node clients) or, for browser-like
 * clients that cannot set headers, as the subprotocol `branchbox.token.<token>` offered
 * beside `branchbox.v1` (the server then selects `branchbox.v1`). Messages are capped at
 * `maxPayload` bytes (larger frames close the connection with 1009) and peers that miss a
 * heartbeat are dropped.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../runtime/log';
import type { Connection } from './transport';

export const SUBPROTOCOL = 'branchbox.v1';
export const TOKEN_SUBPROTOCOL_PREFIX = 'branchbox.token.';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface WsServerOptions {
  readonly port: number;
  /** Listen on a free port when `port` is taken (used for the default port only). */
  readonly fallbackToFreePort: boolean;
  readonly token: string;
  /** Origins allowed besides none at all (Node clients send none). */
  readonly allowedOrigins: readonly string[];
  readonly maxPayload: number;
  readonly heartbeatMs: number;
  readonly log: Logger;
  /** Called for each accepted connection; returns what to do with its messages and its end. */
  readonly accept: (connection: Connection) => { message(text: string): void; closed(): void };
}

export interface WsServer {
  readonly port: number;
  readonly connectionCount: () => number;
  /** Stops accepting; with `terminate`, also drops open connections. */
  close(opts?: { terminate?: boolean }): Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export function tokenMatches(expected: string, given: string | undefined): boolean {
  return given !== undefined && timingSafeEqual(sha256(expected), sha256(given));
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const carried = protocols.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
  return carried?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
}

function hostAllowed(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.toLowerCase());
  return !!match && LOOPBACK_HOSTS.has(match[1]!) && Number(match[2] ?? 80) === port;
}

function refuse(socket: Socket, status: 401 | 403 | 426, reason: string): void {
  const text = { 401: 'Unauthorized', 403: 'Forbidden', 426: 'Upgrade Required' }[status];
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export async function startWsServer(opts: WsServerOptions): Promise<WsServer> {
  const http = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
    res.end('branchboxd speaks JSON-RPC over WebSocket only\n');
  });
  const port = await listen(http, opts.port, opts.fallbackToFreePort);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayload,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  let nextId = 1;
  const alive = new WeakMap<WebSocket, boolean>();

  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!hostAllowed(req.headers.host, port)) {
      opts.log.warn('refused connection: Host is not loopback', { peer, host: req.headers.host });
      return refuse(socket, 403, 'Host header must be 127.0.0.1, localhost or [::1] with the daemon port');
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !opts.allowedOrigins.includes(origin)) {
      opts.log.warn('refused connection: Origin not allowed', { peer, origin });
      return refuse(socket, 403, `Origin ${origin} is not allowed`);
    }
    if (!tokenMatches(opts.token, tokenOf(req))) {
      opts.log.warn('refused connection: missing or wrong token', { peer });
      return refuse(socket, 401, 'A valid token is required (see the runtime file)');
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, peer));
  });

  function onConnection(ws: WebSocket, peer: string): void {
    let pendingSends = 0;
    let drainWaiters: (() => void)[] = [];
    const releaseDrain = () => {
      const waiters = drainWaiters;
      drainWaiters = [];
      waiters.forEach((w) => w());
    };
    const connection: Connection = {
      label: `ws#${nextId++} ${peer}`,
      send: (message) => {
        if (ws.readyState !== ws.OPEN) return;
        pendingSends++;
        ws.send(message, () => {
          if (--pendingSends === 0) releaseDrain();
        });
      },
      bufferedAmount: () => ws.bufferedAmount,
      whenDrained: () =>
        pendingSends === 0 || ws.readyState !== ws.OPEN ? Promise.resolve() : new Promise((r) => drainWaiters.push(r)),
      close: (code, reason) => ws.close(code, reason),
    };
    const handlers = opts.accept(connection);
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('message', (data, isBinary) => {
      handlers.message(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
    });
    ws.on('error', (e) => opts.log.debug('connection error', { conn: connection.label, error: e.message }));
    ws.on('close', (code) => {
      opts.log.debug('connection closed', { conn: connection.label, code });
      releaseDrain();
      handlers.closed();
    });
  }

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        opts.log.info('dropping a peer that missed its heartbeat');
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.heartbeatMs);
  heartbeat.unref();

  return {
    port,
    connectionCount: () => wss.clients.size,
    close: async ({ terminate = false } = {}) => {
      clearInterval(heartbeat);
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        if (terminate) for (const ws of wss.clients) ws.terminate();
        else for (const ws of wss.clients) ws.close(1001, 'daemon shutting down');
        http.closeAllConnections();
      });
      wss.close();
    },
  };
}

function listen(server: Server, port: number, fallback: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' && fallback && port !== 0) {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      } else {
        reject(e.code === 'EADDRINUSE' ? new Error(`Port ${port} on 127.0.0.1 is already in use`) : e);
      }
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
