/**
 * The one error type handlers throw to answer a request with a documented error. Anything
 * else thrown by a handler is a bug and answers InternalError (-32603) with its message,
 * never code 0.
 */
import { errorTable, type ErrorName } from '../../../schemas/src/errors';

export class RpcError extends Error {
  readonly code: number;
  constructor(
    readonly errorName: ErrorName,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = errorName;
    this.code = errorTable[errorName].code;
  }

  toJSON(): { code: number; message: string; data: Record<string, unknown> } {
    return { code: this.code, message: this.message, data: { name: this.errorName, ...this.data } };
  }
}

export const isRpcError = (e: unknown): e is RpcError => e instanceof RpcError;

/** The JSON-RPC error object for anything a handler threw. */
export function toErrorObject(e: unknown): { code: number; message: string; data: Record<string, unknown> } {
  if (isRpcError(e)) return e.toJSON();
  return { code: errorTable.InternalError.code, message: `Internal error: ${describeThrown(e)}`, data: { name: 'InternalError' } };
}

/**
 * What was thrown, in words, whatever it is: an Error's message (or stack), or the value —
 * even one `String()` cannot convert (`Object.create(null)`, a Symbol).
 */
export function describeThrown(e: unknown, opts: { stack?: boolean } = {}): string {
  if (e instanceof Error) return (opts.stack ? e.stack : undefined) ?? e.message;
  try {
    return String(e);
  } catch {
    return `a thrown ${typeof e}`;
  }
}
