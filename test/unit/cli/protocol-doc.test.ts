/**
 * docs/protocol.md is written by hand around the protocol declaration; this keeps its tables
 * from drifting: every error code and name of schemas/src/errors.ts, and every subscription
 * method with its notification, must be in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorTable, methods } from '../../../schemas/src/index';
import type { MethodSpec } from '../../../schemas/src/core';

const doc = readFileSync(join(__dirname, '../../../docs/protocol.md'), 'utf8');

describe('docs/protocol.md', () => {
  it('lists every error code with its name and description', () => {
    for (const [name, e] of Object.entries(errorTable)) {
      expect(doc, name).toContain(`| ${e.code} | \`${name}\` | ${e.description} |`);
    }
  });

  it('lists every subscription method with its notification', () => {
    for (const [name, spec] of Object.entries(methods) as [string, MethodSpec][]) {
      if (spec.notification) expect(doc, name).toMatch(new RegExp(`\\| \`${name}\` \\| \`${spec.notification}\` \\|`));
    }
  });

  it('contains a recorded session', () => {
    const session = doc.slice(doc.indexOf('<!-- recorded-session:start -->'), doc.indexOf('<!-- recorded-session:end -->'));
    expect(session).toContain('→ {"jsonrpc":"2.0","id":1,"method":"system/info"}');
    expect(session).toMatch(/← \{"jsonrpc":"2\.0","id":\d+,"error":\{"code":-32800/);
    expect(session).toContain('Content-Length: ');
  });
});
