/**
 * The streaming reverse proxy behind every gateway: forwards one request (or one WebSocket
 * upgrade) to the target a {@link RouteDecision} names, and answers for the target when it
 * cannot: 502 when it cannot be reached, 504 when it does not answer in time, and the
 * decision's own 404/503 when there is no target. Every answer carries `X-Branchbox-Route`.
 *
 * Bodies are never buffered: both directions are piped, so a slow reader slows the writer
 * (backpressure) and memory stays flat whatever the size. Connections to upstreams are kept
 * alive and reused, one agent per upstream origin. The decision is taken by the caller for
 * each request, so a route change applies to the next request while requests in flight keep
 * the upstream they started with.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { nullLogger, type Logger } from '../runtime/log';
import { endToEnd, rawResponseHead, upstreamRequestHeaders } from './headers';
import { ROUTE_HEADER, routeHeaderValue, type RouteDecision } from './route-table';

export interface ReverseProxyOptions {
  readonly log?: Logger;
  /** Time allowed to open a connection to an upstream before answering 504. */
  readonly connectTimeoutMs?: number;
  /** Time allowed, once the whole request is sent, for the response head before answering 504. */
  readonly responseTimeoutMs?: number;
  /** Idle connections kept open per upstream. */
  readonly maxIdlePerUpstream?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 60_000;
/** How often agents of upstreams that have no connection left are dropped. */
const AGENT_SWEEP_MS = 60_000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The upstream did not connect or answer in time. */
class UpstreamTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly phase: 'connect' | 'response', readonly ms: number) {
    super(phase === 'connect' ? `no connection within ${ms} ms` : `no response within ${ms} ms`);
  }
}

type Upstream = { readonly url: URL; readonly secure: boolean; readonly label: string };

export class ReverseProxy {
  private readonly agents = new Map<string, http.Agent>();
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly opts: ReverseProxyOptions = {}) {
    this.log = opts.log ?? nullLogger;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.sweep = setInterval(() => this.dropUnusedAgents(), AGENT_SWEEP_MS).unref();
  }

  /** Forwards `req` as `decision` says and streams the answer into `res`. */
  forward(req: http.IncomingMessage, res: http.ServerResponse, decision: RouteDecision): void {
    const routeHeader = routeHeaderValue(decision);
    if (!decision.target) return answer(res, decision.status ?? 404, decision.reason, routeHeader);
    const upstream = parseUpstream(decision, routeHeader);
    if (typeof upstream === 'string') return answer(res, 502, upstream, routeHeader);

    const headers = upstreamRequestHeaders(req.headers, upstream.url.host, {
      remoteAddress: req.socket.remoteAddress,
      host: req.headers.host,
      proto: 'http',
    });
    const path = joinPath(upstream.url.pathname, req.url ?? '/');
    const length = req.headers['content-length'];
    const hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    let current: http.ClientRequest | undefined;

    res.on('close', () => {
      if (!res.writableFinished) current?.destroy();
    });
    res.on('error', () => current?.destroy());
    req.on('error', () => current?.destroy());

    const attempt = (mayRetry: boolean) => {
      const upReq = (upstream.secure ? https : http).request({
        protocol: upstream.url.protocol,
        hostname: upstream.url.hostname,
        port: upstream.url.port || (upstream.secure ? 443 : 80),
        method: req.method,
        path,
        headers,
        agent: this.agentFor(upstream),
      });
      current = upReq;
      const timers = this.watch(upReq);
      upReq.on('response', (upRes) => {
        timers.clear();
        const out = endToEnd(upRes.headers);
        out[ROUTE_HEADER] = routeHeader;
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
        // An upstream that dies mid-body must not look like a complete answer: cut the client too.
        upRes.on('close', () => {
          if (!upRes.complete) res.destroy();
        });
        upRes.on('error', () => res.destroy());
        upRes.pipe(res);
      });
      upReq.on('error', (err: NodeJS.ErrnoException) => {
        timers.clear();
        if (res.headersSent || res.destroyed) return void res.destroy();
        // A kept-alive connection the upstream closed just as we reused it: safe to try once more
        // when nothing of the request has been consumed.
        if (mayRetry && upReq.reusedSocket && err.code === 'ECONNRESET') return attempt(false);
        const timeout = err instanceof UpstreamTimeout;
        const message = `Branchbox gateway: ${timeout ? 'no answer from' : 'cannot reach'} ${upstream.label}: ${describe(err)}`;
        this.log.debug('gateway upstream failed', { route: routeHeader, target: upstream.url.href, error: describe(err) });
        answer(res, timeout ? 504 : 502, message, routeHeader);
      });
      if (hasBody) req.pipe(upReq);
      else upReq.end();
    };
    attempt(!hasBody && IDEMPOTENT.has(req.method ?? ''));
  }

  /**
   * Forwards an HTTP upgrade (WebSocket): sends the upgrade request upstream and, once the
   * upstream switches protocols, relays its answer and pipes the two sockets into each other.
   * An upstream that declines gets its answer relayed as is.
   */
  tunnel(req: http.IncomingMessage, socket: Duplex, head: Buffer, decision: RouteDecision): void {
    socket.on('error', () => socket.destroy());
    const routeHeader = routeHeaderValue(decision);
    if (!decision.target) return answerRaw(socket, decision.status ?? 404, decision.reason, routeHeader);
    const upstream = parseUpstream(decision, routeHeader);
    if (typeof upstream === 'string') return answerRaw(socket, 502, upstream, routeHeader);

    const headers = upstreamRequestHeaders(
      req.headers,
      upstream.url.host,
      { remoteAddress: (socket as Socket).remoteAddress, host: req.headers.host, proto: 'http' },
      ['upgrade'],
    );
    headers.connection = 'Upgrade';
    const upReq = (upstream.secure ? https : http).request({
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port || (upstream.secure ? 443 : 80),
      method: req.method,
      path: joinPath(upstream.url.pathname, req.url ?? '/'),
      headers,
      agent: false,
    });
    const timers = this.watch(upReq);
    let upgraded = false;
    socket.on('close', () => {
      if (!upgraded) upReq.destroy();
    });

    upReq.on('upgrade', (upRes, upSocket, upHead) => {
      timers.clear();
      upgraded = true;
      upSocket.on('error', () => upSocket.destroy());
      if (socket.destroyed) return void upSocket.destroy();
      socket.write(
        rawResponseHead(upRes.statusCode ?? 101, upRes.statusMessage || 'Switching Protocols', {
          ...upRes.headers,
          [ROUTE_HEADER]: routeHeader,
        }),
      );
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      const closeBoth = () => {
        socket.destroy();
        upSocket.destroy();
      };
      socket.on('close', closeBoth);
      upSocket.on('close', closeBoth);
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    upReq.on('response', (upRes) => {
      timers.clear();
      const out = endToEnd(upRes.headers);
      out[ROUTE_HEADER] = routeHeader;
      out.connection = 'close';
      socket.write(rawResponseHead(upRes.statusCode ?? 502, upRes.statusMessage ?? '', out));
      upRes.on('error', () => socket.destroy());
      upRes.pipe(socket);
    });
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      timers.clear();
      if (upgraded) return;
      const timeout = err instanceof UpstreamTimeout;
      answerRaw(socket, timeout ? 504 : 502, `Branchbox gateway: ${timeout ? 'no answer from' : 'cannot reach'} ${upstream.label}: ${describe(err)}`, routeHeader);
    });
    upReq.end();
  }

  /** Closes every kept-alive upstream connection. Requests still in flight are cut. */
  close(): void {
    clearInterval(this.sweep);
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** Connect and response timeouts of one upstream request; they destroy it with an UpstreamTimeout. */
  private watch(upReq: http.ClientRequest): { clear(): void } {
    let connect: NodeJS.Timeout | undefined;
    let response: NodeJS.Timeout | undefined;
    const fail = (phase: 'connect' | 'response', ms: number) => () => upReq.destroy(new UpstreamTimeout(phase, ms));
    upReq.on('socket', (socket) => {
      if (!socket.connecting) return;
      connect = setTimeout(fail('connect', this.connectTimeoutMs), this.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connect));
    });
    upReq.on('finish', () => {
      response = setTimeout(fail('response', this.responseTimeoutMs), this.responseTimeoutMs);
    });
    const clear = () => {
      clearTimeout(connect);
      clearTimeout(response);
    };
    upReq.on('close', clear);
    return { clear };
  }

  private agentFor(upstream: Upstream): http.Agent {
    const key = upstream.url.origin;
    let agent = this.agents.get(key);
    if (!agent) {
      const options: http.AgentOptions = {
        keepAlive: true,
        maxFreeSockets: this.opts.maxIdlePerUpstream ?? 64,
        scheduling: 'lifo',
      };
      agent = upstream.secure ? new https.Agent(options) : new http.Agent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }

  private dropUnusedAgents(): void {
    for (const [key, agent] of this.agents) {
      const busy = Object.keys(agent.sockets).length + Object.keys(agent.freeSockets).length + Object.keys(agent.requests).length;
      if (busy === 0) {
        agent.destroy();
        this.agents.delete(key);
      }
    }
  }
}

function parseUpstream(decision: RouteDecision, routeHeader: string): Upstream | string {
  const raw = decision.target?.url ?? '';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `Branchbox gateway: ${routeHeader} has an invalid target URL "${raw}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `Branchbox gateway: ${routeHeader} has a target that is not http(s): ${raw}`;
  }
  return { url, secure: url.protocol === 'https:', label: `${routeHeader} at ${url.origin}${url.pathname === '/' ? '' : url.pathname}` };
}

/** The upstream path: the target URL's path followed by the request's path and query. */
export function joinPath(basePath: string, requestTarget: string): string {
  let rest = requestTarget;
  if (!rest.startsWith('/')) {
    try {
      const u = new URL(rest);
      rest = u.pathname + u.search;
    } catch {
      rest = '/';
    }
  }
  if (basePath === '/' || basePath === '') return rest;
  return basePath.replace(/\/+$/, '') + rest;
}

function describe(err: NodeJS.ErrnoException): string {
  if (err instanceof UpstreamTimeout) return err.message;
  return err.code && !err.message.startsWith(err.code) ? `${err.code} (${err.message})` : err.message;
}

/** The gateway's own short text answer. */
function answer(res: http.ServerResponse, status: number, text: string, routeHeader: string): void {
  if (res.headersSent) return void res.destroy();
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [ROUTE_HEADER]: routeHeader,
  });
  res.end(body);
}

/** The same answer written onto a raw socket (an upgrade request), then closed. */
function answerRaw(socket: Duplex, status: number, text: string, routeHeader: string): void {
  if (socket.destroyed || !socket.writable) return;
  const body = `${text}\n`;
  socket.end(
    rawResponseHead(status, http.STATUS_CODES[status] ?? '', {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
      [ROUTE_HEADER]: routeHeader,
    }) + body,
  );
}
