/**
 * The `.env` / `env_file` format as docker compose reads it: `KEY=value` lines, `export `
 * allowed before the key, `#` comments (whole lines, or after a space outside quotes), single
 * quotes literal, double quotes with \n, \t, \" and \\ escapes, a line `KEY` alone taking the
 * value from the lookup. Values outside single quotes are interpolated with the variables
 * known so far (`interpolate.ts`). Each problem names its line.
 */
import { ENV_KEY_PATTERN } from '../../../../schemas/src/project';
import { interpolateString, type Lookup } from './interpolate';

export interface EnvFileProblem {
  readonly line: number;
  readonly message: string;
}

const KEY = new RegExp(ENV_KEY_PATTERN);

/**
 * Parses `text`; `outer` answers variables the file does not set (for `${VAR}` in values and
 * for lines naming only a key). Answers the variables in order and the problems.
 */
export function parseEnvFile(text: string, outer: Lookup): { vars: Map<string, string>; problems: EnvFileProblem[] } {
  const vars = new Map<string, string>();
  const problems: EnvFileProblem[] = [];
  const lookup: Lookup = (name) => vars.get(name) ?? outer(name);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const body = raw.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    const key = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!KEY.test(key)) {
      problems.push({ line: lineNo, message: `"${key}" is not a variable name: letters, digits and "_", not starting with a digit` });
      continue;
    }
    if (eq < 0) {
      const value = outer(key);
      if (value !== undefined) vars.set(key, value);
      continue;
    }
    let rest = body.slice(eq + 1).trimStart();
    let value: string;
    let literal = false;
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may span lines up to its closing quote; each line is scanned once, on its own.
      const parts = [rest];
      let offset = 0;
      let scan = closingQuote(rest, quote, 1);
      while (scan.end < 0 && i + 1 < lines.length) {
        const last = parts[parts.length - 1]!;
        offset += last.length;
        const part = '\n' + lines[++i]!;
        parts.push(part);
        scan = closingQuote(part, quote, scan.next - last.length);
      }
      const end = scan.end < 0 ? -1 : offset + scan.end;
      rest = parts.join('');
      if (end < 0) {
        problems.push({ line: lineNo, message: `the value of ${key} has no closing ${quote}` });
        continue;
      }
      const inner = rest.slice(1, end);
      literal = quote === "'";
      value = literal ? inner : unescapeDouble(inner);
    } else {
      value = rest.replace(/\s+#.*$/, '').trimEnd();
    }
    if (!literal) {
      try {
        value = interpolateString(value, lookup).value;
      } catch (e) {
        problems.push({ line: lineNo, message: (e as Error).message });
        continue;
      }
    }
    vars.set(key, value);
  }
  return { vars, problems };
}

/**
 * The index in `text` of the quote closing a quoted value, scanning from `from`; when there is
 * none, `next` is where the scan would go on (`text.length`, or one past it after an escape cut
 * at the end: the next text's first character is escaped).
 */
function closingQuote(text: string, quote: string, from: number): { end: number; next: number } {
  let i = from;
  for (; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return { end: i, next: i + 1 };
  }
  return { end: -1, next: i };
}

function unescapeDouble(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}
