/**
 * docs/state-and-docker-objects.md names every entry of the state directory and every label
 * Branchbox reads or writes on Docker objects, as the code names them; and the code names them
 * in one place each (STATE_FILES, LABELS), which the source scans below keep true.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploymentContainerName, networkName, serviceAliases, servingContainerName, volumeName } from '../../../schemas/src/docker-names';
import { STATE_FILES } from '../../../schemas/node/state-files';
import { LABELS } from '../../../daemon/src/docker/labels';
import { imageTag } from '../../../daemon/src/deploy/build-stage';
import { DEFAULT_KEEP_LOG_FILES, LOG_FILE_NAME } from '../../../daemon/src/runtime/log';
import { ROOT, firstCellCodes, readDoc } from './markdown';

const DOC = 'docs/state-and-docker-objects.md';
const doc = readDoc(DOC);
const entries = firstCellCodes(doc).map((r) => r.code);

function sources(...dirs: string[]): { file: string; text: string }[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return walk(path);
      return path.endsWith('.ts') ? [path] : [];
    });
  return dirs.flatMap((d) => walk(join(ROOT, d))).map((file) => ({ file: relative(ROOT, file), text: readFileSync(file, 'utf8') }));
}
const code = sources('daemon/src', 'extension/src', 'schemas/node', 'schemas/src');

describe(DOC, () => {
  it.each(Object.values(STATE_FILES))('describes the state directory entry %s', (name) => {
    expect(entries.filter((e) => e === name || e === `${name}/`)).toHaveLength(1);
  });

  it('names the files beside them: SQLite WAL, rotated logs', () => {
    for (const file of [`${STATE_FILES.database}-wal`, `${STATE_FILES.database}-shm`, `${LOG_FILE_NAME}.1`, `${LOG_FILE_NAME}.${DEFAULT_KEEP_LOG_FILES}`]) {
      expect(doc).toContain(`\`${file}\``);
    }
  });

  it.each(Object.values(LABELS))('describes the label %s', (label) => {
    expect(entries).toContain(label);
  });

  it('gives the Docker names as the code makes them', () => {
    const names = [
      networkName('{sandbox}'),
      servingContainerName('{sandbox}', '{service}'),
      deploymentContainerName('{sandbox}', '{service}', '{8 hex}'),
      volumeName('{sandbox}', '{volume}'),
      ...serviceAliases('{sandbox}', '{service}'),
      imageTag('shop', 'account', '0123456789abcdef0123', null),
    ];
    for (const name of names) expect(doc).toContain(`\`${name}\``);
  });

  it('every state directory entry the code opens is one of STATE_FILES', () => {
    // A name joined to the state directory as a literal would escape the list (and the doc).
    const literal = /(?:join|resolve)\([^)]*stateDir[^)]*?,\s*['"`]([^'"`$]+)['"`]/g;
    const found = code.flatMap(({ file, text }) => [...text.matchAll(literal)].map((m) => `${file}: ${m[1]}`));
    expect(found).toEqual([]);
  });

  it('the scan above finds a literal name', () => {
    const literal = /(?:join|resolve)\([^)]*stateDir[^)]*?,\s*['"`]([^'"`$]+)['"`]/g;
    expect([...`const f = join(opts.stateDir, 'cache.db');`.matchAll(literal)].map((m) => m[1])).toEqual(['cache.db']);
  });

  it('every branchbox.* label key the daemon writes is one of LABELS', () => {
    // File names, WebSocket subprotocols and view ids share the prefix; they are not labels.
    const notLabels = new Set(['branchbox.yaml', 'branchbox.yml', 'branchbox.schema.json', 'branchbox.v1', 'branchbox.token.']);
    const known = new Set<string>(Object.values(LABELS));
    const keys = code
      .filter(({ file }) => file.startsWith('daemon/src/'))
      .flatMap(({ file, text }) => [...text.matchAll(/['"`](branchbox\.[a-z][a-z0-9._-]*)['"`]/g)].map((m) => ({ file, key: m[1]! })))
      .filter(({ key }) => !notLabels.has(key) && !known.has(key));
    expect(keys).toEqual([]);
  });
});
