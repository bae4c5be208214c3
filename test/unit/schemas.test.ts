import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pkg from '../../package.json';
import { applicationErrors, errorTable, methods, notifications } from '../../schemas/src/index';
import { buildOpenRpcDocument } from '../../schemas/src/openrpc';

describe('the protocol declaration', () => {
  it('matches the committed schemas/openrpc.json (run `npm run schemas` after changing schemas/src)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '../../schemas/openrpc.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenRpcDocument(pkg.version))));
  });

  it('keeps application error codes unique and outside the JSON-RPC and LSP reserved ranges', () => {
    const codes = Object.values(applicationErrors).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code < -32768 || code > -32000).toBe(true);
    const all = Object.values(errorTable).map((e) => e.code);
    expect(new Set(all).size).toBe(all.length);
  });

  it('names methods namespace/verb, takes params as closed objects and documents each', () => {
    const unnamespaced = new Set(['initialize', 'shutdown', 'rpc.discover']);
    for (const [name, spec] of Object.entries(methods)) {
      if (!unnamespaced.has(name)) expect(name).toMatch(/^[a-z]+(\/[a-z][A-Za-z]*)+$/);
      expect(spec.params.type, name).toBe('object');
      expect(spec.params.additionalProperties, name).toBe(false);
      expect(spec.summary.length, name).toBeGreaterThan(10);
    }
  });

  it('declares the notification of every subscription method', () => {
    for (const [name, spec] of Object.entries(methods)) {
      if (!('notification' in spec) || !spec.notification) continue;
      expect(Object.keys(notifications), name).toContain(spec.notification);
    }
  });
});
