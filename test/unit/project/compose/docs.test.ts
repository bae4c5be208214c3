/** docs/compose.md lists every unsupported key with the verdict and reason the loader applies. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY_TABLES } from '../../../../daemon/src/project/compose/unsupported';

const doc = readFileSync(join(__dirname, '../../../../docs/compose.md'), 'utf8');

describe('docs/compose.md', () => {
  it('has a row for every refused or warned key, as unsupported.ts decides it', () => {
    const rows = KEY_TABLES.flatMap(({ at, table }) =>
      Object.entries(table).map(([key, v]) => `| \`${[...at, key].join('.')}\` | ${v.verdict === 'refuse' ? 'refused' : 'warned'} | ${v.why} |`),
    );
    const documented = doc.split('\n').filter((line) => / \| (refused|warned) \| /.test(line));
    expect(documented).toEqual(rows);
  });
});
