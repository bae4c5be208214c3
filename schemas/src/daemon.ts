/**
 * The daemon's own methods, of no feature namespace: the session (the LSP-style handshake,
 * cancellation, subscriptions in general), shutdown, discovery, and what the daemon knows
 * about itself (system/info, its log).
 */
import { Type } from '@sinclair/typebox';
import { ImageRetention } from './images';
import { Batch, NoParams, Obj, Ok, SubscriptionResult, defineMethods, defineNotifications } from './core';

export const PROTOCOL_VERSION = '1.0.0';

const Info = Obj({ name: Type.String(), version: Type.Optional(Type.String()) });

export const daemonMethods = defineMethods({
  initialize: {
    summary: 'Opens the session: the client says who it is, the daemon what it offers.',
    description:
      'Must be the first request on a connection; any other request before it answers ServerNotInitialized (-32002). ' +
      'The client name is recorded in the audit trail of every state-changing request of the connection.',
    beforeInitialize: true,
    errors: ['AlreadyInitialized'],
    params: Obj({
      clientInfo: Info,
      protocolVersion: Type.Optional(Type.String({ description: 'The protocol version the client was written for.' })),
      capabilities: Type.Optional(
        Type.Record(Type.String(), Type.Unknown(), {
          description: 'What the client supports. No client capability changes the daemon\'s behaviour in this protocol version.',
        }),
      ),
      processId: Type.Optional(Type.Integer({ description: 'The client\'s process id, for the log.' })),
    }),
    result: Obj({
      serverInfo: Obj({ name: Type.Literal('branchboxd'), version: Type.String() }),
      protocolVersion: Type.String(),
      capabilities: Obj({
        methods: Type.Array(Type.String(), { description: 'Every method this daemon answers.' }),
        notifications: Type.Array(Type.String(), { description: 'Every notification this daemon may send.' }),
        docker: Type.Boolean({ description: 'Whether a Docker engine answered when the session opened.' }),
        limits: Type.Optional(
          Obj(
            {
              maxMessageBytes: Type.Integer({
                description:
                  'The largest message in either direction (bytes of UTF-8); a larger answer is replaced by ResponseTooLarge.',
              }),
              maxBatchLength: Type.Integer({ description: 'The most messages one batch may hold.' }),
              maxIntegerId: Type.Integer({ description: 'Number ids beyond ± this value answer InvalidRequest.' }),
            },
            'The limits of this daemon (docs/protocol.md, "Limits"); absent from daemons older than the limits.',
          ),
        ),
      }),
    }),
  },
  shutdown: {
    summary: 'Stops the daemon gracefully: no new work, in-flight work finished or cancelled, state closed.',
    description: 'Answers null once the daemon has stopped accepting work; the process exits right after.',
    beforeInitialize: true,
    mutating: true,
    params: NoParams,
    result: Ok,
  },
  'rpc.discover': {
    summary: 'Returns the OpenRPC document describing every method, notification and error of this daemon.',
    description: 'Like every method without params, it takes `params` omitted, `{}` or `[]`.',
    beforeInitialize: true,
    params: NoParams,
    result: Type.Unsafe<Record<string, unknown>>(Type.Object({}, { description: 'An OpenRPC 1.x document.' })),
  },
  'system/info': {
    summary: 'What the daemon is and where it keeps its state, and whether Docker answers.',
    params: NoParams,
    result: Obj({
      version: Type.String(),
      protocolVersion: Type.String(),
      pid: Type.Integer(),
      stateDir: Type.String(),
      instance: Type.String({
        description:
          'The id of this daemon on the Docker engine (from its state directory): everything it creates is labelled branchbox.instance=<id>, and it only removes objects carrying it.',
      }),
      database: Obj({ path: Type.String(), schemaVersion: Type.Integer() }),
      connections: Type.Integer({ description: 'Clients connected right now, over every transport.' }),
      docker: Obj({
        available: Type.Boolean(),
        reason: Type.Optional(Type.String({ description: 'Why Docker is unavailable; absent when it is available.' })),
        endpoint: Type.Optional(Type.String({ description: 'How the engine was reached (e.g. unix:///var/run/docker.sock).' })),
        version: Type.Optional(Type.String({ description: 'The engine version.' })),
        apiVersion: Type.Optional(Type.String()),
      }),
      // The images this daemon built, as of the last reconciliation; absent before the first one.
      images: Type.Optional(ImageRetention),
    }),
  },
  'log/subscribe': {
    summary: 'Streams the daemon log as it is written (secrets already masked), from the given level up.',
    notification: 'log/message',
    params: Obj({
      level: Type.Optional(
        Type.Union([Type.Literal('trace'), Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]),
      ),
    }),
    result: SubscriptionResult,
  },
  'subscription/cancel': {
    summary: 'Ends a subscription of this connection; its last batch, if any, is sent first.',
    errors: ['SubscriptionNotFound'],
    params: Obj({ subscription: Type.String() }),
    result: Ok,
  },
});

export const daemonNotifications = defineNotifications({
  '$/cancelRequest': {
    summary: 'Cancels a request of this connection still in progress; it then answers RequestCancelled (-32800).',
    direction: 'toServer',
    params: Obj({ id: Type.Union([Type.Integer(), Type.String()]) }),
  },
  'subscription/end': {
    summary: 'A subscription ended: cancelled, its source finished, or it failed (then `error` says why).',
    direction: 'toClient',
    params: Obj({
      subscription: Type.String(),
      reason: Type.Union([Type.Literal('cancelled'), Type.Literal('completed'), Type.Literal('failed'), Type.Literal('shutdown')]),
      error: Type.Optional(Obj({ code: Type.Integer(), message: Type.String() })),
    }),
  },
  'log/message': {
    summary: 'A line of the daemon log, for clients that subscribed with `log/subscribe`.',
    direction: 'toClient',
    params: Batch(
      Obj({ t: Type.String(), level: Type.String(), msg: Type.String(), fields: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
      'Log lines, oldest first.',
    ),
  },
});
