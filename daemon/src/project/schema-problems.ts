/**
 * Ajv's errors as problems a person can act on: one per real mistake, at the field it is
 * about, in the words of the schema's `x-message` where it has one.
 */
import type { ErrorObject } from 'ajv';
import type { PathProblem } from './normalize';

type SchemaNode = Record<string, unknown>;

const pointerToPath = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

/**
 * One problem per real mistake: Ajv reports every branch of a union that failed; a union
 * whose data matched the shape of exactly one branch reports that branch's errors, any
 * other failed union its `x-message` once.
 */
export function schemaProblems(errors: readonly ErrorObject[]): PathProblem[] {
  const suppressed = new Set<ErrorObject>();
  const unions = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const synthetic: PathProblem[] = [];
  for (const union of unions) {
    if (suppressed.has(union)) continue;
    const inside = errors.filter(
      (e) =>
        e !== union &&
        e.schemaPath.startsWith(`${union.schemaPath}/`) &&
        (e.instancePath === union.instancePath || e.instancePath.startsWith(`${union.instancePath}/`)),
    );
    const branches = new Map<string, ErrorObject[]>();
    for (const e of inside) {
      const branch = e.schemaPath.slice(union.schemaPath.length + 1).split('/')[0]!;
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    const deeper = [...branches.values()].filter((list) => list.every((e) => isDeeper(e, union.instancePath)));
    suppressed.add(union);
    if (deeper.length === 1) {
      for (const e of inside) if (!deeper[0]!.includes(e)) suppressed.add(e);
    } else {
      for (const e of inside) suppressed.add(e);
      const message = (union.parentSchema as SchemaNode | undefined)?.['x-message'];
      synthetic.push({
        path: pointerToPath(union.instancePath),
        message: typeof message === 'string' ? message : 'has the wrong form',
      });
    }
  }
  const problems = errors.filter((e) => !suppressed.has(e) && e.keyword !== 'if').map(describe);
  const seen = new Set<string>();
  return [...problems, ...synthetic].filter((p) => {
    const key = `${p.path.join('.')}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether the error is about something inside the value at `instancePath`, not the value itself or its own keys. */
function isDeeper(e: ErrorObject, instancePath: string): boolean {
  return e.instancePath.length > instancePath.length;
}

function describe(e: ErrorObject): PathProblem {
  const at = pointerToPath(e.instancePath);
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  switch (e.keyword) {
    case 'required':
      return {
        path: [...at, String(e.params.missingProperty)],
        message: 'is required',
        anchor: at,
        atKey: at.length > 0,
      };
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const rule = parent['x-key-rule'];
      const known = Object.keys((parent.properties as SchemaNode | undefined) ?? {});
      const message =
        typeof rule === 'string'
          ? `"${key}" is not a valid name: ${rule}`
          : `is not a known field${known.length ? ` (expected ${known.join(', ')})` : ''}`;
      return { path: [...at, key], message, atKey: true };
    }
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(e.params.allowedValue)}` };
    case 'enum':
      return {
        path: at,
        message: `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'type': {
      const xMessage = parent['x-message'];
      if (typeof xMessage === 'string') return { path: at, message: xMessage };
      const type = String(e.params.type);
      const word = type === 'object' ? 'mapping' : type === 'array' ? 'list' : type;
      return { path: at, message: `must be ${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}` };
    }
    default: {
      const xMessage = parent['x-message'];
      return { path: at, message: typeof xMessage === 'string' ? xMessage : (e.message ?? e.keyword) };
    }
  }
}
