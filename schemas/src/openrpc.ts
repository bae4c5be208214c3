/**
 * Builds the OpenRPC 1.x document served by `rpc.discover` and committed as
 * `schemas/openrpc.json`. Server-to-client notifications are listed as methods without a
 * result (OpenRPC's notation for notifications) and marked `x-direction: toClient`.
 */
import { errorTable, applicationErrors, protocolErrors, type ErrorName } from './errors';
import { PROTOCOL_VERSION } from './daemon';
import { PROTOCOL_LIMITS } from './limits';
import { methods, notifications } from './index';
import type { MethodSpec, NotificationSpec } from './core';
import type { TSchema } from '@sinclair/typebox';

type Json = Record<string, unknown>;

/** TypeBox adds symbol keys to its schemas; JSON.stringify drops them, giving pure JSON Schema. */
const plain = (schema: TSchema): Json => JSON.parse(JSON.stringify(schema)) as Json;

const errorRef = (name: ErrorName) => ({ $ref: `#/components/errors/${name}` });

function paramDescriptors(params: TSchema): Json[] {
  const schema = plain(params);
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    required: required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

function methodEntry(name: string, spec: MethodSpec): Json {
  return {
    name,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    paramStructure: 'by-name',
    params: paramDescriptors(spec.params),
    result: { name: `${name}Result`, schema: plain(spec.result) },
    errors: [
      ...(['InvalidParams', 'InternalError', 'ResponseTooLarge'] as const).map(errorRef),
      ...(spec.beforeInitialize ? [] : [errorRef('ServerNotInitialized'), errorRef('RequestCancelled')]),
      ...(spec.errors ?? []).map(errorRef),
    ],
    ...(spec.mutating ? { 'x-audited': true } : {}),
    ...(spec.notification ? { 'x-notification': spec.notification } : {}),
  };
}

function notificationEntry(name: string, spec: NotificationSpec): Json {
  return {
    name,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    paramStructure: 'by-name',
    params: paramDescriptors(spec.params),
    'x-direction': spec.direction,
  };
}

export function buildOpenRpcDocument(version: string): Json {
  return {
    openrpc: '1.2.6',
    info: {
      title: 'Branchbox daemon protocol',
      version: PROTOCOL_VERSION,
      description:
        `JSON-RPC 2.0 over WebSocket (127.0.0.1, token required) and stdio (Content-Length framing), ` +
        `served by branchboxd ${version}. Params are objects. Call \`initialize\` first. Subscriptions answer ` +
        `\`{subscription}\` and deliver batches \`{subscription, items}\` through the notification named in ` +
        `\`x-notification\`; \`subscription/cancel\` ends one; all end when the connection closes.`,
      'x-limits': { ...PROTOCOL_LIMITS },
    },
    methods: [
      ...Object.entries(methods).map(([name, spec]) => methodEntry(name, spec as MethodSpec)),
      ...Object.entries(notifications).map(([name, spec]) => notificationEntry(name, spec as NotificationSpec)),
    ],
    components: {
      errors: Object.fromEntries(
        Object.entries(errorTable).map(([name, e]) => [
          name,
          { code: e.code, message: name, data: { description: e.description, kind: name in protocolErrors ? 'protocol' : 'application' } },
        ]),
      ),
    },
    'x-application-error-codes': Object.fromEntries(Object.entries(applicationErrors).map(([n, e]) => [n, e.code])),
  };
}
