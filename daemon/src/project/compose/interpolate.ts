/**
 * Variable interpolation of compose files, as docker compose does it on every string value
 * before anything else: `$$` is a literal `$`; `$VAR` and `${VAR}` the value (empty when unset,
 * reported as a warning); `${VAR:-default}` / `${VAR-default}` a default when unset or empty /
 * unset; `${VAR:?message}` / `${VAR?message}` an error when unset or empty / unset;
 * `${VAR:+other}` / `${VAR+other}` `other` when set and not empty / set. Defaults, messages
 * and replacements are interpolated in turn (`${A:-${B}}`).
 */

/** The value of a variable, undefined when unset. */
export type Lookup = (name: string) => string | undefined;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export interface Interpolated {
  readonly value: string;
  /** Variables used without a default that are not set (each replaced by an empty string). */
  readonly unset: readonly string[];
}

/**
 * Interpolates one string.
 * @throws Error with a plain message: a required variable that is missing, a malformed `${`.
 */
export function interpolateString(text: string, lookup: Lookup): Interpolated {
  const unset: string[] = [];
  const value = expand(text, lookup, unset);
  return { value, unset };
}

function expand(text: string, lookup: Lookup, unset: string[]): string {
  if (!text.includes('$')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new Error(`"${text}" has a "\${" without its closing "}"`);
      out += substitute(text.slice(i + 2, end), lookup, unset);
      i = end;
    } else if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1;
      while (j < text.length && NAME_CHAR.test(text[j]!)) j++;
      const name = text.slice(i + 1, j);
      const found = lookup(name);
      if (found === undefined) unset.push(name);
      out += found ?? '';
      i = j - 1;
    } else {
      out += c; // a lone "$" stays, as compose keeps it
    }
  }
  return out;
}

/** The index of the "}" closing a "${" whose body starts at `from`, nested ones skipped. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') i++;
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function substitute(body: string, lookup: Lookup, unset: string[]): string {
  let n = 0;
  while (n < body.length && (n === 0 ? NAME_START : NAME_CHAR).test(body[n]!)) n++;
  const name = body.slice(0, n);
  if (!name) throw new Error(`"\${${body}}" does not start with a variable name`);
  const rest = body.slice(n);
  const value = lookup(name);
  if (rest === '') {
    if (value === undefined) unset.push(name);
    return value ?? '';
  }
  const colon = rest.startsWith(':');
  const op = rest[colon ? 1 : 0];
  const arg = rest.slice(colon ? 2 : 1);
  const missing = colon ? value === undefined || value === '' : value === undefined;
  switch (op) {
    case '-':
      return missing ? expand(arg, lookup, unset) : value!;
    case '?':
      if (missing) {
        const reason = expand(arg, lookup, unset);
        throw new Error(`required variable ${name} is ${value === undefined ? 'not set' : 'empty'}${reason ? `: ${reason}` : ''}`);
      }
      return value!;
    case '+':
      return missing ? '' : expand(arg, lookup, unset);
    default:
      throw new Error(`"\${${body}}" is not a substitution compose knows (\${VAR}, \${VAR:-default}, \${VAR:?error}, \${VAR:+other})`);
  }
}

/** A problem of interpolation at a path of the document. */
export interface InterpolationProblem {
  readonly path: readonly string[];
  readonly message: string;
  readonly warning: boolean;
}

/**
 * Interpolates every string value of a parsed document (keys are left as they are; `x-`
 * extension keys at the top level are skipped, as compose does not read them as config).
 */
export function interpolateTree(data: unknown, lookup: Lookup): { data: unknown; problems: InterpolationProblem[] } {
  const problems: InterpolationProblem[] = [];
  const walk = (value: unknown, at: string[]): unknown => {
    if (typeof value === 'string') {
      try {
        const result = interpolateString(value, lookup);
        for (const name of new Set(result.unset)) {
          problems.push({ path: at, message: `variable ${name} is not set: an empty string is used`, warning: true });
        }
        return result.value;
      } catch (e) {
        problems.push({ path: at, message: (e as Error).message, warning: false });
        return value;
      }
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...at, String(i)]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, at.length === 0 && k.startsWith('x-') && k !== 'x-branchbox' ? v : walk(v, [...at, k])]),
      );
    }
    return value;
  };
  return { data: walk(data, []), problems };
}
