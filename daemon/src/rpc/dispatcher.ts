/**
 * Turns incoming JSON-RPC text into handler calls and answers, for every session alike.
 * Built on json-rpc-2.0's server (parsing, batches, method table) with the rules of the
 * Branchbox protocol applied as middleware, in this order:
 *   lifecycle gate (-32002 before initialize, ShuttingDown after shutdown)
 *   → params validation (-32602 with violations)
 *   → cancellation (-32800 on `$/cancelRequest`)
 *   → audit of state-changing methods → the handler.
 * Errors are mapped in one place: RpcError keeps its documented code; anything else is
 * InternalError (-32603), never code 0.
 */
import {
  JSONRPCErrorException,
  JSONRPCServer,
  createJSONRPCErrorResponse,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import { methods, notifications, type MethodName } from '../../../schemas/src/index';
import type { MethodSpec } from '../../../schemas/src/core';
import type { Logger } from '../runtime/log';
import { RpcError, toErrorObject } from './errors';
import type { Handlers, RequestContext } from './handlers';
import type { Session } from './session';
import { resultViolations, validateParams } from './validation';

export interface AuditEntry {
  readonly client: string | undefined;
  readonly osUser: string;
  readonly method: string;
  readonly target: string | undefined;
  readonly outcome: 'ok' | string;
}

export interface DispatcherOptions {
  readonly handlers: Handlers;
  readonly log: Logger;
  /** Called once for every state-changing request, after it answered. */
  readonly audit?: (entry: AuditEntry) => void;
  /** True once shutdown began: new requests answer ShuttingDown. */
  readonly isShuttingDown?: () => boolean;
  /** Check every result against its schema (tests): a mismatch answers InternalError. */
  readonly validateResults?: boolean;
}

const specOf = (method: string): MethodSpec | undefined =>
  Object.hasOwn(methods, method) ? (methods[method as MethodName] as MethodSpec) : undefined;

/** The params field names that identify what a request acts on, most specific first. */
const TARGET_KEYS = ['sandbox', 'name', 'id', 'session', 'subscription', 'path'] as const;

function targetOf(params: unknown): string | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const record = params as Record<string, unknown>;
  const parts = TARGET_KEYS.filter((k) => typeof record[k] === 'string' || typeof record[k] === 'number').map(
    (k) => `${k}=${String(record[k])}`,
  );
  return parts.length ? parts.join(' ') : undefined;
}

export class Dispatcher {
  private readonly server = new JSONRPCServer<Session>({ errorListener: () => undefined });
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: DispatcherOptions) {
    this.server.mapErrorToJSONRPCErrorResponse = (id, error: unknown) => {
      if (error instanceof JSONRPCErrorException) return createJSONRPCErrorResponse(id, error.code, error.message, error.data);
      const { code, message, data } = toErrorObject(error);
      if (!(error instanceof RpcError)) opts.log.error('handler failed', { error: String((error as Error)?.stack ?? error) });
      return createJSONRPCErrorResponse(id, code, message, data);
    };
    this.server.applyMiddleware((next, request, session) => this.apply(next, request, session));
    for (const name of Object.keys(methods) as MethodName[]) {
      const handler = opts.handlers[name] as (params: unknown, ctx: RequestContext) => unknown;
      this.server.addMethodAdvanced(name, async (request, session) => {
        const { signal, done } = session.track(request.id ?? `notification:${name}`);
        try {
          const ctx: RequestContext = { signal, session, log: session.log };
          const result = await raceAbort(Promise.resolve(handler(request.params ?? {}, ctx)), signal);
          if (opts.validateResults) {
            const violations = resultViolations(name, result ?? null);
            if (violations.length) throw new Error(`result of ${name} breaks its schema: ${JSON.stringify(violations)}`);
          }
          return { jsonrpc: '2.0', id: request.id ?? null, result: result ?? null };
        } finally {
          done();
        }
      });
    }
    this.server.addMethod('$/cancelRequest', (params: { id?: string | number } | undefined, session) => {
      if (params && (typeof params.id === 'string' || typeof params.id === 'number')) session.cancelRequest(params.id);
      return null;
    });
  }

  /** Resolves when no message is being handled. */
  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** Handles one incoming message (a request, a notification or a batch); answers through the session. */
  async receive(text: string, session: Session): Promise<void> {
    let response: JSONRPCResponse | JSONRPCResponse[] | null;
    this.active++;
    try {
      response = await this.server.receiveJSON(text, session);
    } catch (e) {
      session.log.error('dispatch failed', { error: String(e) });
      response = createJSONRPCErrorResponse(null, -32603, `Internal error: ${String(e)}`);
    } finally {
      if (--this.active === 0) this.idleWaiters.splice(0).forEach((r) => r());
    }
    if (response === null || (Array.isArray(response) && response.length === 0)) return;
    if (!session.isClosed) session.connection.send(JSON.stringify(response));
  }

  private async apply(
    next: (request: JSONRPCRequest, session: Session) => PromiseLike<JSONRPCResponse | null>,
    request: JSONRPCRequest,
    session: Session,
  ): Promise<JSONRPCResponse | null> {
    const spec = specOf(request.method);
    if (!spec) {
      if (request.method === '$/cancelRequest' || Object.hasOwn(notifications, request.method)) {
        return request.id === undefined ? next(request, session) : error(request, -32601, `${request.method} is a notification, not a request`);
      }
      return error(request, -32601, `Method not found: ${request.method}`);
    }
    if (!spec.beforeInitialize && !session.initialized) {
      return error(request, -32002, `Server not initialized: call initialize before ${request.method}`);
    }
    if (this.opts.isShuttingDown?.() && request.method !== 'shutdown') {
      throw new RpcError('ShuttingDown', 'The daemon is shutting down and takes no new requests');
    }
    const params = request.params === undefined ? {} : request.params;
    const violations = validateParams(request.method as MethodName, params);
    if (violations.length > 0) {
      const summary = violations.map((v) => `${v.path || 'params'} ${v.message}`).join('; ');
      return error(request, -32602, `Invalid params for ${request.method}: ${summary}`, { violations });
    }
    const started = performance.now();
    const response = await next({ ...request, params }, session);
    const ms = Math.round((performance.now() - started) * 10) / 10;
    session.log.debug('request', { method: request.method, id: request.id, ms, error: response?.error?.code });
    if (spec.mutating && this.opts.audit) {
      this.opts.audit({
        client: session.clientInfo?.name,
        osUser: session.osUser,
        method: request.method,
        target: targetOf(params),
        outcome: response?.error ? `error ${response.error.data?.name ?? response.error.code}: ${response.error.message}` : 'ok',
      });
    }
    return response;
  }

}

function error(request: JSONRPCRequest, code: number, message: string, data?: unknown): JSONRPCResponse | null {
  if (request.id === undefined) return null; // notifications are never answered
  return createJSONRPCErrorResponse(request.id, code, message, data);
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new RpcError('RequestCancelled', 'Request cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RpcError('RequestCancelled', 'Request cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
