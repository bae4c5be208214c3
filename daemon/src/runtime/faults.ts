/**
 * What the daemon does with an error nothing caught: a throw in a timer or stream callback,
 * a rejected promise nobody awaited, an 'error' event without a listener. Node's default is to
 * end the process — every client's connection, every running deployment — for what is almost
 * always one failed operation. The policy instead:
 *   - reports each fault (the daemon log and stderr, with its stack) and keeps serving;
 *   - treats a storm of faults (more than `maxFaults` within `windowMs`: something fails in a
 *     loop) as a truly fatal state, and asks once for a clean stop, which the entry point turns
 *     into exit code 1 with the reason on stderr.
 * Requests never get here: the dispatcher answers a handler's failure as InternalError.
 */

export type FaultKind = 'uncaught exception' | 'unhandled rejection';

export interface Fault {
  readonly kind: FaultKind;
  readonly error: unknown;
  /** Faults within the current window, this one included. */
  readonly recent: number;
}

export interface FaultPolicyOptions {
  /** Reports one fault; must not throw (what it throws is dropped). */
  readonly report: (fault: Fault) => void;
  /** Faults come too fast to go on: stop cleanly. Called at most once. */
  readonly fatal: (reason: string) => void;
  readonly maxFaults?: number;
  readonly windowMs?: number;
  readonly now?: () => number;
}

export const DEFAULT_MAX_FAULTS = 50;
export const DEFAULT_FAULT_WINDOW_MS = 60_000;

/** The part of `process` the policy listens on (an EventEmitter in tests). */
export interface FaultSource {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
}

/** Installs the policy on `source` (normally `process`); returns its removal. */
export function installFaultPolicy(source: FaultSource, opts: FaultPolicyOptions): () => void {
  const maxFaults = opts.maxFaults ?? DEFAULT_MAX_FAULTS;
  const windowMs = opts.windowMs ?? DEFAULT_FAULT_WINDOW_MS;
  const now = opts.now ?? Date.now;
  let times: number[] = [];
  let fatal = false;

  const handle = (kind: FaultKind) => (error: unknown) => {
    const t = now();
    times = times.filter((at) => t - at < windowMs);
    times.push(t);
    try {
      opts.report({ kind, error, recent: times.length });
    } catch {
      // Reporting must never become a fault of its own.
    }
    if (!fatal && times.length > maxFaults) {
      fatal = true;
      opts.fatal(
        `${times.length} unexpected errors within ${Math.round(windowMs / 1000)} s, the last: ${describeFault(error)}`,
      );
    }
  };
  const onException = handle('uncaught exception');
  const onRejection = handle('unhandled rejection');
  source.on('uncaughtException', onException);
  source.on('unhandledRejection', onRejection);
  return () => {
    source.off('uncaughtException', onException);
    source.off('unhandledRejection', onRejection);
  };
}

/** One line saying what failed. */
export function describeFault(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return `a thrown ${typeof error}: ${String(error)}`;
  } catch {
    return `a thrown ${typeof error}`;
  }
}

/** The stack when there is one, for the log. */
export function faultDetail(error: unknown): string {
  return error instanceof Error && error.stack ? error.stack : describeFault(error);
}
