import { describe, expect, it } from 'vitest';
import { DockerEngine, type EngineLink, type RetryTimers } from '../../../daemon/src/docker/engine';
import type { DockerClient, EngineEvent } from '../../../daemon/src/docker/types';
import { RpcError } from '../../../daemon/src/rpc/errors';

/** Timers the test fires by hand: the retry loop's delays become observable without waiting. */
function manualTimers() {
  const pending: { fn: () => void; ms: number }[] = [];
  let onSchedule: (() => void) | undefined;
  const timers: RetryTimers = {
    setTimeout: (fn, ms) => {
      const t = { fn, ms };
      pending.push(t);
      onSchedule?.();
      return t;
    },
    clearTimeout: (h) => {
      const i = pending.indexOf(h as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return {
    timers,
    delays: () => pending.map((t) => t.ms),
    /** Resolves once a retry is pending. */
    scheduled: () => (pending.length ? Promise.resolve() : new Promise<void>((r) => (onSchedule = r))),
    fire: () => {
      const t = pending.shift();
      if (!t) throw new Error('no timer pending');
      t.fn();
    },
  };
}

/** A fake connection whose event stream the test ends. */
function fakeLink(): { link: EngineLink; end: () => void; push: (e: EngineEvent) => void } {
  const queue: EngineEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  async function* events(): AsyncGenerator<EngineEvent> {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (ended) return;
      await new Promise<void>((r) => (wake = r));
    }
  }
  const client = {
    endpoint: 'fake://engine',
    system: {
      ping: async () => undefined,
      version: async () => ({ version: '99.0', apiVersion: '1.41', os: 'linux', arch: 'amd64' }),
      time: async () => Date.now(),
    },
    events: { stream: async () => events() },
  } as unknown as DockerClient;
  return {
    link: { client, strategy: 'fake' },
    end: () => {
      ended = true;
      wake?.();
    },
    push: (e) => {
      queue.push(e);
      wake?.();
    },
  };
}

describe('DockerEngine retry loop', () => {
  it('retries with capped exponential backoff while no engine answers, then connects', async () => {
    const clock = manualTimers();
    let failures = 5;
    const fake = fakeLink();
    const engine = new DockerEngine({
      timers: clock.timers,
      backoff: { initialMs: 500, maxMs: 4000, factor: 2 },
      connect: async () => {
        if (failures-- > 0) throw new Error('No Docker engine answered. Tried: default socket /x (ENOENT).');
        return fake.link;
      },
    });
    const status = await engine.start();
    expect(status).toEqual({
      available: false,
      reason: 'No Docker engine answered. Tried: default socket /x (ENOENT).',
    });
    expect(() => engine.client()).toThrow(RpcError);

    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      await clock.scheduled();
      seen.push(...clock.delays());
      clock.fire();
    }
    await clock.scheduled();
    seen.push(...clock.delays());
    const connected = engine.next('connected');
    clock.fire();
    await connected;
    expect(seen).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(engine.status()).toEqual({
      available: true,
      endpoint: 'fake://engine',
      version: '99.0',
      apiVersion: '1.41',
    });
    expect(engine.client().endpoint).toBe('fake://engine');
    engine.stop();
  });

  it('forwards stream events, marks the engine down when the stream ends, and restarts the backoff', async () => {
    const clock = manualTimers();
    const first = fakeLink();
    const second = fakeLink();
    const links = [first, second];
    const engine = new DockerEngine({ timers: clock.timers, connect: async () => links.shift()!.link });
    await engine.start();
    expect(engine.status().available).toBe(true);

    const event = engine.next('event');
    first.push({ type: 'container', action: 'start', id: 'abc', time: new Date().toISOString() });
    expect((await event)[0]).toMatchObject({ action: 'start', id: 'abc' });

    const lost = engine.next('disconnected');
    first.end();
    const [reason] = await lost;
    expect(reason).toBe('Lost the Docker engine at fake://engine: its event stream ended. Reconnecting…');
    expect(engine.status()).toEqual({ available: false, reason });
    try {
      engine.client();
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ errorName: 'DockerUnavailable', message: reason });
    }
    expect(clock.delays()).toEqual([500]);

    const back = engine.next('connected');
    clock.fire();
    await back;
    expect(engine.status().available).toBe(true);
    engine.stop();
    expect(clock.delays()).toEqual([]);
  });
});
