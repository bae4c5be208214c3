/** A chart legend's text: the value under the cursor, the newest value with the cursor away, never a dash. */
import { describe, expect, it } from 'vitest';
import { legendValue } from '../../../webviews/src/stats/legend';

const pct = (v: number) => `${v.toFixed(1)} %`;

describe('legendValue', () => {
  it('shows the value under the cursor', () => {
    expect(legendValue([1, 2, 3], 1, pct)).toBe('2.0 %');
  });

  it('shows the newest value when the cursor is away', () => {
    expect(legendValue([1, 2, 3], null, pct)).toBe('3.0 %');
    expect(legendValue([1, 2, null, undefined], undefined, pct)).toBe('2.0 %');
  });

  it('shows nothing, not a dash, without data', () => {
    expect(legendValue([], null, pct)).toBe('');
    expect(legendValue(undefined, null, pct)).toBe('');
    expect(legendValue([null], null, pct)).toBe('');
    expect(legendValue([1, null], 1, pct)).toBe('');
  });
});
