/**
 * `.dockerignore` as the docker CLI applies it to the build context, and the context Branchbox
 * packs with it (the Dockerfile and `.dockerignore` always sent, excluded files never).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { extract } from 'tar-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { packContext } from '../../../daemon/src/deploy/build-context';
import { dockerignoreMatcher } from '../../../daemon/src/deploy/dockerignore';

describe('dockerignore patterns', () => {
  const cases: [string, string, boolean][] = [
    ['node_modules', 'node_modules/x/index.js', true],
    ['node_modules', 'src/node_modules/x.js', false],
    ['**/node_modules', 'src/node_modules/x.js', true],
    ['*.log', 'debug.log', true],
    ['*.log', 'logs/debug.log', false],
    ['**/*.log', 'logs/debug.log', true],
    ['/secret.txt', 'secret.txt', true],
    ['./build/../dist', 'dist/app.js', true],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file12.txt', false],
    ['[ab].txt', 'b.txt', true],
    ['# a comment', '# a comment', false],
  ];
  it.each(cases)('%s excludes %s: %s', (pattern, path, excluded) => {
    expect(dockerignoreMatcher(pattern)(path)).toBe(excluded);
  });

  it('re-includes with !, the last matching line winning', () => {
    const excluded = dockerignoreMatcher('docs\n!docs/keep.md\n*.md\n!README.md\n');
    expect(excluded('docs/a.txt')).toBe(true);
    expect(excluded('docs/keep.md')).toBe(false); // re-included; `*.md` does not reach into folders
    expect(excluded('CHANGES.md')).toBe(true);
    expect(excluded('README.md')).toBe(false);
    expect(dockerignoreMatcher('docs\n!docs/keep.md\n**/*.md\n')('docs/keep.md')).toBe(true);
  });
});

describe('the packed build context', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-ctx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  async function entries(): Promise<string[]> {
    const out = mkdtempSync(join(tmpdir(), 'bb-ctx-out-'));
    try {
      await new Promise<void>((resolve, reject) => {
        const sink = extract(out);
        sink.on('finish', () => resolve());
        sink.on('error', reject);
        const ignore = readFileSync(join(dir, '.dockerignore'), 'utf8');
        packContext({ contextDir: dir, dockerfile: 'FROM scratch\nLABEL "branchbox.managed"="true"\n', ignore }).pipe(sink);
      });
      return (readdirSync(out, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath ?? e.path, e.name).slice(out.length + 1))
        .sort();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }

  it('leaves out what .dockerignore excludes (the original Dockerfile too), keeps the one built and .dockerignore', async () => {
    write('Dockerfile', 'FROM scratch\n');
    write('.dockerignore', 'secrets\n*.log\nnode_modules\n!node_modules/keep.js\nDockerfile\n');
    write('app.js', 'x');
    write('debug.log', 'x');
    write('secrets/key.pem', 'x');
    write('node_modules/dep/index.js', 'x');
    write('node_modules/keep.js', 'x');
    expect(await entries()).toEqual(['.branchbox.Dockerfile', '.dockerignore', 'app.js', 'node_modules/keep.js']);
  });
});
