/**
 * docs/branchbox-yaml.md documents exactly the fields of branchbox.yaml's schema (the one
 * `schemas/branchbox.schema.json` is written from): a field added to the schema and not to the
 * reference, or documented and not in the schema, fails here, as does a wrong Form column.
 */
import { describe, expect, it } from 'vitest';
import { buildProjectFileSchema } from '../../../schemas/src/project';
import { firstCellCodes, readDoc } from './markdown';

type Schema = Readonly<Record<string, unknown>>;
type Form = 'own' | 'compose';

/** The placeholder of a map's keys in the reference, by the first word of its `x-key-rule`. */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  service: '<service>',
  template: '<template>',
  route: '<prefix>',
  environment: '<VAR>',
  build: '<ARG>',
};

function placeholder(map: Schema, at: string): string {
  const rule = String(map['x-key-rule'] ?? '');
  const found = PLACEHOLDERS[rule.split(' ')[0] ?? ''];
  if (!found) throw new Error(`the map at ${at || 'the root'} (keys: "${rule}") has no placeholder: add one to PLACEHOLDERS`);
  return found;
}

/** Every field path of the schema with the forms it appears in (then: compose, else: own). */
function schemaFields(schema: Schema): Map<string, Set<Form>> {
  const fields = new Map<string, Set<Form>>();
  const visit = (node: unknown, path: string[], form: Form): void => {
    if (!node || typeof node !== 'object') return;
    const s = node as Schema;
    const add = (p: string[], child: unknown) => {
      const key = p.join('.');
      fields.set(key, (fields.get(key) ?? new Set<Form>()).add(form));
      visit(child, p, form);
    };
    for (const branch of ['anyOf', 'oneOf', 'allOf'] as const) for (const sub of (s[branch] as unknown[]) ?? []) visit(sub, path, form);
    if (s.items) visit(s.items, path, form);
    for (const [key, child] of Object.entries((s.properties as Schema) ?? {})) add([...path, key], child);
    for (const child of Object.values((s.patternProperties as Schema) ?? {})) add([...path, placeholder(s, path.join('.'))], child);
  };
  const root = schema as { then: unknown; else: unknown };
  visit(root.then, [], 'compose');
  visit(root.else, [], 'own');
  return fields;
}

const fields = schemaFields(buildProjectFileSchema());
const rows = firstCellCodes(readDoc('docs/branchbox-yaml.md'));
const formOf = (forms: Set<Form>) => (forms.size === 2 ? 'both' : [...forms][0]);

describe('docs/branchbox-yaml.md', () => {
  it('finds the fields of the schema', () => {
    expect(fields.get('services.<service>.port')).toEqual(new Set(['own', 'compose']));
    expect(fields.get('compose')).toEqual(new Set(['compose']));
    expect(fields.size).toBeGreaterThan(50);
  });

  it.each([...fields.keys()])('documents %s with its form', (field) => {
    const row = rows.find((r) => r.code === field);
    expect(row, `docs/branchbox-yaml.md has no row for \`${field}\``).toBeDefined();
    expect(row!.row[1], `the Form of \`${field}\``).toBe(formOf(fields.get(field)!));
  });

  it('documents no field the schema does not have', () => {
    expect(rows.map((r) => r.code).filter((code) => !fields.has(code))).toEqual([]);
  });

  it('documents each field once', () => {
    const codes = rows.map((r) => r.code);
    expect(codes.filter((code, i) => codes.indexOf(code) !== i)).toEqual([]);
  });

  it('a map without a placeholder is reported, not skipped', () => {
    const schema = { then: {}, else: { properties: { extra: { patternProperties: { '.': {} }, 'x-key-rule': 'widget names are short' } } } };
    expect(() => schemaFields(schema)).toThrow(/extra .*add one to PLACEHOLDERS/);
  });
});
