/** bench/lib/stats.ts: the median round and the spread over rounds. */
import { describe, expect, it } from 'vitest';
import { formatRate, formatSpread, medianRound, spread } from '../../../bench/lib/stats';

const rounds = [
  { rps: 900, p50: 0.2, p99: 3 },
  { rps: 1200, p50: 0.1, p99: 9 },
  { rps: 1000, p50: 0.3, p99: 1 },
];

describe('medianRound', () => {
  it('answers the one round in the middle by the key, with its own figures together', () => {
    expect(medianRound(rounds, (r) => r.rps)).toBe(rounds[2]);
  });

  it('answers the lower of the two middle rounds for an even number', () => {
    expect(medianRound([...rounds, { rps: 1100, p50: 0, p99: 0 }], (r) => r.rps)).toBe(rounds[2]);
    expect(medianRound(rounds.slice(0, 2), (r) => r.rps)).toBe(rounds[0]);
  });

  it('does not reorder the rounds given', () => {
    const copy = [...rounds];
    medianRound(rounds, (r) => r.p99);
    expect(rounds).toEqual(copy);
  });

  it('throws for no rounds', () => {
    expect(() => medianRound([], () => 0)).toThrow(/no rounds/);
  });
});

describe('spread', () => {
  it('answers the lowest and highest value', () => {
    expect(spread(rounds.map((r) => r.rps))).toEqual({ min: 900, max: 1200 });
    expect(spread([])).toEqual({ min: NaN, max: NaN });
  });

  it('formats both ends', () => {
    expect(formatSpread([21004, 23412, 22000], formatRate)).toBe('21 004/s–23 412/s');
  });
});
