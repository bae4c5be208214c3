/**
 * Answers as they go on the wire: JSON text no larger than the largest message. A result that
 * does not fit is replaced by a ResponseTooLarge error for its id; in a batch answer, results
 * are kept in order while they fit and each one after that is replaced, so every id still gets
 * exactly one answer and the text is never built past the limit (a batch of ten thousand
 * `rpc.discover` once needed a string longer than V8 allows, and ended the process). A result
 * that JSON cannot encode (a BigInt, a cycle) answers InternalError for its id.
 */
import { createJSONRPCErrorResponse, type JSONRPCID, type JSONRPCResponse } from 'json-rpc-2.0';
import { errorNameOf, errorTable } from '../../../schemas/src/index';

/** An error response whose `data.name` is the code's stable name, like every other error. */
export function errorResponse(
  id: JSONRPCID,
  code: number,
  message: string,
  data?: Record<string, unknown>,
): JSONRPCResponse {
  return createJSONRPCErrorResponse(id, code, message, { name: errorNameOf(code), ...data });
}

function tooLarge(id: JSONRPCID, limit: number, size?: number): JSONRPCResponse {
  const what = size === undefined ? 'The answer' : `The answer (${size} bytes)`;
  return errorResponse(
    id,
    errorTable.ResponseTooLarge.code,
    `${what} would exceed the ${limit}-byte limit of a message: ask for less, or send this request alone rather than in a batch`,
    { limit, ...(size === undefined ? {} : { size }) },
  );
}

function unencodable(id: JSONRPCID, e: unknown): JSONRPCResponse {
  const reason = e instanceof Error ? e.message : 'unknown reason';
  return errorResponse(
    id,
    errorTable.InternalError.code,
    `Internal error: the result cannot be written as JSON (${reason})`,
  );
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The text of one response, or of the error that replaces it; undefined when it is over `budget` bytes. */
function textOf(response: JSONRPCResponse, budget: number): { text: string } | { over: number | undefined } {
  let text: string;
  try {
    text = JSON.stringify(response);
  } catch (e) {
    // V8 refuses strings past its maximum length with a RangeError: far too large anyway.
    if (e instanceof RangeError) return { over: undefined };
    return { text: JSON.stringify(unencodable(response.id, e)) };
  }
  const size = bytes(text);
  return size <= budget ? { text } : { over: size };
}

/** The text of an answer (one response or a batch of them) within `limit` bytes. */
export function answerText(answer: JSONRPCResponse | JSONRPCResponse[], limit: number): string {
  if (!Array.isArray(answer)) {
    const one = textOf(answer, limit);
    return 'text' in one ? one.text : JSON.stringify(tooLarge(answer.id, limit, one.over));
  }
  // Room is kept for the replacement of every response, so replacing the rest always fits.
  const fallbacks = answer.map((r) => JSON.stringify(tooLarge(r.id, limit)));
  const frame = 2 + answer.length - 1; // brackets and commas
  let budget = limit - frame - fallbacks.reduce((n, f) => n + bytes(f), 0);
  if (budget < 0) return JSON.stringify(tooLarge(null, limit));
  let full = false;
  const texts = answer.map((response, i) => {
    const fallback = fallbacks[i]!;
    if (full) return fallback;
    const one = textOf(response, budget + bytes(fallback));
    if ('over' in one) {
      full = true;
      return fallback;
    }
    budget -= bytes(one.text) - bytes(fallback);
    return one.text;
  });
  return `[${texts.join(',')}]`;
}
