/**
 * The one grammar of durations, for branchbox.yaml, the protocol's params and the CLI's flags:
 * a whole number and one unit, ms, s, m, h, d or w (`250ms`, `5s`, `2m`, `3d`).
 */

export const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** The grammar as a JSON Schema pattern. */
export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d|w)$';

/** The rule in words, for error messages. */
export const DURATION_RULE = 'a whole number and a unit, ms, s, m, h, d or w (e.g. 5s, 2m, 3d)';

const DURATION = new RegExp(DURATION_PATTERN);

/** `5s` → 5000; throws an Error naming the text and the rule. Surrounding spaces are ignored. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const match = DURATION.exec(trimmed);
  if (!match) throw new Error(`"${text}" is not a duration: write ${DURATION_RULE}`);
  const ms = Number(trimmed.slice(0, -match[1]!.length)) * DURATION_UNITS_MS[match[1]!]!;
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
