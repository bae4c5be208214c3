/**
 * "Is the new version served yet?" for the benches that time a change until it is answered:
 * GET a URL in a tight loop (a pause of a few ms between requests) until it answers the new
 * body, and fail on any answer that is neither the old nor the new one.
 *
 *   const t0 = performance.now();                    // just after the change was made
 *   const s = await waitServed(url, { expected: 'v2', previous: 'v1', since: t0 });
 *   s.ms                                              // from t0 to the first answer of 'v2'
 *
 * While a container restarts, the gateway in front of it answers 5xx (or the connection is
 * refused when asked directly): those are counted as `notReady`, never taken for an answer.
 * A file replaced in a container (`docker cp`, or any upload through the Engine API's archive
 * endpoint, which removes the old file before it writes the new one) is briefly missing or
 * partly written: a 404 from the service itself, or a 200 whose body is a beginning of the new
 * one, is counted as `torn` (and reported by the caller), not failed. A 200 with any other body,
 * or another 4xx (the gateway's own 404 included), is a wrong answer and fails at once. Once the
 * new body is answered it must stay: the next {@link CONFIRMATIONS} requests must answer it too.
 *
 * A request does not wait for the one before it to end: while a container starts, docker's
 * port proxy may hold a connection for a second before it resets it, and a poller stuck on it
 * would see the new version that much late. A new request goes out every {@link POLL_GAP_MS}
 * ms while fewer than {@link MAX_IN_FLIGHT} are on their way; the first answer of the new body
 * ends the wait, and the requests still on their way are aborted.
 */
import { performance } from 'node:perf_hooks';

/** The pause between two requests: short, so the figure is the change's, not the poller's. */
export const POLL_GAP_MS = 2;
/**
 * Requests on their way at once at most: while a container restarts, requests through docker's
 * port proxy hang for up to a second each, and with this many on their way one still goes out
 * every ~16 ms.
 */
export const MAX_IN_FLIGHT = 64;
/** Requests after the first new answer that must answer it too (no flapping back). */
export const CONFIRMATIONS = 3;

export type Answer = 'new' | 'old' | 'not-ready' | 'torn';

export class WrongAnswer extends Error {}

/** The value of the gateway's `X-Branchbox-Route` on an answer of its own (no route, no target). */
const GATEWAY_OWN_ROUTE = 'none';

/**
 * What one answer means; throws {@link WrongAnswer} for one that is neither old nor new (nor a
 * 5xx, nor torn). `route` is its `X-Branchbox-Route` header, when it has one.
 */
export function classifyAnswer(status: number, body: string, expected: string, previous: string | undefined, route?: string): Answer {
  if (status >= 500) return 'not-ready';
  if (status === 404 && route !== GATEWAY_OWN_ROUTE) return 'torn';
  if (status !== 200) throw new WrongAnswer(`answered ${status}: ${clip(body)}`);
  if (body === expected) return 'new';
  if (previous !== undefined && body === previous) return 'old';
  if (expected.startsWith(body)) return 'torn';
  throw new WrongAnswer(`answered ${clip(body)}, neither the new ${clip(expected)} nor the old ${clip(previous ?? '(none)')}`);
}

export interface ServedOptions {
  readonly expected: string;
  /** What was served before the change; undefined when nothing was (every 200 before must be the new one). */
  readonly previous: string | undefined;
  /** performance.now() when the change was made. */
  readonly since: number;
  /** How long to wait at most, from `since` (default 120 s). */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Served {
  /** From `since` to the first answer of the new body. */
  readonly ms: number;
  readonly requests: number;
  /** 5xx answers and failed connections on the way. */
  readonly notReady: number;
  /** What they were, each with its count: `502 "Branchbox gateway: cannot reach…"`, `ECONNRESET`. */
  readonly notReadyKinds: ReadonlyMap<string, number>;
  /** Answers of the file half replaced: a 404 of the service, or a beginning of the new body. */
  readonly torn: number;
}

export async function waitServed(url: string, o: ServedOptions): Promise<Served> {
  const timeoutMs = o.timeoutMs ?? 120_000;
  const deadline = o.since + timeoutMs;
  const stop = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let requests = 0;
  let notReady = 0;
  let lastProblem = '';
  const notReadyKinds = new Map<string, number>();
  const problem = (what: string) => {
    notReady++;
    lastProblem = what;
    notReadyKinds.set(what, (notReadyKinds.get(what) ?? 0) + 1);
  };
  let torn = 0;
  let servedAt: number | undefined;
  let wrong: Error | undefined;
  const take = (answer: Asked) => {
    if (servedAt !== undefined || wrong !== undefined || stop.signal.aborted) return;
    if (answer.kind === 'error') return problem(answer.message);
    try {
      const meaning = classifyAnswer(answer.status, answer.body, o.expected, o.previous, answer.route);
      if (meaning === 'new') servedAt = performance.now();
      else if (meaning === 'not-ready') problem(`${answer.status} ${clip(answer.body)}`);
      else if (meaning === 'torn') torn++;
    } catch (e) {
      wrong = e as Error;
    }
  };
  try {
    while (servedAt === undefined && wrong === undefined) {
      if (performance.now() > deadline)
        throw new Error(`${url} did not answer ${clip(o.expected)} within ${timeoutMs} ms${lastProblem ? ` (last: ${lastProblem})` : ''}`);
      if (inFlight.size < MAX_IN_FLIGHT) {
        requests++;
        const request: Promise<void> = ask(url, o, stop.signal)
          .then(take)
          .finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, POLL_GAP_MS)), ...inFlight]);
    }
  } finally {
    stop.abort();
    await Promise.allSettled([...inFlight]);
  }
  if (wrong) throw wrong;
  const ms = servedAt! - o.since;
  for (let i = 0; i < CONFIRMATIONS; i++) {
    const again = await ask(url, o);
    if (again.kind === 'error') throw new WrongAnswer(`${url} answered the new body, then failed: ${again.message}`);
    if (again.status !== 200 || again.body !== o.expected) throw new WrongAnswer(`${url} answered the new body, then ${again.status} ${clip(again.body)}`);
  }
  return { ms, requests, notReady, notReadyKinds, torn };
}

type Asked = { kind: 'answer'; status: number; body: string; route?: string } | { kind: 'error'; message: string };

async function ask(url: string, o: ServedOptions, stop?: AbortSignal): Promise<Asked> {
  try {
    const signal = stop ? AbortSignal.any([stop, AbortSignal.timeout(5_000)]) : AbortSignal.timeout(5_000);
    const res = await fetch(url, { signal, ...(o.headers ? { headers: { ...o.headers } } : {}) });
    const route = res.headers.get('x-branchbox-route');
    return { kind: 'answer', status: res.status, body: await res.text(), ...(route !== null ? { route } : {}) };
  } catch (e) {
    const cause = (e as Error).cause;
    return { kind: 'error', message: cause instanceof Error ? cause.message : (e as Error).message };
  }
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 80)}…` : one);
}
