/**
 * A typed client of the Branchbox protocol, independent of the transport: give it a
 * function that sends text and feed it every message received. Used by the extension, the
 * CLI and the tests; the only place where method names meet their param and result types on
 * the client side.
 */
import { JSONRPCClient, JSONRPCErrorException, type JSONRPCResponse } from 'json-rpc-2.0';
import { errorNameOf, type ErrorName } from './errors';
import type { MethodName, NotificationName, NotificationParams, Params, Result, StreamItem } from './index';

/** An error answer of the daemon, with its stable name. */
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message);
    this.name = errorNameOf(code) ?? `Error${code}`;
  }

  /** The stable name of the error (`SandboxNotFound`…), or undefined for an unknown code. */
  get errorName(): ErrorName | undefined {
    return errorNameOf(this.code);
  }
}

/** The part of AbortSignal the client uses (this module runs in Node and browsers alike). */
interface CancelSignal {
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

type NotificationHandler = (method: string, params: unknown) => void;

/** Methods whose params are all optional may be called without params. */
type ParamsArg<M extends MethodName> = {} extends Params<M> ? [params?: Params<M>] : [params: Params<M>];

export interface StreamHandlers<N extends NotificationName> {
  onItems(items: StreamItem<N>[], dropped?: number): void;
  onEnd?(params: NotificationParams<'subscription/end'>): void;
}

export class BranchboxClient {
  private readonly rpc: JSONRPCClient;
  private readonly listeners = new Set<NotificationHandler>();
  private readonly streams = new Map<string, { onItems(items: unknown[], dropped?: number): void; onEnd?(p: NotificationParams<'subscription/end'>): void }>();
  /** Batches for a subscription whose `subscribe` answer has not arrived yet. */
  private readonly early = new Map<string, unknown[]>();
  /** Subscribe requests awaiting their answer: only then are unknown batches kept. */
  private pendingSubscribes = 0;
  private closedReason: string | undefined;

  constructor(send: (text: string) => void) {
    this.rpc = new JSONRPCClient((request) => {
      send(JSON.stringify(request));
    });
  }

  /** Feed every message the transport receives. */
  receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(message) ? message : [message]) this.dispatch(m as Record<string, unknown>);
  }

  private dispatch(message: Record<string, unknown>): void {
    if (typeof message.method === 'string' && message.id === undefined) {
      const params = message.params as Record<string, unknown> | undefined;
      const sub = typeof params?.subscription === 'string' ? params.subscription : undefined;
      if (sub !== undefined) {
        const stream = this.streams.get(sub);
        if (message.method === 'subscription/end') {
          if (stream) {
            this.streams.delete(sub);
            stream.onEnd?.(params as NotificationParams<'subscription/end'>);
          } else this.keepEarly(sub, message);
        } else if (stream) stream.onItems(params!.items as unknown[], params!.dropped as number | undefined);
        else this.keepEarly(sub, message);
      }
      for (const listener of this.listeners) listener(message.method, message.params);
      return;
    }
    this.rpc.receive(message as unknown as JSONRPCResponse);
  }

  private keepEarly(subscription: string, message: unknown): void {
    if (this.pendingSubscribes === 0) return;
    const kept = this.early.get(subscription);
    if (kept) kept.push(message);
    else this.early.set(subscription, [message]);
  }

  /** Calls a method; rejects with ProtocolError on an error answer (code 0: the connection is gone). */
  async request<M extends MethodName>(method: M, ...args: ParamsArg<M>): Promise<Result<M>> {
    if (this.closedReason !== undefined) throw new ProtocolError(0, this.closedReason, undefined);
    try {
      return (await this.rpc.request(method, args[0] ?? {})) as Result<M>;
    } catch (e) {
      if (e instanceof JSONRPCErrorException) throw new ProtocolError(e.code, e.message, e.data);
      throw e;
    }
  }

  /**
   * Calls a method with an id the caller can cancel: `abort()` on the signal sends
   * `$/cancelRequest` and the call rejects with RequestCancelled.
   */
  async requestCancellable<M extends MethodName>(method: M, params: Params<M>, signal: CancelSignal): Promise<Result<M>> {
    if (this.closedReason !== undefined) throw new ProtocolError(0, this.closedReason, undefined);
    const id = this.nextCancelId++;
    const onAbort = () => this.notify('$/cancelRequest', { id: `c${id}` });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.rpc.requestAdvanced({ jsonrpc: '2.0', id: `c${id}`, method, params });
      if (response.error) throw new ProtocolError(response.error.code, response.error.message, response.error.data);
      return response.result as Result<M>;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
  private nextCancelId = 1;

  /** Sends a client-to-server notification (`$/cancelRequest`). */
  notify(method: '$/cancelRequest', params: NotificationParams<'$/cancelRequest'>): void {
    this.rpc.notify(method, params);
  }

  /**
   * Opens a subscription and routes its batches to `handlers`. Resolves with the
   * subscription id, the method's whole result, and `cancel` to end it.
   */
  async subscribe<M extends MethodName, N extends NotificationName>(
    method: M,
    params: Params<M>,
    _notification: N,
    handlers: StreamHandlers<N>,
  ): Promise<{ id: string; result: Result<M>; cancel(): Promise<void> }> {
    this.pendingSubscribes++;
    let result: Result<M>;
    try {
      result = await this.request(method, ...([params] as ParamsArg<M>));
    } finally {
      this.pendingSubscribes--;
    }
    const { subscription } = result as unknown as { subscription: string };
    this.streams.set(subscription, handlers as never);
    const early = this.early.get(subscription) ?? [];
    this.early.delete(subscription);
    if (this.pendingSubscribes === 0) this.early.clear();
    for (const message of early) this.dispatch(message as Record<string, unknown>);
    return {
      id: subscription,
      result,
      cancel: async () => {
        if (this.streams.has(subscription)) await this.request('subscription/cancel', { subscription });
      },
    };
  }

  /** Every notification, raw (for notifications that are not subscriptions). */
  onNotification(handler: NotificationHandler): () => void {
    this.listeners.add(handler);
    return () => this.listeners.delete(handler);
  }

  /** Fails every pending request: the connection is gone. */
  close(reason = 'connection closed'): void {
    this.closedReason ??= reason;
    this.rpc.rejectAllPendingRequests(reason);
    for (const [id, stream] of this.streams) stream.onEnd?.({ subscription: id, reason: 'shutdown' });
    this.streams.clear();
  }
}
