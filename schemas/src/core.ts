/**
 * The building blocks of the protocol declaration: one typed entry per method and per
 * notification, each carrying its JSON Schemas (TypeBox values are plain JSON Schema), its
 * documentation and the errors it may answer with. The TypeScript types of both sides are
 * derived from these same values, so the schema and the type cannot drift.
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import type { ApplicationErrorName } from './errors';

export interface MethodSpec<P extends TObject = TObject, R extends TSchema = TSchema> {
  readonly summary: string;
  readonly description?: string;
  readonly params: P;
  readonly result: R;
  /** Application errors this method may answer with, besides the protocol ones. */
  readonly errors?: readonly ApplicationErrorName[];
  /** Recorded in the audit trail: the method changes state. */
  readonly mutating?: boolean;
  /** Allowed before `initialize` (only `initialize`, `shutdown` and `rpc.discover`, schemas/src/daemon.ts). */
  readonly beforeInitialize?: boolean;
  /** For methods that open a subscription: the notification that carries its items. */
  readonly notification?: string;
}

export interface NotificationSpec<P extends TObject = TObject> {
  readonly summary: string;
  readonly description?: string;
  readonly direction: 'toClient' | 'toServer';
  readonly params: P;
}

export const defineMethods = <const T extends Record<string, MethodSpec>>(methods: T): T => methods;
export const defineNotifications = <const T extends Record<string, NotificationSpec>>(n: T): T => n;

type Merged<T extends readonly object[]> = T extends readonly [infer H, ...infer R extends readonly object[]] ? H & Merged<R> : unknown;

/**
 * One table from the namespaces' tables (methods, or notifications). A name declared by two
 * of them throws here, when the protocol module loads: an object spread would let the later
 * one silently replace the earlier.
 */
export function mergeTables<const T extends readonly Readonly<Record<string, unknown>>[]>(kind: string, ...tables: T): Merged<T> {
  const merged: Record<string, unknown> = {};
  for (const table of tables)
    for (const [name, spec] of Object.entries(table)) {
      if (Object.hasOwn(merged, name)) throw new Error(`the ${kind} "${name}" is declared twice in the protocol`);
      merged[name] = spec;
    }
  return merged as Merged<T>;
}

/** A params or result object: closed (no unknown properties), documented. */
export const Obj = <T extends Parameters<typeof Type.Object>[0]>(properties: T, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });

/** The params of a method that takes none (JSON-RPC allows `params` to be omitted). */
export const NoParams = Obj({});
/** The result of a method that answers with nothing of interest. */
export const Ok = Type.Null({ description: 'Always null.' });

/** A point in time: RFC 3339 text (`format: date-time`). */
export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

/** The errors any method that calls the Docker engine may answer with. */
export const engineErrors = ['DockerUnavailable', 'DockerError'] as const satisfies readonly ApplicationErrorName[];

/** The params every subscription notification carries: the subscription id and a batch of items. */
export const Batch = <T extends TSchema>(item: T, description: string) =>
  Obj(
    {
      subscription: Type.String({ description: 'The id `subscribe` answered with.' }),
      items: Type.Array(item, { description }),
      dropped: Type.Optional(
        Type.Integer({ minimum: 1, description: 'Items dropped since the last batch because the client read too slowly (lossy streams only).' }),
      ),
    },
  );

export const SubscriptionResult = Obj({
  subscription: Type.String({ description: 'Identifies the subscription in its notifications and in `subscription/cancel`.' }),
});

export type { Static };
