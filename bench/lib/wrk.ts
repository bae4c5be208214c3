/** wrk's output read: the figures of a run and its error counts. */

export interface WrkFigures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  /** "Non-2xx or 3xx responses" (absent from the output when none). */
  readonly non2xx: number;
  /** "Socket errors": connect + read + write + timeout (absent when none). */
  readonly socketErrors: number;
  /** wrk's own breakdown of them, `connect 0, read 0, write 0, timeout 11` (a timeout is an answer slower than wrk's 2 s); absent when none. */
  readonly socketErrorKinds?: string;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const toMs = (text: string) => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`unreadable wrk latency "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
};

/** wrk's figures and its error counts ("Non-2xx or 3xx responses", "Socket errors"), read from its output. */
export function readWrk(out: string): WrkFigures {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in /.exec(out)?.[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  if (!rps || !requests || !p50 || !p99) throw new Error(`unreadable wrk output:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    rps,
    requests,
    p50: toMs(p50),
    p99: toMs(p99),
    non2xx,
    socketErrors,
    ...(sock ? { socketErrorKinds: sock[0].slice('Socket errors: '.length) } : {}),
  };
}
