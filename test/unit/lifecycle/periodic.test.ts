import { afterEach, describe, expect, it, vi } from 'vitest';
import { PeriodicRound } from '../../../daemon/src/lifecycle/periodic';

describe('PeriodicRound', () => {
  afterEach(() => vi.useRealTimers());

  it('runs a first round at once, the next intervalMs after it ends, never two at a time', async () => {
    vi.useFakeTimers();
    let release!: () => void;
    const rounds: number[] = [];
    const round = vi.fn(() => {
      rounds.push(Date.now());
      return new Promise<void>((r) => (release = r));
    });
    const p = new PeriodicRound(round, 1_000, () => undefined);
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(round).toHaveBeenCalledTimes(1);
    p.trigger(); // a round is running: ignored
    await vi.advanceTimersByTimeAsync(5_000); // a slow round delays the next one
    expect(round).toHaveBeenCalledTimes(1);
    release();
    await vi.advanceTimersByTimeAsync(999);
    expect(round).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(round).toHaveBeenCalledTimes(2);
    expect(rounds[1]! - rounds[0]!).toBe(6_000);
    release();
    await p.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(round).toHaveBeenCalledTimes(2);
  });

  it('reports a failed round and goes on; trigger runs one at once; stop waits for the round in progress', async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    let calls = 0;
    let finished = false;
    const p = new PeriodicRound(
      async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        await new Promise((r) => setTimeout(r, 50));
        finished = true;
      },
      1_000,
      (e) => errors.push(e),
    );
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([new Error('boom')]);
    p.trigger();
    expect(calls).toBe(2);
    const stopped = p.stop();
    await vi.advanceTimersByTimeAsync(50);
    await stopped;
    expect(finished).toBe(true);
  });
});
