/**
 * When to try again: capped exponential backoff between connection attempts, and the cap on
 * restarts of a daemon that keeps crashing (as vscode-languageclient caps a crashing
 * server: "crashed 5 times in the last 3 minutes"). Time comes from an injected clock.
 */

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface BackoffOptions {
  /** The first delay. */
  readonly initialMs: number;
  /** No delay is longer than this. */
  readonly maxMs: number;
  readonly factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, factor: 2 };

/** Delays of `initialMs`, ×`factor` each time, capped at `maxMs`, until `reset()`. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** The delay before the next attempt; each call grows the following one. */
  next(): number {
    const { initialMs, maxMs, factor } = this.options;
    const delay = Math.min(maxMs, initialMs * factor ** this.attempt);
    if (delay < maxMs) this.attempt++;
    return delay;
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

export interface RestartLimit {
  /** The crash within `windowMs` that is not followed by a restart. */
  readonly maxCrashes: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_LIMIT: RestartLimit = { maxCrashes: 5, windowMs: 3 * 60_000 };

/**
 * Counts crashes of the daemon (it went away without being asked to) and says whether to
 * restart it: not once `maxCrashes` happened within the last `windowMs`. A restart the user
 * asks for resets the count.
 */
export class RestartLimiter {
  private crashes: number[] = [];

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    readonly limit: RestartLimit = DEFAULT_RESTART_LIMIT,
  ) {}

  /** Records a crash; returns whether a restart is still allowed. */
  recordCrash(): boolean {
    const now = this.clock.now();
    this.crashes = this.crashes.filter((t) => now - t < this.limit.windowMs);
    this.crashes.push(now);
    return this.crashes.length < this.limit.maxCrashes;
  }

  /** Crashes counted within the window, as of now. */
  get recent(): number {
    const now = this.clock.now();
    return this.crashes.filter((t) => now - t < this.limit.windowMs).length;
  }

  /** The message shown when a restart is refused. */
  describeRefusal(): string {
    const ms = this.limit.windowMs;
    const window = ms >= 60_000 ? plural(Math.round(ms / 60_000), 'minute') : plural(Math.round(ms / 1000), 'second');
    return `branchboxd crashed ${this.limit.maxCrashes} times in the last ${window}; not restarting.`;
  }

  reset(): void {
    this.crashes = [];
  }
}

const plural = (n: number, unit: string) => (n === 1 ? unit : `${n} ${unit}s`);
