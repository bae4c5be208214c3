/**
 * How high the memory chart reaches. A container's limit is drawn as the top when the usage
 * could come near it (the limit is at most `LIMIT_IN_VIEW` × the peak seen); otherwise the
 * chart is scaled to the peak plus a quarter, so 12 MiB used under a 16 GiB limit (or no limit:
 * the engine then reports the host's memory) is a curve, not a flat line along the bottom.
 */

/** A limit above this multiple of the peak is left out of view. */
export const LIMIT_IN_VIEW = 4;
/** Room above the peak when the limit is out of view. */
export const PEAK_HEADROOM = 1.25;
/** Room above the limit, so its dashed line shows below the chart's top edge. */
export const LIMIT_HEADROOM = 1.05;
/** The smallest top: an idle or empty chart still has a scale. */
export const MIN_TOP = 1024 * 1024;

export interface MemoryAxis {
  /** The top of the y axis, in bytes (the bottom is 0). */
  readonly max: number;
  /** Whether the limit is in view (drawn as a line near the top). */
  readonly limitShown: boolean;
}

/** The axis for memory used and limits over the window shown (bytes; the largest limit counts). */
export function memoryAxis(used: readonly number[], limits: readonly number[]): MemoryAxis {
  const peak = largest(used);
  const limit = largest(limits);
  if (limit > 0 && peak > 0 && limit <= LIMIT_IN_VIEW * peak) return { max: limit * LIMIT_HEADROOM, limitShown: true };
  return { max: Math.max(MIN_TOP, peak * PEAK_HEADROOM), limitShown: false };
}

function largest(values: readonly number[]): number {
  let max = 0;
  for (const v of values) if (Number.isFinite(v) && v > max) max = v;
  return max;
}
