/**
 * What a method implementation looks like. Handlers get validated, typed params and a
 * context for the request (its cancellation signal, the session, the logger) and return the
 * typed result or throw an RpcError.
 */
import type { MethodName, Params, Result } from '../../../schemas/src/index';
import type { Logger } from '../runtime/log';
import type { Session } from './session';

export interface RequestContext {
  /** Aborted when the client sends `$/cancelRequest` for this request, or the connection closes. */
  readonly signal: AbortSignal;
  readonly session: Session;
  readonly log: Logger;
}

export type Handler<M extends MethodName> = (params: Params<M>, ctx: RequestContext) => Promise<Result<M>> | Result<M>;

export type Handlers = { [M in MethodName]: Handler<M> };
export type HandlerGroup<K extends MethodName> = { [M in K]: Handler<M> };
