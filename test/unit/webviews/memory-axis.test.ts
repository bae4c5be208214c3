/** How high the Stats panel's memory chart reaches: the limit when usage could come near it, else the peak plus a quarter. */
import { describe, expect, it } from 'vitest';
import { MIN_TOP, memoryAxis } from '../../../webviews/src/stats/memory-axis';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('memoryAxis', () => {
  it('scales a small service under a far limit (or the host memory) to its peak + 25 %', () => {
    expect(memoryAxis([10 * MiB, 12 * MiB, 11 * MiB], [16 * GiB, 16 * GiB, 16 * GiB])).toEqual({ max: 15 * MiB, limitShown: false });
    expect(memoryAxis([10 * MiB, 12 * MiB], [128 * MiB, 128 * MiB])).toEqual({ max: 15 * MiB, limitShown: false });
  });

  it('shows the limit (with a little room above it) when it is at most 4 × the peak', () => {
    expect(memoryAxis([20 * MiB, 32 * MiB], [128 * MiB, 128 * MiB])).toEqual({ max: 128 * MiB * 1.05, limitShown: true });
    expect(memoryAxis([100 * MiB], [128 * MiB])).toEqual({ max: 128 * MiB * 1.05, limitShown: true });
  });

  it('counts the largest limit of the window (a sandbox sum grows with its containers)', () => {
    expect(memoryAxis([60 * MiB, 70 * MiB], [128 * MiB, 256 * MiB])).toEqual({ max: 256 * MiB * 1.05, limitShown: true });
  });

  it('has a scale without data or without use', () => {
    expect(memoryAxis([], [])).toEqual({ max: MIN_TOP, limitShown: false });
    expect(memoryAxis([0, 0], [128 * MiB, 128 * MiB])).toEqual({ max: MIN_TOP, limitShown: false });
    expect(memoryAxis([100 * 1024], [0])).toEqual({ max: MIN_TOP, limitShown: false });
  });
});
