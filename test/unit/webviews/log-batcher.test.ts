/**
 * The extension-side batching of log lines for the Logs webview: interval, batch size, the
 * in-flight window with acks, pressure on the sources, and merge order across sources.
 */
import { describe, expect, it } from 'vitest';
import { LogBatcher, type BatchClock } from '../../../extension/src/panels/log-batcher';
import type { LogRecord } from '../../../schemas/src/docker-streams';
import type { LogsBatch } from '../../../schemas/src/webview';

/** A clock whose timers run when the test says. */
class ManualClock implements BatchClock {
  private timers = new Map<number, { fn: () => void; at: number }>();
  private nextId = 1;
  now = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { fn, at: this.now + ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.timers]) {
      if (t.at <= this.now && this.timers.delete(id)) t.fn();
    }
  }
}

const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString().replace('Z', '123456789Z').replace('.000', '.');
const rec = (line: string, s = 0, stream: 'stdout' | 'stderr' = 'stdout'): LogRecord => ({ stream, line, t: at(s) });

function setup(sources = 1, options: ConstructorParameters<typeof LogBatcher>[3] = {}) {
  const clock = new ManualClock();
  const sent: LogsBatch[] = [];
  const pressure: boolean[] = [];
  const batcher = new LogBatcher(sources, (b) => sent.push(b), (p) => pressure.push(p), { intervalMs: 50, ...options }, clock);
  const texts = () => sent.flatMap((b) => b.lines.map((l) => l.text));
  return { clock, sent, pressure, batcher, texts };
}

describe('LogBatcher', () => {
  it('sends lines in one batch per interval, not one message per line', () => {
    const { clock, sent, batcher, texts } = setup();
    for (let i = 0; i < 1000; i++) batcher.push(0, [rec(`l${i}`, i)]);
    expect(sent).toHaveLength(0);
    clock.advance(49);
    expect(sent).toHaveLength(0);
    clock.advance(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.lines).toHaveLength(1000);
    expect(texts()[999]).toBe('l999');
    expect(sent[0]!.lines[0]).toMatchObject({ src: 0, err: false, text: 'l0' });
    expect(sent[0]!.lines[0]!.ts).toBeCloseTo(Date.UTC(2025, 0, 1) + 123.456789, 2);
  });

  it('splits into batches of at most maxBatchLines and keeps at most maxInFlight unacknowledged', () => {
    const { clock, sent, batcher } = setup(1, { maxBatchLines: 100, maxInFlight: 2 });
    batcher.push(0, Array.from({ length: 450 }, (_, i) => rec(`l${i}`)));
    clock.advance(50);
    expect(sent.map((b) => b.lines.length)).toEqual([100, 100]);
    expect(batcher.unacknowledged).toBe(2);
    expect(clock.pending).toBe(0); // nothing scheduled while the window is full
    batcher.ack(sent[0]!.seq);
    clock.advance(50);
    expect(sent.map((b) => b.lines.length)).toEqual([100, 100, 100]);
    batcher.ack(sent[1]!.seq);
    batcher.ack(sent[2]!.seq);
    clock.advance(50);
    expect(sent.map((b) => b.lines.length)).toEqual([100, 100, 100, 100, 50]);
    expect(sent.map((b) => b.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(batcher.pending).toBe(0);
  });

  it('asks its sources to stop past high water and to go on below low water', () => {
    const { clock, sent, pressure, batcher } = setup(1, { maxBatchLines: 100, maxInFlight: 1, highWater: 250, lowWater: 100 });
    batcher.push(0, Array.from({ length: 200 }, () => rec('x')));
    expect(pressure).toEqual([]);
    batcher.push(0, Array.from({ length: 100 }, () => rec('x')));
    expect(pressure).toEqual([true]);
    expect(batcher.isThrottled).toBe(true);
    clock.advance(50); // 300 → 200 waiting, one in flight
    expect(pressure).toEqual([true]);
    batcher.ack(sent[0]!.seq);
    clock.advance(50); // 200 → 100
    batcher.ack(sent[1]!.seq);
    clock.advance(50); // 100 → 0
    expect(pressure).toEqual([true, false]);
    expect(batcher.isThrottled).toBe(false);
  });

  it('merges several sources by timestamp, each source in its own order', () => {
    const { clock, batcher, texts, sent } = setup(2);
    batcher.push(0, [rec('a1', 1), rec('a3', 3), rec('a5', 5)]);
    batcher.push(1, [rec('b2', 2), rec('b4', 4), rec('b6', 6, 'stderr')]);
    clock.advance(50);
    // b6 waits: source 0 might still send a line before it... no: a5 < b6 and source 0 has nothing
    // later waiting, so the watermark is 5 (source 0's latest) and b6 is held until the next flush.
    expect(texts()).toEqual(['a1', 'b2', 'a3', 'b4', 'a5']);
    batcher.ack(sent[0]!.seq);
    clock.advance(50);
    expect(texts()).toEqual(['a1', 'b2', 'a3', 'b4', 'a5', 'b6']);
    expect(sent[1]!.lines[0]).toMatchObject({ src: 1, err: true });
  });

  it('holds a line back while another source can still deliver an earlier one, then releases it', () => {
    const { clock, batcher, texts } = setup(2, { maxInFlight: 10 });
    batcher.push(1, [rec('b10', 10)]);
    batcher.push(0, [rec('a1', 1), rec('a2', 2)]);
    clock.advance(50);
    expect(texts()).toEqual(['a1', 'a2']);
    batcher.push(0, [rec('a11', 11)]);
    clock.advance(50);
    expect(texts()).toEqual(['a1', 'a2', 'b10']);
    clock.advance(50);
    expect(texts()).toEqual(['a1', 'a2', 'b10', 'a11']);
  });

  it('never stalls on a source whose timestamps go backwards', () => {
    const { clock, batcher, texts } = setup(2, { maxInFlight: 10 });
    batcher.push(0, [rec('a10', 10), rec('a5', 5)]);
    batcher.push(1, [rec('b7', 7)]);
    clock.advance(50);
    clock.advance(50);
    expect(texts().sort()).toEqual(['a10', 'a5', 'b7']);
    expect(texts().indexOf('a10')).toBeLessThan(texts().indexOf('a5'));
  });

  it('sends nothing after dispose', () => {
    const { clock, sent, batcher } = setup();
    batcher.push(0, [rec('x')]);
    batcher.dispose();
    clock.advance(100);
    batcher.push(0, [rec('y')]);
    clock.advance(100);
    expect(sent).toHaveLength(0);
  });
});
