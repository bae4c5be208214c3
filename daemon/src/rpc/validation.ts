/**
 * Params validation: every method's params schema compiled once with Ajv; a request whose
 * params do not match is answered InvalidParams with each violation as `{path, message}`
 * before any handler runs.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { methods, type MethodName } from '../../../schemas/src/index';

export interface Violation {
  /** JSON Pointer into params, e.g. `/clientInfo/name`; empty for params itself. */
  readonly path: string;
  readonly message: string;
}

// verbose: errors carry their schema, whose `x-message` (when it has one) says the rule in words.
const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false, verbose: true });
addFormats(ajv);

const validators = new Map<string, ValidateFunction>(
  Object.entries(methods).map(([name, spec]) => [name, ajv.compile(spec.params)]),
);
const resultValidators = new Map<string, ValidateFunction>();

function describe(e: ErrorObject): Violation {
  const path = e.instancePath;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: `${path}/${String(e.params.additionalProperty)}`, message: 'is not a known property' };
    case 'required':
      return { path: `${path}/${String(e.params.missingProperty)}`, message: 'is required' };
    default: {
      const words = (e.parentSchema as Record<string, unknown> | undefined)?.['x-message'];
      return { path, message: e.keyword === 'pattern' && typeof words === 'string' ? words : (e.message ?? e.keyword) };
    }
  }
}

/** The violations of `params` against the method's schema; empty when valid. */
export function validateParams(method: MethodName, params: unknown): Violation[] {
  const validate = validators.get(method);
  if (!validate) return [{ path: '', message: `no schema for ${method}` }];
  if (validate(params)) return [];
  return (validate.errors ?? []).map(describe);
}

/** The violations of a handler's result against the method's result schema (used in tests). */
export function resultViolations(method: MethodName, result: unknown): Violation[] {
  let validate = resultValidators.get(method);
  if (!validate) {
    validate = ajv.compile(methods[method].result);
    resultValidators.set(method, validate);
  }
  return validate(result) ? [] : (validate.errors ?? []).map(describe);
}
