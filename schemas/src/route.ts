/**
 * Routes and gateways. Each sandbox has a gateway on 127.0.0.1 that forwards by the longest
 * matching path prefix of the project's `routes:` to each service's target: the sandbox's
 * container (`sandbox`), the project's baseline URL (`baseline`) or any URL (`url`). A
 * service routed to `sandbox` that is not deployed there goes to the baseline. The shared
 * gateway serves every sandbox on one port: it picks the sandbox from the
 * `X-Branchbox-Sandbox` header or the W3C `baggage` entry `branchbox-sandbox`, and without
 * either sends every route to the baseline.
 *
 * Every response of a gateway carries `X-Branchbox-Route: <service> -> <kind> (<commit7>)`, also
 * its own 502 (target unreachable; the body names target and cause) and 504 (no answer in
 * time); it is `none` when there was no target: 404 (no route, unknown sandbox; the body is the
 * explanation) and 503 (the service has nowhere to go). `route/explain` answers from the same
 * decision the gateway takes.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Obj, defineMethods } from './core';
import { RouteKind } from './project';

const SandboxName = Type.String({ minLength: 1, maxLength: 200, description: 'The sandbox name.' });

export const RouteTarget = Obj(
  {
    kind: RouteKind,
    url: Type.String({ description: 'Absolute http(s) URL; the request path is appended to its path.' }),
  },
  'Where requests go.',
);
export type RouteTarget = Static<typeof RouteTarget>;

export const PrefixRoute = Obj({ prefix: Type.String(), service: Type.String() }, 'A project route: requests under `prefix` go to `service`.');

export const GatewayAddress = Obj({
  port: Type.Integer(),
  url: Type.String({ description: 'http://127.0.0.1:<port>' }),
});

export const ServiceRoute = Obj(
  {
    service: Type.String(),
    kind: RouteKind,
    url: Type.Optional(Type.String({ description: 'The URL of a `url` route.' })),
    prefixes: Type.Array(Type.String(), { description: 'The route prefixes that lead to this service.' }),
    deployed: Type.Boolean({ description: "Whether a container of the sandbox serves the service (it has a published port)." }),
    commit: Type.Optional(Type.String({ description: 'The commit of the serving container.' })),
    baseline: Type.Optional(Type.String({ description: "The project's baseline URL for the service." })),
    effective: Type.Optional(RouteTarget),
    reason: Type.String({ description: 'Why requests for the service go to `effective` (or nowhere).' }),
  },
  "One service's route in a sandbox and where its requests go now.",
);
export type ServiceRoute = Static<typeof ServiceRoute>;

export const RouteDecision = Obj(
  {
    gateway: Type.Union([Type.Literal('sandbox'), Type.Literal('shared')], {
      description: "Which gateway was asked about: the sandbox's own (params.sandbox given) or the shared one.",
    }),
    sandbox: Type.Optional(Type.String({ description: 'The sandbox whose routes were used; absent when none was (baseline).' })),
    selectedBy: Type.Union([Type.Literal('gateway'), Type.Literal('header'), Type.Literal('baggage'), Type.Literal('none')], {
      description:
        "gateway: the sandbox's own gateway; header: X-Branchbox-Sandbox; baggage: the baggage entry branchbox-sandbox; none: no sandbox named (baseline).",
    }),
    route: Type.Optional(PrefixRoute),
    target: Type.Optional(RouteTarget),
    commit: Type.Optional(Type.String({ description: 'The commit of the sandbox container, for `sandbox` targets.' })),
    status: Type.Optional(
      Type.Integer({ description: 'When there is no target: what the gateway answers itself (404 no route or unknown sandbox, 503 no target).' }),
    ),
    routeHeader: Type.String({ description: 'The X-Branchbox-Route value the response would carry.' }),
    reason: Type.String({ description: 'One sentence saying why.' }),
  },
  'What the gateway does with a request.',
);
export type RouteDecisionView = Static<typeof RouteDecision>;

export const routeMethods = defineMethods({
  'route/list': {
    summary: "A sandbox's routes: each service's route and where its requests go now, and the gateway URLs.",
    errors: ['SandboxNotFound'],
    params: Obj({ sandbox: SandboxName }),
    result: Obj({
      sandbox: Type.String(),
      gateway: Type.Optional(GatewayAddress),
      sharedGateway: Type.Optional(GatewayAddress),
      routes: Type.Array(PrefixRoute, { description: 'The project routes, longest prefix first.' }),
      services: Type.Array(ServiceRoute),
      problem: Type.Optional(Type.String({ description: "Why the project's routes are missing (its branchbox.yaml cannot be read)." })),
    }),
  },
  'route/set': {
    summary: "Routes a service of a sandbox to the sandbox's container, the baseline or a URL; applies to the next request.",
    description:
      'Requests in flight keep their upstream. `url` is required for kind `url` (http or https) and not allowed otherwise. ' +
      'Routing a service that is not deployed to `sandbox` sends it to the baseline until a deployment serves it.',
    mutating: true,
    errors: ['SandboxNotFound'],
    params: Obj({
      sandbox: SandboxName,
      service: Type.String({ minLength: 1, maxLength: 200, description: 'A service of the project.' }),
      kind: RouteKind,
      url: Type.Optional(Type.String({ description: 'For kind `url`: an absolute http:// or https:// URL.' })),
    }),
    result: ServiceRoute,
  },
  'route/explain': {
    summary: 'Which target a request would reach, and why: the very decision the gateway takes.',
    description:
      "With `sandbox`: its own gateway (headers are ignored). Without: the shared gateway, which selects the sandbox from the headers.",
    errors: ['SandboxNotFound'],
    params: Obj({
      sandbox: Type.Optional(SandboxName),
      path: Type.String({ pattern: '^/', description: 'The request path (a query is ignored).' }),
      headers: Type.Optional(
        Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]), {
          description: 'Request headers, names in any case (X-Branchbox-Sandbox, baggage).',
        }),
      ),
    }),
    result: RouteDecision,
  },
  'gateway/info': {
    summary: 'The gateway URLs: the shared one and each sandbox\'s (or one sandbox\'s).',
    errors: ['SandboxNotFound'],
    params: Obj({ sandbox: Type.Optional(SandboxName) }),
    result: Obj({
      shared: Type.Optional(GatewayAddress),
      sandboxes: Type.Array(
        Obj({
          sandbox: Type.String(),
          gateway: Type.Optional(GatewayAddress),
          error: Type.Optional(Type.String({ description: 'Why the gateway of the sandbox does not run.' })),
        }),
      ),
    }),
  },
});
