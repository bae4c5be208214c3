/**
 * Every relative link of the project's Markdown (README, ARCHITECTURE, docs/, the examples'
 * and the extension's READMEs) leads to a file or folder that exists, and its `#anchor` to a
 * heading (or an `<a id>`) of the document it names.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, headingAnchors, linkTargets, readDoc } from './markdown';

/** The Markdown files git tracks (so a draft outside the repository is not checked). */
const documents = execFileSync('git', ['ls-files', '*.md'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.startsWith('node_modules/') && existsSync(join(ROOT, f)));

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

function anchorsOf(file: string): Set<string> {
  const text = readDoc(file);
  const ids = [...text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)].map((m) => m[1]!);
  return new Set([...headingAnchors(text), ...ids]);
}

/** The broken links of one document, as `target: why`. */
function brokenLinks(file: string, text = readDoc(file)): string[] {
  return linkTargets(text).flatMap((target) => {
    if (isExternal(target)) return [];
    const [path = '', anchor] = target.split('#');
    const linked = path === '' ? file : relative(ROOT, join(ROOT, dirname(file), decodeURI(path)));
    if (linked.startsWith('..')) return [`${target}: leaves the repository`];
    if (!existsSync(join(ROOT, linked))) return [`${target}: no such file`];
    if (anchor === undefined) return [];
    if (!linked.endsWith('.md') || statSync(join(ROOT, linked)).isDirectory()) return [];
    return anchorsOf(linked).has(anchor) ? [] : [`${target}: no heading #${anchor} in ${linked}`];
  });
}

describe('relative links in the docs', () => {
  it('finds the documents and their links', () => {
    expect(documents).toEqual(expect.arrayContaining(['README.md', 'docs/branchbox-yaml.md', 'docs/state-and-docker-objects.md']));
    expect(linkTargets(readDoc('README.md'))).toContain('docs/branchbox-yaml.md');
  });

  it.each(documents)('%s links only to what exists', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it('reports a missing file, a missing heading and a way out of the repository', () => {
    const text = '[a](nope.md) [b](compose.md#no-such) [c](compose.md#compose-projects) [d](../../etc/passwd) [e](#limits)';
    expect(brokenLinks('docs/new.md', text)).toEqual([
      'nope.md: no such file',
      'compose.md#no-such: no heading #no-such in docs/compose.md',
      '../../etc/passwd: leaves the repository',
      '#limits: no such file',
    ]);
  });

  it('reads headings and links as GitHub does, code aside', () => {
    const anchors = headingAnchors('# Limits\n## The `x-branchbox` key\n## Limits\n```\n# not a heading\n```\n');
    expect([...anchors]).toEqual(['limits', 'the-x-branchbox-key', 'limits-1']);
    expect(linkTargets('[a](b.md) `[c](d.md)` ![e](f.png "t")\n```\n[g](h.md)\n```\n[i](https://x.example)')).toEqual([
      'b.md',
      'f.png',
      'https://x.example',
    ]);
  });
});
