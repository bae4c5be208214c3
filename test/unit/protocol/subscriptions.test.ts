/**
 * Subscription batching and backpressure, over a fake connection whose buffered amount and
 * drain the test controls. Nothing sleeps: each test waits for the notification (or the
 * drain wait) it expects.
 */
import { describe, expect, it } from 'vitest';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { Session } from '../../../daemon/src/rpc/session';
import { HIGH_WATER_BYTES, Subscription, type SubscriptionOptions } from '../../../daemon/src/rpc/subscriptions';
import type { Connection } from '../../../daemon/src/rpc/transport';
import { nullLogger } from '../../../daemon/src/runtime/log';

interface Note {
  method: string;
  params: {
    subscription: string;
    items?: number[];
    dropped?: number;
    reason?: string;
    error?: { code: number; message: string };
  };
}

/** A connection whose write buffer is whatever the test says, and a sink recording notifications. */
function harness(opts: SubscriptionOptions = {}) {
  const notes: Note[] = [];
  const noteWaiters: { count: number; resolve: () => void }[] = [];
  let buffered = 0;
  let drained: (() => void) | undefined;
  let drainRequested: (() => void) | undefined;
  const forgotten: string[] = [];

  const connection: Connection = {
    label: 'fake',
    send: () => undefined,
    bufferedAmount: () => buffered,
    whenDrained: () =>
      new Promise<void>((resolve) => {
        drained = resolve;
        drainRequested?.();
      }),
    close: () => undefined,
  };
  const sub = new Subscription<number>(
    'log/message',
    {
      connection,
      notify: (method, params) => {
        notes.push({ method, params: params as Note['params'] });
        for (const w of [...noteWaiters]) {
          if (notes.length >= w.count) {
            noteWaiters.splice(noteWaiters.indexOf(w), 1);
            w.resolve();
          }
        }
      },
      forget: (id) => forgotten.push(id),
    },
    opts,
  );
  return {
    sub,
    notes,
    forgotten,
    items: () => notes.filter((n) => n.method === 'log/message').flatMap((n) => n.params.items ?? []),
    /** Resolves once at least `count` notifications were sent. */
    notifications: (count: number) =>
      notes.length >= count ? Promise.resolve() : new Promise<void>((resolve) => noteWaiters.push({ count, resolve })),
    setBuffered: (bytes: number) => (buffered = bytes),
    /** Resolves when the subscription starts waiting for the connection to drain. */
    drainWaitStarted: () => new Promise<void>((resolve) => (drainRequested = resolve)),
    drain: () => drained?.(),
  };
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe('Subscription batching', () => {
  it('sends many pushes as few notifications, in order, each carrying the subscription id', async () => {
    const h = harness({ maxBatch: 1000 });
    for (const i of range(2500)) expect(h.sub.push(i)).toBe(true);
    await h.notifications(3);
    expect(h.notes.map((n) => n.params.items!.length)).toEqual([1000, 1000, 500]);
    expect(h.items()).toEqual(range(2500));
    expect(h.notes.every((n) => n.method === 'log/message' && n.params.subscription === h.sub.id)).toBe(true);
    expect(h.notes.some((n) => 'dropped' in n.params)).toBe(false);
  });

  it('a later push after a flush starts a new batch', async () => {
    const h = harness();
    h.sub.push(1);
    h.sub.push(2);
    await h.notifications(1);
    h.sub.push(3);
    await h.notifications(2);
    expect(h.notes.map((n) => n.params.items)).toEqual([[1, 2], [3]]);
  });
});

describe('Subscription backpressure', () => {
  it('push returns false once maxQueued items wait; waitForDrain resolves after the flush', async () => {
    const h = harness({ maxQueued: 10 });
    const results = range(10).map((i) => h.sub.push(i));
    expect(results.slice(0, 9).every(Boolean)).toBe(true);
    expect(results[9]).toBe(false);
    let drainedBeforeFlush: boolean | undefined;
    let resolved = false;
    const waiting = h.sub.waitForDrain().then(() => (resolved = true));
    // Observe the state at the moment the batch goes out.
    const firstNote = h.notifications(1).then(() => (drainedBeforeFlush = resolved));
    await firstNote;
    await waiting;
    expect(drainedBeforeFlush).toBe(false);
    expect(resolved).toBe(true);
    expect(h.items()).toEqual(range(10));
  });

  it('waitForDrain resolves at once while the queue is short', async () => {
    const h = harness({ maxQueued: 10 });
    h.sub.push(1);
    await h.sub.waitForDrain();
    await h.notifications(1);
  });

  it('a producer that ignores the signal far past maxQueued gets the stream ended as failed', async () => {
    const h = harness({ maxQueued: 10 });
    const results = range(41).map((i) => h.sub.push(i));
    expect(results[40]).toBe(false);
    expect(h.sub.ended).toBe(true);
    expect(h.sub.push(99)).toBe(false);
    await h.sub.finished;
    const end = h.notes.at(-1)!;
    expect(end.method).toBe('subscription/end');
    expect(end.params).toMatchObject({ subscription: h.sub.id, reason: 'failed', error: { code: -32603 } });
    // What was queued before the end is still delivered, in order.
    expect(h.items()).toEqual(range(41));
  });

  it('lossy: drops the oldest past maxQueued, keeps pushing true and reports how many were dropped', async () => {
    const h = harness({ maxQueued: 5, lossy: true });
    for (const i of range(12)) expect(h.sub.push(i)).toBe(true);
    await h.notifications(1);
    expect(h.notes[0]!.params).toEqual({ subscription: h.sub.id, items: [7, 8, 9, 10, 11], dropped: 7 });
    h.sub.push(12);
    await h.notifications(2);
    expect(h.notes[1]!.params).toEqual({ subscription: h.sub.id, items: [12] });
  });

  it('holds batches while the connection buffers more than HIGH_WATER_BYTES and resumes when it drains', async () => {
    const h = harness({ maxBatch: 2 });
    h.setBuffered(HIGH_WATER_BYTES + 1);
    const waiting = h.drainWaitStarted();
    for (const i of range(5)) h.sub.push(i);
    await waiting;
    expect(h.notes).toHaveLength(0);

    // Still above the mark after the first drain: it waits again before the next batch.
    const waitingAgain = h.drainWaitStarted();
    h.drain();
    await h.notifications(1);
    await waitingAgain;
    expect(h.items()).toEqual([0, 1]);

    h.setBuffered(0);
    h.drain();
    await h.notifications(3);
    expect(h.items()).toEqual(range(5));
    expect(h.notes.map((n) => n.params.items)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('does not wait at exactly HIGH_WATER_BYTES', async () => {
    const h = harness();
    h.setBuffered(HIGH_WATER_BYTES);
    h.sub.push(1);
    await h.notifications(1);
    expect(h.items()).toEqual([1]);
  });
});

describe('Subscription end', () => {
  it('end delivers what is queued, then subscription/end once, and forgets the subscription', async () => {
    const h = harness();
    h.sub.push(1);
    h.sub.push(2);
    h.sub.end('cancelled');
    h.sub.end('completed'); // ending twice is harmless
    expect(h.sub.signal.aborted).toBe(true);
    await h.sub.finished;
    expect(h.notes).toEqual([
      { method: 'log/message', params: { subscription: h.sub.id, items: [1, 2] } },
      { method: 'subscription/end', params: { subscription: h.sub.id, reason: 'cancelled' } },
    ]);
    expect(h.forgotten).toEqual([h.sub.id]);
    expect(h.sub.push(3)).toBe(false);
  });

  it('end with an RpcError reports its code and message', async () => {
    const h = harness();
    h.sub.end('failed', new RpcError('DockerUnavailable', 'engine gone'));
    await h.sub.finished;
    expect(h.notes).toEqual([
      {
        method: 'subscription/end',
        params: { subscription: h.sub.id, reason: 'failed', error: { code: 1201, message: 'engine gone' } },
      },
    ]);
  });

  it('dispose (the connection is gone) drops the queue, sends nothing and releases waiting producers', async () => {
    const h = harness({ maxQueued: 2 });
    h.sub.push(1);
    h.sub.push(2);
    const producer = h.sub.waitForDrain();
    h.sub.dispose();
    await producer;
    await h.sub.finished;
    expect(h.sub.signal.aborted).toBe(true);
    expect(h.forgotten).toEqual([h.sub.id]);
    expect(h.notes).toEqual([]);
  });

  it('a session cancels its own subscriptions by id, refuses unknown ones, and disposes all on close', async () => {
    const sent: string[] = [];
    const connection: Connection = {
      label: 'fake',
      send: (text) => sent.push(text),
      bufferedAmount: () => 0,
      whenDrained: () => Promise.resolve(),
      close: () => undefined,
    };
    const session = new Session(connection, nullLogger);
    const a = session.subscribe('log/message');
    const b = session.subscribe('log/message');
    expect(session.subscriptionCount).toBe(2);
    expect(() => session.cancelSubscription('nope')).toThrow(
      expect.objectContaining({ errorName: 'SubscriptionNotFound', code: 1005 }),
    );
    session.cancelSubscription(a.id);
    await a.finished;
    expect(JSON.parse(sent.at(-1)!)).toEqual({
      jsonrpc: '2.0',
      method: 'subscription/end',
      params: { subscription: a.id, reason: 'cancelled' },
    });
    expect(session.subscriptionCount).toBe(1);
    session.close();
    expect(b.signal.aborted).toBe(true);
    expect(session.subscriptionCount).toBe(0);
    expect(() => session.subscribe('log/message')).toThrow(RpcError);
  });
});
