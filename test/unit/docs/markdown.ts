/**
 * What the docs tests read in a Markdown file: its text without code (fenced blocks and inline
 * code spans), the rows of its tables keyed by their first cell, and its links.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '../../..');

export const readDoc = (relative: string): string => readFileSync(join(ROOT, relative), 'utf8');

/** The text outside fenced code blocks. */
export function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** The cells of each table row (header and separator rows included) outside code blocks. */
export function tableRows(markdown: string): string[][] {
  return withoutFences(markdown)
    .split('\n')
    .filter((line) => line.trimStart().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

/** The code spans of the first cell of each table row that starts with one: `a` → a. */
export function firstCellCodes(markdown: string): { code: string; row: string[] }[] {
  return tableRows(markdown).flatMap((row) => {
    const match = /^`([^`]+)`$/.exec(row[0] ?? '');
    return match ? [{ code: match[1]!, row }] : [];
  });
}

/** The targets of inline links and images (`[text](target "title")`), outside code. */
export function linkTargets(markdown: string): string[] {
  const text = withoutFences(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a document's headings (a repeated heading gets -1, -2… as on GitHub). */
export function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = headingAnchor(match[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}
