/**
 * The one rule for a sandbox's stats, summed over its containers second by second, used by the
 * daemon (the history it answers) and the Stats panel (the live samples it draws): each
 * container's sample is placed on the nearest whole second; a second where a container has no
 * sample (the engine's ticks drift) counts its previous one if at most `CARRY_SECONDS` old.
 */

/** How long a container's last sample still counts in a sum when its next one is late. */
export const CARRY_SECONDS = 2;

/** What is summed of one container's sample; `t` in ms since the epoch. */
export interface SummablePoint {
  readonly t: number;
  readonly cpuPercent: number;
  readonly memoryUsed: number;
  readonly memoryLimit: number;
  readonly netRxRate: number;
  readonly netTxRate: number;
  readonly blockReadRate: number;
  readonly blockWriteRate: number;
}

/** A sum of several containers' samples at one whole second (`t` = that second in ms). */
export interface SummedPoint extends SummablePoint {
  /** How many containers contributed. */
  readonly containers: number;
}

/** The whole second a sample at `t` ms counts for. */
export const secondOf = (t: number): number => Math.round(t / 1000);

/** Each container's latest sample, summed at a second on demand: the incremental form of the rule. */
export class SecondSums {
  private readonly latest = new Map<string, { second: number; point: SummablePoint }>();

  /** Records a container's sample; false (ignored) when the container already has a newer one. */
  add(container: string, point: SummablePoint): boolean {
    const second = secondOf(point.t);
    const previous = this.latest.get(container);
    if (previous && previous.second > second) return false;
    this.latest.set(container, { second, point });
    return true;
  }

  /** Forgets every container. */
  clear(): void {
    this.latest.clear();
  }

  /** The sum at `second` of each container's latest sample at or before it, within the carry. */
  sumAt(second: number): SummedPoint {
    const sum = { t: second * 1000, cpuPercent: 0, memoryUsed: 0, memoryLimit: 0, netRxRate: 0, netTxRate: 0, blockReadRate: 0, blockWriteRate: 0, containers: 0 };
    for (const [container, { second: at, point }] of this.latest) {
      if (second - at > CARRY_SECONDS) {
        this.latest.delete(container); // too old to count from now on (it stopped, or left the sandbox)
        continue;
      }
      if (at > second) continue;
      sum.containers++;
      sum.cpuPercent += point.cpuPercent;
      sum.memoryUsed += point.memoryUsed;
      sum.memoryLimit += point.memoryLimit;
      sum.netRxRate += point.netRxRate;
      sum.netTxRate += point.netTxRate;
      sum.blockReadRate += point.blockReadRate;
      sum.blockWriteRate += point.blockWriteRate;
    }
    return sum;
  }
}

/** Sums several containers' series (each oldest first) second by second: every second any has a sample. */
export function sumBySecond(series: readonly (readonly SummablePoint[])[]): SummedPoint[] {
  const bySecond = series.map((points) => {
    const m = new Map<number, SummablePoint>();
    for (const p of points) m.set(secondOf(p.t), p);
    return m;
  });
  const seconds = [...new Set(bySecond.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const sums = new SecondSums();
  const out: SummedPoint[] = [];
  for (const second of seconds) {
    bySecond.forEach((m, i) => {
      const exact = m.get(second);
      if (exact) sums.add(String(i), exact);
    });
    const sum = sums.sumAt(second);
    if (sum.containers > 0) out.push(sum);
  }
  return out;
}
