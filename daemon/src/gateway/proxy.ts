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
 *
 * Every request pays for what it does and no more (bench/gateway.bench.ts measures it against a
 * node:http proxy with no logic): headers pass as raw lists in one pass, a target URL is parsed
 * once, the connect timeout is armed per connection rather than per request.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { nullLogger, type Logger } from '../runtime/log';
import { endToEnd, rawResponseHead, upstreamRequestHead } from './headers';
import { routeHeaderValue, type RouteDecision } from './route-table';

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

/** A target URL as the proxy uses it, parsed once: where to connect, and the pool of connections to it. */
interface Upstream {
  readonly href: string;
  /** `http://127.0.0.1:41234`, and the target's path unless it is `/`: how errors name it. */
  readonly where: string;
  readonly client: typeof http | typeof https;
  readonly agent: http.Agent;
  readonly hostname: string;
  readonly port: number;
  /** The Host header the upstream sees. */
  readonly host: string;
  readonly basePath: string;
}

/** Target URLs kept parsed; past this many (targets are a few per sandbox) the cache starts again. */
const UPSTREAMS_KEPT = 1024;
/** The route header as written on answers. */
const ROUTE_HEADER_NAME = 'X-Branchbox-Route';

export class ReverseProxy {
  private readonly agents = new Map<string, http.Agent>();
  private readonly upstreams = new Map<string, Upstream>();
  /** Agents of upgrade requests: a connection each, never kept (it becomes the tunnel). */
  private readonly tunnelAgents: { readonly http: http.Agent; readonly https: https.Agent };
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly opts: ReverseProxyOptions = {}) {
    this.log = opts.log ?? nullLogger;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.tunnelAgents = { http: this.timed(new http.Agent()), https: this.timed(new https.Agent()) };
    this.sweep = setInterval(() => this.dropUnusedAgents(), AGENT_SWEEP_MS).unref();
  }

  /**
   * Forwards `req` as `decision` says and streams the answer into `res`. When the target cannot
   * be reached or drops the connection before answering, and the request has no body and is
   * idempotent, `redecide` is asked once: a target that changed meanwhile (a deployment switched
   * over and removed the container this request was sent to) gets the request instead of a 502.
   */
  forward(req: http.IncomingMessage, res: http.ServerResponse, decision: RouteDecision, redecide?: () => RouteDecision): void {
    const routeHeader = routeHeaderValue(decision);
    if (!decision.target) return answer(res, decision.status ?? 404, decision.reason, routeHeader);
    const upstream = this.upstreamOf(decision.target.url);
    if (typeof upstream === 'string') return answer(res, 502, `Branchbox gateway: ${routeHeader} ${upstream}`, routeHeader);

    const head = upstreamRequestHead(req.rawHeaders, upstream.host, { remoteAddress: req.socket.remoteAddress, proto: 'http' });
    const replayable = !head.hasBody && IDEMPOTENT.has(req.method ?? '');
    const path = joinPath(upstream.basePath, req.url ?? '/');
    let current: http.ClientRequest | undefined;
    let disarm = (): void => undefined;
    const cut = () => {
      disarm();
      current?.destroy();
    };
    res.on('close', () => {
      if (!res.writableFinished) cut();
    });
    res.on('error', cut);
    if (head.hasBody) req.on('error', cut);

    const attempt = (mayRetry: boolean) => {
      const upReq = upstream.client.request({
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path,
        headers: head.headers,
        agent: upstream.agent,
      });
      current = upReq;
      disarm = this.responseDeadline(upReq);
      upReq.on('response', (upRes) => {
        disarm();
        const out = endToEnd(upRes.rawHeaders);
        out.push(ROUTE_HEADER_NAME, routeHeader);
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
        // An upstream that dies mid-body must not look like a complete answer: cut the client too.
        upRes.on('close', () => {
          if (!upRes.complete) res.destroy();
        });
        upRes.on('error', () => res.destroy());
        upRes.pipe(res);
      });
      upReq.on('error', (err: NodeJS.ErrnoException) => {
        disarm();
        if (res.headersSent || res.destroyed) return void res.destroy();
        // A kept-alive connection the upstream closed just as we reused it: safe to try once more
        // when nothing of the request has been consumed.
        if (mayRetry && upReq.reusedSocket && err.code === 'ECONNRESET') return attempt(false);
        // The target went away (refused, or reset before answering): if the route moved meanwhile, the new target gets it.
        if (replayable && redecide && (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET')) {
          const next = redecide();
          if (next.target && next.target.url !== decision.target!.url) return this.forward(req, res, next);
        }
        const timeout = err instanceof UpstreamTimeout;
        const label = upstreamLabel(upstream, routeHeader);
        const message = `Branchbox gateway: ${timeout ? 'no answer from' : 'cannot reach'} ${label}: ${describe(err)}`;
        this.log.debug('gateway upstream failed', { route: routeHeader, target: upstream.href, error: describe(err) });
        answer(res, timeout ? 504 : 502, message, routeHeader);
      });
      if (head.hasBody) req.pipe(upReq);
      else upReq.end();
    };
    attempt(replayable);
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
    const upstream = this.upstreamOf(decision.target.url);
    if (typeof upstream === 'string') return answerRaw(socket, 502, `Branchbox gateway: ${routeHeader} ${upstream}`, routeHeader);

    const { headers } = upstreamRequestHead(
      req.rawHeaders,
      upstream.host,
      { remoteAddress: (socket as Socket).remoteAddress, proto: 'http' },
      ['upgrade'],
    );
    headers.push('Connection', 'Upgrade');
    const upReq = upstream.client.request({
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: joinPath(upstream.basePath, req.url ?? '/'),
      headers,
      agent: upstream.client === https ? this.tunnelAgents.https : this.tunnelAgents.http,
    });
    const disarm = this.responseDeadline(upReq);
    let upgraded = false;
    socket.on('close', () => {
      if (!upgraded) upReq.destroy();
    });

    upReq.on('upgrade', (upRes, upSocket, upHead) => {
      disarm();
      upgraded = true;
      upSocket.on('error', () => upSocket.destroy());
      if (socket.destroyed) return void upSocket.destroy();
      socket.write(
        rawResponseHead(upRes.statusCode ?? 101, upRes.statusMessage || 'Switching Protocols', [
          ...upRes.rawHeaders,
          ROUTE_HEADER_NAME,
          routeHeader,
        ]),
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
      disarm();
      const out = endToEnd(upRes.rawHeaders);
      out.push(ROUTE_HEADER_NAME, routeHeader, 'Connection', 'close');
      socket.write(rawResponseHead(upRes.statusCode ?? 502, upRes.statusMessage ?? '', out));
      upRes.on('error', () => socket.destroy());
      upRes.pipe(socket);
    });
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      disarm();
      if (upgraded) return;
      const timeout = err instanceof UpstreamTimeout;
      const label = upstreamLabel(upstream, routeHeader);
      answerRaw(socket, timeout ? 504 : 502, `Branchbox gateway: ${timeout ? 'no answer from' : 'cannot reach'} ${label}: ${describe(err)}`, routeHeader);
    });
    upReq.end();
  }

  /** Closes every kept-alive upstream connection. Requests still in flight are cut. */
  close(): void {
    clearInterval(this.sweep);
    for (const agent of [...this.agents.values(), this.tunnelAgents.http, this.tunnelAgents.https]) agent.destroy();
    this.agents.clear();
    this.upstreams.clear();
  }

  /**
   * The response timeout of one upstream request, armed once the whole request is sent; it
   * destroys the request with an UpstreamTimeout. Answers the function that disarms it (call it
   * on the response, on an error, when the client goes away).
   */
  private responseDeadline(upReq: http.ClientRequest): () => void {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    upReq.once('finish', () => {
      if (done) return;
      timer = setTimeout(() => upReq.destroy(new UpstreamTimeout('response', this.responseTimeoutMs)), this.responseTimeoutMs);
    });
    return () => {
      done = true;
      clearTimeout(timer);
    };
  }

  /** The parsed target of a URL (cached), or why it cannot be one. */
  private upstreamOf(href: string): Upstream | string {
    const known = this.upstreams.get(href);
    if (known) return known;
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      return `has an invalid target URL "${href}"`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `has a target that is not http(s): ${href}`;
    const secure = url.protocol === 'https:';
    const upstream: Upstream = {
      href,
      where: `${url.origin}${url.pathname === '/' ? '' : url.pathname}`,
      client: secure ? https : http,
      agent: this.agentFor(url.origin, secure),
      hostname: url.hostname,
      port: Number(url.port) || (secure ? 443 : 80),
      host: url.host,
      basePath: url.pathname,
    };
    if (this.upstreams.size >= UPSTREAMS_KEPT) this.upstreams.clear();
    this.upstreams.set(href, upstream);
    return upstream;
  }

  private agentFor(origin: string, secure: boolean): http.Agent {
    let agent = this.agents.get(origin);
    if (!agent) {
      const options: http.AgentOptions = {
        keepAlive: true,
        maxFreeSockets: this.opts.maxIdlePerUpstream ?? 64,
        scheduling: 'lifo',
      };
      agent = this.timed(secure ? new https.Agent(options) : new http.Agent(options));
      this.agents.set(origin, agent);
    }
    return agent;
  }

  /**
   * `agent` with a connect timeout: a socket still connecting after it is destroyed with an
   * UpstreamTimeout, which its request receives as its error. Armed per connection, so a
   * request on a kept-alive connection costs nothing.
   */
  private timed<A extends http.Agent>(agent: A): A {
    const ms = this.connectTimeoutMs;
    const create = agent.createConnection.bind(agent);
    agent.createConnection = (options, onCreate) => {
      const socket = create(options, onCreate);
      if (socket instanceof Socket && socket.connecting) {
        const timer = setTimeout(() => socket.destroy(new UpstreamTimeout('connect', ms)), ms);
        const clear = () => clearTimeout(timer);
        socket.once('connect', clear).once('close', clear);
      }
      return socket;
    };
    return agent;
  }

  private dropUnusedAgents(): void {
    for (const [key, agent] of this.agents) {
      const busy = Object.keys(agent.sockets).length + Object.keys(agent.freeSockets).length + Object.keys(agent.requests).length;
      if (busy === 0) {
        agent.destroy();
        this.agents.delete(key);
        for (const [href, upstream] of this.upstreams) if (upstream.agent === agent) this.upstreams.delete(href);
      }
    }
  }
}

/** How an answer names the upstream: `account -> sandbox (a1b2c3d) at http://127.0.0.1:41234`. */
function upstreamLabel(upstream: Upstream, routeHeader: string): string {
  return `${routeHeader} at ${upstream.where}`;
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
  res.writeHead(status, [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(body)),
    ROUTE_HEADER_NAME,
    routeHeader,
  ]);
  res.end(body);
}

/** The same answer written onto a raw socket (an upgrade request), then closed. */
function answerRaw(socket: Duplex, status: number, text: string, routeHeader: string): void {
  if (socket.destroyed || !socket.writable) return;
  const body = `${text}\n`;
  socket.end(
    rawResponseHead(status, http.STATUS_CODES[status] ?? '', [
      'Content-Type',
      'text/plain; charset=utf-8',
      'Content-Length',
      String(Buffer.byteLength(body)),
      'Connection',
      'close',
      ROUTE_HEADER_NAME,
      routeHeader,
    ]) + body,
  );
}
