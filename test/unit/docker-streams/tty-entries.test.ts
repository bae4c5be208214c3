/**
 * TtyEntryJoiner: a TTY container's stamped log with the engine's mid-line timestamps (one per
 * 16 KiB entry of a long line) taken out, whatever the chunking.
 */
import { describe, expect, it } from 'vitest';
import { ENGINE_ENTRY_BYTES, TtyEntryJoiner } from '../../../daemon/src/docker/streams/tty-entries';

const T1 = '2025-01-01T00:00:00.000000001Z';
const T2 = '2025-01-01T00:00:00.000000002Z';
const T3 = '2025-01-01T00:00:00.000000003Z';

function run(input: Buffer, cuts: readonly number[]): string {
  const joiner = new TtyEntryJoiner();
  const points = [0, ...cuts, input.length];
  const out = points.slice(1).map((end, i) => joiner.push(input.subarray(points[i]!, end)));
  return Buffer.concat([...out, joiner.end()]).toString('latin1');
}

describe('TtyEntryJoiner', () => {
  const long = 'x'.repeat(ENGINE_ENTRY_BYTES - 4);
  // A line of 16 KiB + 20 bytes: stored as two entries, the second stamped again.
  const raw = Buffer.from(`${T1} short\r\n${T2} ${long}ABCD${T3} EFGHIJKLMNOP tail\r\n${T3} next\r\n`, 'latin1');
  const joined = `${T1} short\r\n${T2} ${long}ABCDEFGHIJKLMNOP tail\r\n${T3} next\r\n`;

  it('drops the timestamp of an entry that continues a line, at any chunking', () => {
    expect(run(raw, [])).toBe(joined);
    for (const cut of [1, 20, 31, 40, 50, ENGINE_ENTRY_BYTES + 40, ENGINE_ENTRY_BYTES + 50, ENGINE_ENTRY_BYTES + 60, raw.length - 3]) {
      for (const second of [cut, cut + 1, cut + 17, raw.length]) {
        expect(run(raw, [cut, Math.min(second, raw.length)]), `cuts ${cut}, ${second}`).toBe(joined);
      }
    }
    const bytes = [...raw.keys()].filter((i) => i > 0);
    expect(run(raw, bytes)).toBe(joined); // one byte at a time
  });

  it('keeps a line of exactly one entry followed by its newline in the next entry', () => {
    const full = 'y'.repeat(ENGINE_ENTRY_BYTES);
    expect(run(Buffer.from(`${T1} ${full}${T2} \n${T3} z\n`, 'latin1'), [])).toBe(`${T1} ${full}\n${T3} z\n`);
  });

  it('passes a stream that is not stamped through untouched', () => {
    const text = 'no timestamps here\n'.repeat(5);
    expect(run(Buffer.from(text), [3, 40])).toBe(text);
  });
});
