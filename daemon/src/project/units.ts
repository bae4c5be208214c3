/**
 * The units of branchbox.yaml: durations (`5s`, `2m`, `3d`: the one grammar of
 * `schemas/src/durations.ts`) and sizes (`256m`, `1g`, as Docker reads them: binary multiples;
 * the grammar is `SIZE_PATTERN` of `schemas/src/project.ts`). Both throw a plain Error naming
 * the text and the rule; the project loader turns it into a ConfigInvalid entry with the line.
 */
import { SIZE_PATTERN } from '../../../schemas/src/project';


export { formatDuration, parseDuration } from '../../../schemas/src/durations';

const SIZE = new RegExp(SIZE_PATTERN);

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
  const text = value.trim();
  const match = SIZE.exec(text);
  if (!match) throw new Error(`"${value}" is not a size: write a number and a unit, b, k, m, g or t (e.g. 256m, 1g)`);
  const unit = match[2] ?? '';
  const bytes = Math.round(Number(text.slice(0, text.length - unit.length)) * SIZE_MULTIPLIERS[unit.charAt(0).toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${value}" is too large a size`);
  return bytes;
}

/** CPUs (0.5) → Docker's NanoCpus (500000000). */
export function cpusToNano(cpus: number): number {
  if (!(cpus > 0) || !Number.isFinite(cpus))
    throw new Error(`${cpus} is not a number of CPUs: give a positive number such as 0.5`);
  return Math.max(1, Math.round(cpus * 1e9));
}
