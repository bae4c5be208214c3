/**
 * `.dockerignore` as the docker CLI applies it when it sends a build context: the engine
 * itself only drops the Dockerfile and `.dockerignore` when they are listed, so the client
 * must leave the other excluded files out of the context it sends.
 *
 * Rules: one pattern per line, `#` comments, blank lines ignored; paths relative to the
 * context, cleaned, leading `/` ignored; `*` any characters but `/`, `?` one such character,
 * `[...]` a class, `**` any number of folders; a folder that matches excludes everything in
 * it; `!pattern` includes again; the last matching line wins.
 */

interface Rule {
  readonly negate: boolean;
  readonly regex: RegExp;
}

/** The exclusion test of a `.dockerignore` text: true when `relPath` (with `/`) is left out of the context. */
export function dockerignoreMatcher(text: string): (relPath: string) => boolean {
  const rules = parse(text);
  if (rules.length === 0) return () => false;
  return (relPath) => {
    const path = relPath.split('/').filter((p) => p && p !== '.').join('/');
    let excluded = false;
    for (const rule of rules) if (matchesSelfOrParent(rule.regex, path)) excluded = !rule.negate;
    return excluded;
  };
}

/** Whether any line re-includes something (then excluded folders must still be walked). */
export function hasExceptions(text: string): boolean {
  return parse(text).some((r) => r.negate);
}

function parse(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    const cleaned = clean(line);
    if (!cleaned) continue;
    rules.push({ negate, regex: new RegExp(`^${toRegex(cleaned)}$`) });
  }
  return rules;
}

/** Like Go's filepath.Clean for a relative pattern: no leading `/`, no `.` or empty parts, `..` resolved. */
function clean(pattern: string): string {
  const parts: string[] = [];
  for (const part of pattern.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function toRegex(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` any folders (or none); `**` at the end anything.
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        out += '\\[';
      } else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      out += escape(pattern[++i]!);
    } else {
      out += escape(c);
    }
  }
  return out;
}

const escape = (c: string) => c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');

/** A pattern excludes a path when it matches the path or one of its parent folders. */
function matchesSelfOrParent(regex: RegExp, path: string): boolean {
  if (regex.test(path)) return true;
  const parts = path.split('/');
  for (let n = parts.length - 1; n > 0; n--) if (regex.test(parts.slice(0, n).join('/'))) return true;
  return false;
}
