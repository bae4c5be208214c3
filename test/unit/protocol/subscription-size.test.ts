/**
 * A subscription's notifications stay small whatever its items: a batch of long log lines
 * (up to 256 KiB each) once made one notification of hundreds of megabytes, past the 4 MiB a
 * client accepts — the CLI's connection closed on it.
 */
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_BYTES, Subscription } from '../../../daemon/src/rpc/subscriptions';
import type { Connection } from '../../../daemon/src/rpc/transport';

function subscription() {
  const batches: string[][] = [];
  const connection: Connection = {
    label: 'fake',
    send: () => undefined,
    bufferedAmount: () => 0,
    whenDrained: () => Promise.resolve(),
    close: () => undefined,
  };
  let ended: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (ended = resolve));
  const sub = new Subscription<string>(
    'log/message',
    {
      connection,
      notify: (method, params) => {
        if (method === 'subscription/end') ended();
        else batches.push((params as { items: string[] }).items);
      },
      forget: () => undefined,
    },
    { maxQueued: 10_000 },
  );
  return { sub, batches, done };
}

describe('subscription batches by size', () => {
  it('splits long items into notifications of at most MAX_BATCH_BYTES of items, in order, none lost', async () => {
    const { sub, batches, done } = subscription();
    const lines = Array.from({ length: 300 }, (_, i) => `${i}:${'x'.repeat(32 * 1024)}`);
    for (const line of lines) sub.push(line);
    sub.end('completed');
    await done;
    expect(batches.flat()).toEqual(lines);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThanOrEqual(MAX_BATCH_BYTES + 2 * batch.length);
  });

  it('sends an item larger than the budget alone, and small items up to maxBatch together', async () => {
    const { sub, batches, done } = subscription();
    sub.push('y'.repeat(MAX_BATCH_BYTES + 10));
    for (let i = 0; i < 1500; i++) sub.push(`small ${i}`);
    sub.end('completed');
    await done;
    expect(batches.map((b) => b.length)).toEqual([1, 1000, 500]);
  });
});
