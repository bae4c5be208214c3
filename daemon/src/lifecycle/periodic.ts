/**
 * A round of work run now and then every `intervalMs` after the previous round ends, so rounds
 * never overlap (a slow round delays the next one). The health monitor, the expiry reaper and
 * the reconciler each run on one.
 */
export class PeriodicRound {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  /** `onError` gets what a round threw; the next round is scheduled all the same. */
  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Runs a first round at once (on the next turn of the event loop), then every `intervalMs`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a round now unless one is running (then the next one comes at its time). */
  trigger(): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    this.running = this.round()
      .then(() => undefined, this.onError)
      .finally(() => {
        this.running = undefined;
        this.schedule(this.intervalMs);
      });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.trigger(), ms);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
