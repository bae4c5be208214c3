/**
 * The units of branchbox.yaml: durations (`5s`, `2m`, `3d`) and sizes (`256m`, `1g`, as Docker
 * reads them: binary multiples). Both throw a plain Error naming the text and the rule; the
 * project loader turns it into a ConfigInvalid entry with the line.
 */

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `5s` → 5000. A whole number and one unit: ms, s, m, h, d or w. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match)
    throw new Error(
      `"${text}" is not a duration: write a whole number and a unit, ms, s, m, h, d or w (e.g. 5s, 2m, 3d)`,
    );
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  if (!Number.isSafeInteger(ms)) throw new Error(`"${text}" is too long a duration`);
  return ms;
}

/** 90000 → `90s`, 172800000 → `2d`: the largest unit that divides exactly. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const SIZE_MULTIPLIERS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * `256m` → 268435456. A number (decimals allowed) and an optional unit b, k, m, g, t, with an
 * optional `b`/`ib` after the letter (`256mb`, `1GiB`); all binary, as `docker run --memory`.
 * A plain number is bytes.
 */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`${value} is not a size: give a whole number of bytes`);
    return value;
  }
  const match = /^(\d+(?:\.\d+)?)(b|[kmgt](?:i?b)?)?$/i.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a size: write a number and a unit, b, k, m, g or t (e.g. 256m, 1g)`);
  const bytes = Math.round(Number(match[1]) * SIZE_MULTIPLIERS[(match[2] ?? '').charAt(0).toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${value}" is too large a size`);
  return bytes;
}

/** CPUs (0.5) → Docker's NanoCpus (500000000). */
export function cpusToNano(cpus: number): number {
  if (!(cpus > 0) || !Number.isFinite(cpus))
    throw new Error(`${cpus} is not a number of CPUs: give a positive number such as 0.5`);
  return Math.max(1, Math.round(cpus * 1e9));
}
