import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildProjectFileSchema } from '../../../schemas/src/project';

const committed = JSON.parse(readFileSync(join(__dirname, '../../../schemas/branchbox.schema.json'), 'utf8')) as Record<
  string,
  unknown
>;

describe('schemas/branchbox.schema.json', () => {
  it('matches the declaration (run `npm run schemas` after changing schemas/src/project.ts)', () => {
    expect(committed).toEqual(buildProjectFileSchema());
  });

  it('is a plain draft-07 schema that accepts the example project and rejects a broken one', () => {
    const validate = new Ajv({ strict: false }).compile(committed);
    const example = parse(readFileSync(join(__dirname, '../../fixtures/projects/shop/branchbox.yaml'), 'utf8'));
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ version: 1, project: 'x', services: { web: { port: 'eighty' } } })).toBe(false);
  });

  it('accepts branchbox.yaml over compose files (services optional, only the extras), and nothing else beside compose:', () => {
    const validate = new Ajv({ strict: false }).compile(committed);
    expect(validate({ version: 1, compose: ['compose.yaml'] }), JSON.stringify(validate.errors)).toBe(true);
    const extras = { version: 1, compose: ['a.yaml', 'b.yaml'], routes: { '/': 'web' }, services: { web: { http: true, port: 3000, health: { command: 'pg_isready' } } } };
    expect(validate(extras), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ version: 1, compose: ['a.yaml'], services: { web: { build: { image: 'x' } } } })).toBe(false);
    expect(validate({ version: 1, compose: [] })).toBe(false);
  });
});
