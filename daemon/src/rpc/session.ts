/**
 * One client connection, over any transport: its session state (initialized or not), its
 * requests in flight (so `$/cancelRequest` can reach them) and its subscriptions (all ended
 * when the connection closes).
 */
import { userInfo } from 'node:os';
import type { NotificationName } from '../../../schemas/src/index';
import type { Logger } from '../runtime/log';
import { RpcError } from './errors';
import { InFlight } from './in-flight';
import { Subscription, type SubscriptionOptions, type StreamItemOf } from './subscriptions';
import type { Connection } from './transport';

export interface ClientInfo {
  readonly name: string;
  readonly version?: string;
}

let nextSessionId = 1;

export class Session {
  readonly id = nextSessionId++;
  readonly osUser: string = safeUserName();
  private client: ClientInfo | undefined;
  private readonly inflight = new Map<string | number, InFlight>();
  private readonly subscriptions = new Map<string, Subscription<unknown>>();
  private readonly closeHandlers: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly connection: Connection,
    readonly log: Logger,
  ) {}

  get initialized(): boolean {
    return this.client !== undefined;
  }

  get clientInfo(): ClientInfo | undefined {
    return this.client;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  markInitialized(client: ClientInfo): void {
    if (this.client) throw new RpcError('AlreadyInitialized', 'initialize was already called on this connection');
    this.client = client;
  }

  /** Sends a notification to this client; dropped silently once the connection is closed. */
  notify(method: string, params: unknown): void {
    if (this.closed) return;
    this.connection.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
  }

  /** Opens a subscription delivering `notification` batches to this client. */
  subscribe<N extends NotificationName>(notification: N, opts?: SubscriptionOptions): Subscription<StreamItemOf<N>> {
    if (this.closed) throw new RpcError('Conflict', 'the connection is closed');
    const sub = new Subscription<StreamItemOf<N>>(
      notification,
      {
        connection: this.connection,
        notify: (method, params) => this.notify(method, params),
        forget: (id) => this.subscriptions.delete(id),
      },
      opts,
    );
    this.subscriptions.set(sub.id, sub as Subscription<unknown>);
    return sub;
  }

  cancelSubscription(id: string): void {
    const sub = this.subscriptions.get(id);
    if (!sub) throw new RpcError('SubscriptionNotFound', `No subscription "${id}" on this connection`);
    sub.end('cancelled');
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Registers a request in flight, cancelled on `$/cancelRequest` or close; `done` forgets it. */
  track(id: string | number): { request: InFlight; done: () => void } {
    const request = new InFlight();
    if (this.closed) request.cancel();
    this.inflight.set(id, request);
    return {
      request,
      done: () => {
        if (this.inflight.get(id) === request) this.inflight.delete(id);
      },
    };
  }

  cancelRequest(id: string | number): boolean {
    const request = this.inflight.get(id);
    request?.cancel();
    return request !== undefined;
  }

  /**
   * Ends every subscription with `shutdown` — the daemon is stopping — and resolves once
   * what was queued and the ends have been written out.
   */
  async endSubscriptions(): Promise<void> {
    const subs = [...this.subscriptions.values()];
    for (const sub of subs) sub.end('shutdown');
    await Promise.all(subs.map((sub) => sub.finished));
    await this.connection.whenDrained();
  }

  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  /** The connection is gone: abort its requests, drop its subscriptions, run close handlers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const request of this.inflight.values()) request.cancel();
    this.inflight.clear();
    for (const sub of [...this.subscriptions.values()]) sub.dispose();
    this.subscriptions.clear();
    for (const handler of this.closeHandlers.splice(0)) {
      try {
        handler();
      } catch (e) {
        this.log.warn('close handler failed', { error: String(e) });
      }
    }
  }
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
