/**
 * Command-line options of the benchmarks, parsed one way for all of them:
 *
 *   node --import tsx bench/rpc.bench.ts [--quick] [--rounds 3] [--sequential=1000]
 *
 * Each bench declares its numeric options with a full-run default and a `--quick` value
 * (small enough for the whole bench to run in under 30 s), and its on/off flags. An option
 * given on the command line wins over both. Anything else — an unknown option, a bare word,
 * a value that is not a positive number — is an error naming the options the bench knows,
 * so a flag meant for another bench (scripts/bench.sh passes its flags to every one) is
 * never taken silently for something else.
 */

export interface OptionSpec {
  /** The value of a full run. */
  readonly full: number;
  /** The value under `--quick`. */
  readonly quick: number;
  readonly help: string;
}

export interface BenchArgs<O extends string, F extends string> {
  readonly quick: boolean;
  readonly options: Readonly<Record<O, number>>;
  readonly flags: ReadonlySet<F>;
}

export class UsageError extends Error {}

export function parseArgs<O extends string, F extends string = never>(
  argv: readonly string[],
  spec: { readonly options: Readonly<Record<O, OptionSpec>>; readonly flags?: Readonly<Record<F, string>> },
): BenchArgs<O, F> {
  const names = Object.keys(spec.options) as O[];
  const flagNames = Object.keys(spec.flags ?? {}) as F[];
  const given = new Map<O, number>();
  const flags = new Set<F>();
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unexpected argument "${arg}"\n${usage(spec)}`);
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    if (name === 'quick' && inline === undefined) {
      quick = true;
    } else if ((flagNames as string[]).includes(name) && inline === undefined) {
      flags.add(name as F);
    } else if ((names as string[]).includes(name)) {
      const text = inline ?? argv[++i];
      const value = Number(text);
      if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value <= 0)
        throw new UsageError(`--${name} needs a positive number, got ${text === undefined ? 'nothing' : `"${text}"`}`);
      given.set(name as O, value);
    } else {
      throw new UsageError(`unknown option "${arg}"\n${usage(spec)}`);
    }
  }
  const options = {} as Record<O, number>;
  for (const name of names)
    options[name] = given.get(name) ?? (quick ? spec.options[name].quick : spec.options[name].full);
  return { quick, options, flags };
}

/** The options a bench knows, one a line, with their full and quick values. */
export function usage(spec: {
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly flags?: Readonly<Record<string, string>>;
}): string {
  const lines = ['options:', '  --quick  a short run (under 30 s) with the smaller values below'];
  for (const [name, o] of Object.entries(spec.options))
    lines.push(`  --${name} N  ${o.help} (${o.full}; --quick ${o.quick})`);
  for (const [name, help] of Object.entries(spec.flags ?? {})) lines.push(`  --${name}  ${help}`);
  return lines.join('\n');
}
