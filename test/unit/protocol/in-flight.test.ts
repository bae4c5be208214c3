/**
 * A request in flight: its cancellation reaches the dispatcher's race whether or not the
 * handler ever asked for its signal, and a signal asked for after the cancellation is aborted.
 */
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../../daemon/src/rpc/in-flight';

describe('InFlight', () => {
  it('answers RequestCancelled on cancel while the handler still runs, though nobody asked for the signal', async () => {
    const request = new InFlight();
    const never = new Promise<string>(() => undefined);
    const raced = request.race(never);
    request.cancel();
    await expect(raced).rejects.toMatchObject({ name: 'RequestCancelled' });
  });

  it('aborts the signal once, whether it was asked for before or after the cancel', () => {
    const before = new InFlight();
    const signal = before.signal;
    let aborts = 0;
    signal.addEventListener('abort', () => aborts++);
    before.cancel();
    before.cancel();
    expect(signal.aborted).toBe(true);
    expect(aborts).toBe(1);

    const after = new InFlight();
    after.cancel();
    expect(after.signal.aborted).toBe(true);
    expect(after.isCancelled).toBe(true);
  });

  it('passes a plain value through as it is, a settled promise as it settles, and refuses work once cancelled', async () => {
    const request = new InFlight();
    expect(request.race(7)).toBe(7);
    await expect(request.race(Promise.resolve('ok'))).resolves.toBe('ok');
    await expect(request.race(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    request.cancel();
    await expect(request.race(1)).rejects.toMatchObject({ name: 'RequestCancelled' });
  });
});
