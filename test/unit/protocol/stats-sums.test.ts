import { describe, expect, it } from 'vitest';
import { CARRY_SECONDS, SecondSums, sumBySecond, type SummablePoint } from '../../../schemas/src/stats-sums';
import { StatsState } from '../../../webviews/src/stats/state';
import { sumBySecond as daemonSum } from '../../../daemon/src/docker/streams/stats-history';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const point = (t: number, cpuPercent: number, memoryUsed = 100): SummablePoint => ({
  t,
  cpuPercent,
  memoryUsed,
  memoryLimit: 1000,
  netRxRate: 1,
  netTxRate: 2,
  blockReadRate: 3,
  blockWriteRate: 4,
});

describe('a sandbox sum, second by second', () => {
  it('places samples on the nearest second and sums every field', () => {
    const sum = sumBySecond([[point(T0 + 400, 10)], [point(T0 - 300, 5, 50)]]);
    expect(sum).toEqual([
      { t: T0, containers: 2, cpuPercent: 15, memoryUsed: 150, memoryLimit: 2000, netRxRate: 2, netTxRate: 4, blockReadRate: 6, blockWriteRate: 8 },
    ]);
  });

  it(`carries a late container's previous sample for at most ${CARRY_SECONDS} s`, () => {
    const a = [0, 1, 2, 3, 4, 5].map((s) => point(T0 + s * 1000, 10));
    const b = [point(T0, 1)]; // stops after its first sample
    const sums = sumBySecond([a, b]).map((p) => [p.t - T0, p.containers, p.cpuPercent]);
    expect(sums).toEqual([
      [0, 2, 11],
      [1000, 2, 11],
      [2000, 2, 11],
      [3000, 1, 10],
      [4000, 1, 10],
      [5000, 1, 10],
    ]);
  });

  it('ignores a sample older than the container\'s latest (out of order)', () => {
    const sums = new SecondSums();
    expect(sums.add('a', point(T0 + 2000, 20))).toBe(true);
    expect(sums.add('a', point(T0, 5))).toBe(false);
    expect(sums.sumAt(2).cpuPercent).toBe(0);
    expect(sums.sumAt(T0 / 1000 + 2).cpuPercent).toBe(20);
  });

  it('the daemon\'s history and the Stats panel\'s live samples give the same sums', () => {
    // Three containers whose ticks drift (not on whole seconds), one of them stopping and coming back.
    const series: SummablePoint[][] = [
      [0, 1010, 1990, 3020, 4000, 5010].map((d, i) => point(T0 + d, 10 + i)),
      [240, 1260, 2250].map((d, i) => point(T0 + d, 1 + i, 30)),
      [600, 5700].map((d, i) => point(T0 + d, 100 * (i + 1), 7)),
    ];
    const history = daemonSum(series);
    const panel = new StatsState(true);
    const live = series
      .flatMap((points, c) => points.map((p) => ({ ...p, id: `c${c}`, memoryPercent: 0, t: new Date(p.t).toISOString() })))
      .sort((x, y) => Date.parse(x.t) - Date.parse(y.t));
    panel.live(live);
    const drawn = panel.series.all().map((p) => [p.t, p.containers, p.cpuPercent, p.memoryUsed]);
    expect(drawn).toEqual(history.map((p) => [p.t, p.containers, p.cpuPercent, p.memoryUsed]));
    expect(drawn.length).toBeGreaterThan(4);
  });
});
