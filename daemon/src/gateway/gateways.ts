/**
 * The gateways of the daemon: one HTTP listener per sandbox on its allocated 127.0.0.1 port,
 * routing by that sandbox's routes, and the shared listener (default port in config.ts) that picks
 * the sandbox from the `X-Branchbox-Sandbox` header or `baggage`, or goes to baseline.
 *
 * Each listener asks the {@link RouteSource} for a decision on every request, so route
 * changes apply to the next request without a restart; all listeners share one
 * {@link ReverseProxy} and so one pool of kept-alive upstream connections.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { nullLogger, type Logger } from '../runtime/log';
import { ReverseProxy, type ReverseProxyOptions } from './proxy';
import { decideForSandbox, decideShared, pathOf, type RouteDecision, type RouteSource } from './route-table';

export { DEFAULT_SHARED_GATEWAY_PORT } from '../flags';
import { DEFAULT_SHARED_GATEWAY_PORT } from '../flags';
export const GATEWAY_HOST = '127.0.0.1';
/** How long in-flight requests may finish when a gateway stops, before their connections are cut. */
const CLOSE_GRACE_MS = 2_000;

/** Where sandbox gateway ports come from (the PortAllocator, through a small adapter). */
export interface GatewayPorts {
  /** The sandbox's recorded gateway port, allocating and recording one when it has none. */
  portFor(sandbox: string): number;
  /** The recorded port turned out to be taken by another process: record and return another. */
  replace?(sandbox: string, taken: number): number;
}

export interface GatewaysOptions {
  readonly source: RouteSource;
  readonly log?: Logger;
  readonly proxy?: ReverseProxyOptions;
  /** Port gateways of sandboxes listen on, unless `open` is given one. */
  readonly ports?: GatewayPorts;
  /** The shared gateway's port: a number (0 = any free port), or null for none. Default: DEFAULT_SHARED_GATEWAY_PORT (config.ts). */
  readonly sharedPort?: number | null;
  /** When the shared port is taken, listen on a free one instead of failing (for the default port). */
  readonly sharedPortFallback?: boolean;
}

export interface GatewayAddress {
  readonly port: number;
  readonly url: string;
}

/** One listening gateway: an HTTP server on 127.0.0.1 that proxies by a decision per request. */
export class GatewayListener {
  private readonly server: http.Server;
  private readonly tunnels = new Set<Duplex>();
  private address: GatewayAddress | undefined;

  constructor(
    readonly label: string,
    decide: (req: http.IncomingMessage) => RouteDecision,
    proxy: ReverseProxy,
    log: Logger,
  ) {
    const safeDecide = (req: http.IncomingMessage): RouteDecision => {
      try {
        return decide(req);
      } catch (e) {
        log.warn('gateway could not read routes', { gateway: label, error: (e as Error).message });
        return { selectedBy: 'none', status: 503, reason: `the gateway could not read its routes: ${(e as Error).message}` };
      }
    };
    // No overall request deadline: uploads to a sandbox may legitimately take minutes.
    this.server = http.createServer({ requestTimeout: 0 });
    this.server.on('request', (req, res) => proxy.forward(req, res, safeDecide(req), () => safeDecide(req)));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.tunnels.add(socket);
      socket.once('close', () => this.tunnels.delete(socket));
      proxy.tunnel(req, socket, head, safeDecide(req));
    });
    this.server.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  get running(): GatewayAddress | undefined {
    return this.address;
  }

  /** Listens on 127.0.0.1:`port` (0: any free port). Rejects with the listen error (EADDRINUSE…). */
  listen(port: number): Promise<GatewayAddress> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, GATEWAY_HOST, () => {
        this.server.off('error', onError);
        const actual = (this.server.address() as AddressInfo).port;
        this.address = { port: actual, url: `http://${GATEWAY_HOST}:${actual}` };
        resolve(this.address);
      });
    });
  }

  /** Stops accepting; requests in flight get `graceMs` to finish, then every connection is cut. */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    if (!this.server.listening) return;
    this.address = undefined;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const socket of this.tunnels) socket.destroy();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    await closed;
  }
}

/** Every gateway of the daemon. */
export class Gateways {
  private readonly proxy: ReverseProxy;
  private readonly log: Logger;
  private readonly sandboxes = new Map<string, { readonly gateway: Promise<GatewayListener>; readonly state: { closed: boolean } }>();
  /** When a request was last routed with each sandbox's routes (ms since epoch). */
  private readonly activity = new Map<string, number>();
  /** Why the gateway of a sandbox could not start, until it starts. */
  private readonly failures = new Map<string, string>();
  /** Gateways being closed, until their port is free. */
  private readonly closing = new Map<string, Promise<void>>();
  private shared: GatewayListener | undefined;
  private stopped = false;

  constructor(private readonly opts: GatewaysOptions) {
    this.log = opts.log ?? nullLogger;
    this.proxy = new ReverseProxy({ log: this.log, ...opts.proxy });
  }

  /** Starts the shared gateway (unless disabled) and a gateway for each named sandbox. */
  async start(sandboxes: readonly string[] = []): Promise<void> {
    const sharedPort = this.opts.sharedPort === undefined ? DEFAULT_SHARED_GATEWAY_PORT : this.opts.sharedPort;
    if (sharedPort !== null) await this.startShared(sharedPort);
    const results = await Promise.allSettled(sandboxes.map((name) => this.open(name)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log.error('Cannot start sandbox gateway', { sandbox: sandboxes[i], error: String(r.reason) });
    });
  }

  /**
   * Starts the gateway of a sandbox (idempotent) on `port`, or on the port {@link GatewayPorts}
   * gives. Call it when a sandbox is created.
   */
  open(sandbox: string, port?: number): Promise<GatewayAddress> {
    if (this.stopped) return Promise.reject(new Error('The gateways are stopped'));
    let entry = this.sandboxes.get(sandbox);
    if (!entry) {
      const state = { closed: false };
      const created = { gateway: this.listenForSandbox(sandbox, state, port), state };
      entry = created;
      this.sandboxes.set(sandbox, created);
      created.gateway.then(
        () => this.failures.delete(sandbox),
        (e: unknown) => {
          if (this.sandboxes.get(sandbox) !== created) return;
          this.sandboxes.delete(sandbox);
          if (!state.closed) this.failures.set(sandbox, (e as Error).message);
        },
      );
    }
    return entry.gateway.then((g) => g.running ?? Promise.reject(new Error(`The gateway of sandbox ${sandbox} was closed`)));
  }

  /**
   * Stops the gateway of a sandbox; resolves once its port is free (also when called again while
   * it is closing). Call it when the sandbox is deleted, before its ports are released.
   */
  close(sandbox: string): Promise<void> {
    this.activity.delete(sandbox);
    this.failures.delete(sandbox);
    const entry = this.sandboxes.get(sandbox);
    if (!entry) return this.closing.get(sandbox) ?? Promise.resolve();
    this.sandboxes.delete(sandbox);
    entry.state.closed = true;
    const closing = (async () => {
      const gateway = await entry.gateway.catch(() => undefined);
      await gateway?.close();
      if (gateway) this.log.info('Stopped sandbox gateway', { sandbox });
    })().finally(() => {
      if (this.closing.get(sandbox) === closing) this.closing.delete(sandbox);
    });
    this.closing.set(sandbox, closing);
    return closing;
  }

  /** The address of a sandbox's gateway, when it runs. */
  async addressOf(sandbox: string): Promise<GatewayAddress | undefined> {
    const gateway = await this.sandboxes.get(sandbox)?.gateway.catch(() => undefined);
    return gateway?.running;
  }

  /** Why the gateway of a sandbox is not running, when it failed to start. */
  failureOf(sandbox: string): string | undefined {
    return this.failures.get(sandbox);
  }

  get sharedAddress(): GatewayAddress | undefined {
    return this.shared?.running;
  }

  /**
   * When a request was last routed with the sandbox's routes, through its own gateway or the
   * shared one (ms since epoch); for inactivity policies.
   */
  lastRequestAt(sandbox: string): number | undefined {
    return this.activity.get(sandbox);
  }

  /** Stops every gateway and closes upstream connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    const names = [...this.sandboxes.keys()];
    await Promise.all([...names.map((n) => this.close(n)), this.shared?.close()]);
    this.shared = undefined;
    this.proxy.close();
  }

  private async startShared(port: number): Promise<void> {
    const shared = new GatewayListener(
      'shared',
      (req) => this.noted(decideShared(this.opts.source, pathOf(req.url ?? '/'), req.headers)),
      this.proxy,
      this.log,
    );
    let address: GatewayAddress;
    try {
      address = await shared.listen(port);
    } catch (e) {
      if (!this.opts.sharedPortFallback || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new Error(`Cannot listen on ${GATEWAY_HOST}:${port} for the shared gateway: ${(e as Error).message}`);
      }
      address = await shared.listen(0);
      this.log.warn('Shared gateway port taken; listening on a free port instead', { wanted: port, port: address.port });
    }
    this.shared = shared;
    this.log.info('Shared gateway listening', { url: address.url });
  }

  private noted(decision: RouteDecision): RouteDecision {
    if (decision.sandbox !== undefined && decision.status === undefined) this.activity.set(decision.sandbox, Date.now());
    return decision;
  }

  private async listenForSandbox(sandbox: string, state: { readonly closed: boolean }, given?: number): Promise<GatewayListener> {
    const gateway = new GatewayListener(
      sandbox,
      (req) => this.noted(decideForSandbox(this.opts.source, sandbox, pathOf(req.url ?? '/'))),
      this.proxy,
      this.log.child({ sandbox }),
    );
    const ports = this.opts.ports;
    let port = given ?? ports?.portFor(sandbox);
    if (port === undefined) throw new Error(`No port for the gateway of sandbox ${sandbox}: no port allocator is configured`);
    let address: GatewayAddress;
    try {
      address = await gateway.listen(port);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || given !== undefined || !ports?.replace) {
        throw new Error(`Cannot listen on ${GATEWAY_HOST}:${port} for the gateway of sandbox ${sandbox}: ${(e as Error).message}`);
      }
      const taken = port;
      port = ports.replace(sandbox, taken);
      this.log.warn('Sandbox gateway port taken; moved to another', { sandbox, taken, port });
      address = await gateway.listen(port);
    }
    if (this.stopped || state.closed) {
      // Closed (or the daemon stopped) while we were starting.
      await gateway.close(0);
      throw new Error(`The gateway of sandbox ${sandbox} was closed while starting`);
    }
    this.log.info('Sandbox gateway listening', { sandbox, url: address.url });
    return gateway;
  }
}
