/**
 * Turns incoming JSON-RPC text into handler calls and answers, for every session alike.
 * Built on json-rpc-2.0's server (parsing, batches, method table) with the rules of the
 * Branchbox protocol applied as middleware, in this order:
 *   session gate (-32002 before initialize, ShuttingDown after shutdown)
 *   → params validation (-32602 with violations)
 *   → cancellation (-32800 on `$/cancelRequest`)
 *   → audit of state-changing methods → the handler.
 * Errors are mapped in one place: RpcError keeps its documented code; anything else is
 * InternalError (-32603), never code 0. Nothing a message does escapes `receive`: the limits of
 * PROTOCOL_LIMITS (batch length, answer size, exact ids) are applied here, and answers are
 * written within the largest message by answer-text.ts.
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
import { PROTOCOL_LIMITS } from '../../../schemas/src/limits';
import type { Logger } from '../runtime/log';
import { answerText, errorResponse as named } from './answer-text';
import { RpcError, describeThrown, toErrorObject } from './errors';
import type { Handlers, RequestContext } from './handlers';
import type { Session } from './session';
import { resultViolations, validateParams } from './validation';

export interface AuditEntry {
  readonly client: string | undefined;
  readonly osUser: string;
  readonly method: string;
  readonly target: string | undefined;
  readonly outcome: 'ok' | string;
  /** The request's params and, when it succeeded, its result: the trail takes what changed from them. */
  readonly params?: unknown;
  readonly result?: unknown;
  /** What changed, for entries that are not requests (e.g. an expiry), given directly. */
  readonly detail?: Readonly<Record<string, unknown>>;
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
  /** The largest answer in bytes (default: PROTOCOL_LIMITS.maxMessageBytes). */
  readonly maxAnswerBytes?: number;
}

const specOf = (method: string): MethodSpec | undefined =>
  Object.hasOwn(methods, method) ? (methods[method as MethodName] as MethodSpec) : undefined;

/** The params field names that identify what a request acts on, most specific first. */
const TARGET_KEYS = ['sandbox', 'service', 'name', 'newName', 'snapshot', 'into', 'id', 'session', 'subscription', 'key', 'path'] as const;

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
      if (!(error instanceof RpcError)) opts.log.error('handler failed', { error: describeThrown(error, { stack: true }) });
      return createJSONRPCErrorResponse(id, code, message, data);
    };
    this.server.applyMiddleware((next, request, session) => this.apply(next, request, session));
    for (const name of Object.keys(methods) as MethodName[]) {
      const handler = opts.handlers[name] as (params: unknown, ctx: RequestContext) => unknown;
      this.server.addMethodAdvanced(name, async (request, session) => {
        const { request: inFlight, done } = session.track(request.id ?? `notification:${name}`);
        try {
          const ctx: RequestContext = {
            get signal() {
              return inFlight.signal;
            },
            session,
            log: session.log,
          };
          const result = await inFlight.race(handler(request.params ?? {}, ctx));
          if (opts.validateResults) {
            const violations = resultViolations(name, result ?? null);
            if (violations.length) throw new Error(`result of ${name} breaks its schema: ${JSON.stringify(violations)}`);
          }
          // A notification is never answered, whatever its handler returned.
          return request.id === undefined ? null : { jsonrpc: '2.0', id: request.id, result: result ?? null };
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

  /**
   * Handles one incoming message (a request, a notification or a batch); answers through the
   * session. Never rejects: whatever fails on the way is answered (or logged), never thrown.
   */
  async receive(text: string, session: Session): Promise<void> {
    let out: string | undefined;
    this.active++;
    try {
      const response = await this.answer(text, session);
      const empty = response === null || (Array.isArray(response) && response.length === 0);
      if (!empty) out = answerText(response, this.opts.maxAnswerBytes ?? PROTOCOL_LIMITS.maxMessageBytes);
    } catch (e) {
      session.log.error('dispatch failed', { error: describeThrown(e, { stack: true }) });
      out = JSON.stringify(named(null, -32603, `Internal error: ${describeThrown(e)}`));
    } finally {
      if (--this.active === 0) this.idleWaiters.splice(0).forEach((r) => r());
    }
    if (out === undefined || session.isClosed) return;
    try {
      session.connection.send(out);
    } catch (e) {
      session.log.warn('answer could not be sent', { error: describeThrown(e) });
    }
  }

  /**
   * Parses and answers one message. Batches are handled here, not by json-rpc-2.0, which
   * answers a batch with a single response when only one element is answered, and which
   * lets a non-object element (`null`) or a malformed envelope reach the method table.
   */
  private async answer(text: string, session: Session): Promise<JSONRPCResponse | JSONRPCResponse[] | null> {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return named(null, -32700, 'Parse error');
    }
    if (!Array.isArray(message)) return this.answerOne(message, session);
    if (message.length === 0) return named(null, -32600, 'Invalid Request: empty batch');
    if (message.length > PROTOCOL_LIMITS.maxBatchLength) {
      return named(
        null,
        -32600,
        `Invalid Request: a batch of ${message.length} messages exceeds the limit of ${PROTOCOL_LIMITS.maxBatchLength}; nothing in it was run`,
        { limit: PROTOCOL_LIMITS.maxBatchLength },
      );
    }
    const answers = await Promise.all(message.map((m) => this.answerOne(m, session)));
    const responses = answers.filter((r): r is JSONRPCResponse => r !== null);
    return responses.length > 0 ? responses : null;
  }

  private async answerOne(message: unknown, session: Session): Promise<JSONRPCResponse | null> {
    const problem = envelopeProblem(message);
    if (problem !== undefined) {
      const id = (message as { id?: unknown } | null)?.id;
      return named(isValidId(id) ? id : null, -32600, `Invalid Request: ${problem}`);
    }
    return (await this.server.receive(message as JSONRPCRequest, session)) as JSONRPCResponse | null;
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
    // Params are by name. An empty array is a by-position call with no arguments: the same as none.
    if (Array.isArray(request.params) && request.params.length > 0) {
      return error(
        request,
        -32602,
        `Invalid params for ${request.method}: params by position are not supported; pass an object of named params`,
        { violations: [{ path: '', message: 'must be an object of named params (by-position params are not supported)' }] },
      );
    }
    const params = request.params === undefined || Array.isArray(request.params) ? {} : request.params;
    const violations = validateParams(request.method as MethodName, params);
    if (violations.length > 0) {
      const summary = violations.map((v) => `${v.path || 'params'} ${v.message}`).join('; ');
      return error(request, -32602, `Invalid params for ${request.method}: ${summary}`, { violations });
    }
    const started = performance.now();
    let response: JSONRPCResponse | null;
    // A handler's error is mapped here rather than by json-rpc-2.0 after the middleware, so
    // that failed requests are logged and audited with their outcome too.
    let failure: { code: number; message: string; data?: { name?: string } } | undefined;
    try {
      response = await next({ ...request, params }, session);
      failure = response?.error;
    } catch (e) {
      const mapped = this.server.mapErrorToJSONRPCErrorResponse(request.id ?? null, e);
      failure = mapped.error;
      response = request.id === undefined ? null : mapped;
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    session.log.debug('request', { method: request.method, id: request.id, ms, error: failure?.code });
    if (spec.mutating && this.opts.audit) {
      this.opts.audit({
        client: session.clientInfo?.name,
        osUser: session.osUser,
        method: request.method,
        target: targetOf(params),
        outcome: failure ? `error ${failure.data?.name ?? failure.code}: ${failure.message}` : 'ok',
        params,
        result: failure ? undefined : response?.result,
      });
    }
    return response;
  }

}

/** A number id must come back exactly as sent, which JSON numbers guarantee only within ±(2^53 − 1). */
const isExactNumber = (id: number) => Number.isFinite(id) && Math.abs(id) <= PROTOCOL_LIMITS.maxIntegerId;

const isValidId = (id: unknown): id is string | number | null =>
  typeof id === 'string' || id === null || (typeof id === 'number' && isExactNumber(id));

/** Why `message` is not a JSON-RPC 2.0 request or notification; undefined when it is one. */
function envelopeProblem(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'not an object';
  const m = message as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return '"jsonrpc" must be "2.0"';
  if (typeof m.method !== 'string') return '"method" must be a string';
  if (typeof m.id === 'number' && Number.isFinite(m.id) && !isExactNumber(m.id)) {
    return `"id" ${JSON.stringify(m.id)} is beyond ±${PROTOCOL_LIMITS.maxIntegerId} and would not come back exactly: use a smaller number or a string`;
  }
  if (m.id !== undefined && !isValidId(m.id)) return '"id" must be a string, a number or null';
  if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null)) return '"params" must be an object';
  if (m.result !== undefined || m.error !== undefined) return 'a response is not a request';
  return undefined;
}

function error(request: JSONRPCRequest, code: number, message: string, data?: Record<string, unknown>): JSONRPCResponse | null {
  if (request.id === undefined) return null; // notifications are never answered
  return named(request.id, code, message, data);
}
