/**
 * The routing decision of the gateways, as a pure function of data: the project's routes
 * (path prefix → service), each service's route in the sandbox (its container, the baseline or
 * a URL) and the project's baseline URLs. The proxy asks it for every request and
 * `route/explain` asks it for a path, so what explain says and what the proxy does cannot
 * disagree: they are the same call.
 *
 * A sandbox's own gateway uses that sandbox's routes. The shared gateway picks the sandbox from
 * the `X-Branchbox-Sandbox` header or the W3C `baggage` entry `branchbox-sandbox`, and without
 * either sends every route to the baseline.
 */

export type RouteKind = 'sandbox' | 'baseline' | 'url';

/** One entry of the project's `routes:`: requests under `prefix` go to `service`. */
export interface PrefixRoute {
  readonly prefix: string;
  readonly service: string;
}

/** What the gateway knows about one service of a sandbox (a `sandbox_services` row). */
export interface ServiceRouteState {
  /** Where the service's requests should go. */
  readonly route: RouteKind;
  /** The target of a `url` route. */
  readonly url?: string;
  /** The port on 127.0.0.1 where the sandbox's container of the service is published; absent when none serves. */
  readonly hostPort?: number;
  /** The commit the serving container was built from. */
  readonly commit?: string;
}

/** Everything needed to route the requests of one sandbox. */
export interface SandboxRoutes {
  readonly sandbox: string;
  /** Project routes; matched longest prefix first whatever their order here. */
  readonly routes: readonly PrefixRoute[];
  /** Per service; a service without an entry is routed like one that is not deployed. */
  readonly services: Readonly<Record<string, ServiceRouteState>>;
  /** Project baseline: service → URL. */
  readonly baseline: Readonly<Record<string, string>>;
  /** Why containers of this sandbox do not serve at all (e.g. "sandbox qa-1 is suspended"); they go to baseline. */
  readonly inactive?: string;
  /** Why the routes are missing (the project file cannot be read), for explanations. */
  readonly problem?: string;
}

/** The routes used by the shared gateway when no sandbox is selected: everything to baseline. */
export interface BaselineRoutes {
  readonly routes: readonly PrefixRoute[];
  readonly baseline: Readonly<Record<string, string>>;
  /** Names the project these routes come from, for explanations. */
  readonly project?: string;
}

/** Where the route data comes from. Implementations read live state on each call. */
export interface RouteSource {
  /** The routes of a sandbox, or undefined when no sandbox has that name. */
  sandbox(name: string): SandboxRoutes | undefined;
  /** The routes of the shared gateway without a sandbox header, or a sentence saying why there are none. */
  baseline(): BaselineRoutes | { readonly unavailable: string };
}

export interface RouteTarget {
  readonly kind: RouteKind;
  /** Absolute http(s) URL: the request path is appended to its path. */
  readonly url: string;
}

/** How the sandbox whose routes were used was chosen. */
export type SandboxSelection = 'gateway' | 'header' | 'baggage' | 'none';

export interface RouteDecision {
  /** The sandbox whose routes were used; absent when none was (shared gateway, baseline). */
  readonly sandbox?: string;
  readonly selectedBy: SandboxSelection;
  /** The route that matched, if any. */
  readonly route?: PrefixRoute;
  /** Where the request goes. Absent when the gateway answers `status` itself. */
  readonly target?: RouteTarget;
  /** The commit of the sandbox container, for `sandbox` targets. */
  readonly commit?: string;
  /** The gateway's own answer when there is no target: 404 (no route, unknown sandbox) or 503 (no target for the service). */
  readonly status?: 404 | 503;
  /** One sentence saying why. */
  readonly reason: string;
}

export const SANDBOX_HEADER = 'x-branchbox-sandbox';
export const BAGGAGE_KEY = 'branchbox-sandbox';
export const ROUTE_HEADER = 'x-branchbox-route';

/** Request headers as Node gives them: lower-case names, values joined or in arrays. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Whether `path` is under `prefix` at a segment boundary (`/account` covers `/account/x`, not `/accounts`). */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/' || prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length || prefix.endsWith('/')) return true;
  const next = path[prefix.length];
  return next === '/' || next === '?' || next === '#';
}

/** The route with the longest prefix covering `path`. */
export function matchRoute(routes: readonly PrefixRoute[], path: string): PrefixRoute | undefined {
  let best: PrefixRoute | undefined;
  for (const route of routes) {
    if (prefixMatches(route.prefix, path) && (!best || route.prefix.length > best.prefix.length)) best = route;
  }
  return best;
}

/** The path part of a request target (origin-form `/a?b` or absolute-form `http://h/a?b`), without the query. */
export function pathOf(requestTarget: string): string {
  let path = requestTarget;
  if (!path.startsWith('/')) {
    try {
      path = new URL(path).pathname;
    } catch {
      return '/';
    }
  }
  const end = path.search(/[?#]/);
  return end === -1 ? path : path.slice(0, end);
}

/** The short commit shown in headers and reasons. */
export const shortCommit = (commit: string): string => commit.slice(0, 7);

/** The value of `X-Branchbox-Route` for a decision: `account -> sandbox (a1b2c3d)`, or `none`. */
export function routeHeaderValue(decision: RouteDecision): string {
  if (!decision.route || !decision.target) return 'none';
  const commit = decision.commit ? ` (${shortCommit(decision.commit)})` : '';
  return `${decision.route.service} -> ${decision.target.kind}${commit}`;
}

/** Where one service of a sandbox goes, and why (the part of the reason after the route). */
export interface ServiceResolution {
  readonly target?: RouteTarget;
  readonly commit?: string;
  readonly reason: string;
}

/** Resolves one service of a sandbox to its target: the route kind, or baseline when the sandbox does not serve it. */
export function resolveService(table: SandboxRoutes, service: string): ServiceResolution {
  const state = table.services[service];
  const baseline = table.baseline[service];
  const route = state?.route ?? 'sandbox';
  if (route === 'url') {
    if (state?.url) return { target: { kind: 'url', url: state.url }, reason: `route of ${service} set to URL ${state.url}` };
    return { reason: `route of ${service} is set to a URL, but none is recorded` };
  }
  if (route === 'baseline') {
    if (baseline) return { target: { kind: 'baseline', url: baseline }, reason: `route of ${service} set to baseline ${baseline}` };
    return { reason: `route of ${service} is set to baseline, but the project has no baseline URL for ${service}` };
  }
  const why = table.inactive ?? (state?.hostPort === undefined ? `${service} is not deployed in sandbox ${table.sandbox}` : undefined);
  if (why === undefined && state?.hostPort !== undefined) {
    const at = state.commit ? ` at commit ${shortCommit(state.commit)}` : '';
    return {
      target: { kind: 'sandbox', url: `http://127.0.0.1:${state.hostPort}` },
      ...(state.commit ? { commit: state.commit } : {}),
      reason: `sandbox container${at}`,
    };
  }
  if (baseline) return { target: { kind: 'baseline', url: baseline }, reason: `${why} → baseline ${baseline}` };
  return { reason: `${why} and the project has no baseline URL for ${service}` };
}

const matchedText = (path: string, route: PrefixRoute) => `${path} matched route ${route.prefix} → ${route.service}`;

function noRoute(path: string, routes: readonly PrefixRoute[], problem?: string): string {
  const known = routes.map((r) => r.prefix).join(', ');
  if (known) return `no route matches ${path} (routes: ${known})`;
  return `no route matches ${path}: ${problem ?? 'the project has no routes'}`;
}

/** The decision of a sandbox's routes for a path. `lead` prefixes the reason (how the sandbox was selected). */
export function resolveInSandbox(
  table: SandboxRoutes,
  path: string,
  selectedBy: SandboxSelection = 'gateway',
  lead = '',
): RouteDecision {
  const route = matchRoute(table.routes, path);
  if (!route) return { sandbox: table.sandbox, selectedBy, status: 404, reason: lead + noRoute(path, table.routes, table.problem) };
  const resolved = resolveService(table, route.service);
  const reason = `${lead}${matchedText(path, route)}; ${resolved.reason}`;
  if (!resolved.target) return { sandbox: table.sandbox, selectedBy, route, status: 503, reason };
  return {
    sandbox: table.sandbox,
    selectedBy,
    route,
    target: resolved.target,
    ...(resolved.commit ? { commit: resolved.commit } : {}),
    reason,
  };
}

/** The decision of the baseline routes (shared gateway, no sandbox selected) for a path. */
export function resolveInBaseline(table: BaselineRoutes, path: string, lead = ''): RouteDecision {
  const route = matchRoute(table.routes, path);
  if (!route) return { selectedBy: 'none', status: 404, reason: lead + noRoute(path, table.routes) };
  const url = table.baseline[route.service];
  if (!url) {
    return {
      selectedBy: 'none',
      route,
      status: 503,
      reason: `${lead}${matchedText(path, route)}; the project has no baseline URL for ${route.service}`,
    };
  }
  return {
    selectedBy: 'none',
    route,
    target: { kind: 'baseline', url },
    reason: `${lead}${matchedText(path, route)} → baseline ${url}`,
  };
}

/** Splits the value(s) of a header into list members (`a, b` and repeated headers alike). */
function listMembers(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const values = typeof value === 'string' ? [value] : value;
  return values.flatMap((v) => v.split(',')).map((m) => m.trim()).filter(Boolean);
}

/** The sandbox a request names: `X-Branchbox-Sandbox` first, then the W3C baggage entry. */
export function selectedSandbox(headers: HeaderBag): { sandbox: string; via: 'header' | 'baggage' } | undefined {
  const direct = listMembers(headers[SANDBOX_HEADER])[0];
  if (direct) return { sandbox: direct, via: 'header' };
  for (const member of listMembers(headers.baggage)) {
    const [pair = ''] = member.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== BAGGAGE_KEY) continue;
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // A malformed percent-encoding: use the value as written.
    }
    if (value) return { sandbox: value, via: 'baggage' };
  }
  return undefined;
}

const selectionText = { header: 'header X-Branchbox-Sandbox', baggage: 'baggage entry branchbox-sandbox' } as const;

/** The decision of a sandbox's own gateway: its routes, whatever the headers say. */
export function decideForSandbox(source: RouteSource, sandbox: string, path: string): RouteDecision {
  const table = source.sandbox(sandbox);
  if (!table) return { sandbox, selectedBy: 'gateway', status: 404, reason: `sandbox ${sandbox} does not exist` };
  return resolveInSandbox(table, path);
}

/** The decision of the shared gateway: the sandbox named by the headers, or baseline without one. */
export function decideShared(source: RouteSource, path: string, headers: HeaderBag): RouteDecision {
  const selected = selectedSandbox(headers);
  if (selected) {
    const lead = `${selectionText[selected.via]} selected sandbox ${selected.sandbox}`;
    const table = source.sandbox(selected.sandbox);
    if (!table) {
      return { sandbox: selected.sandbox, selectedBy: selected.via, status: 404, reason: `${lead}, which does not exist` };
    }
    return resolveInSandbox(table, path, selected.via, `${lead}; `);
  }
  const lead = 'no X-Branchbox-Sandbox header or branchbox-sandbox baggage → baseline; ';
  const baseline = source.baseline();
  if ('unavailable' in baseline) return { selectedBy: 'none', status: 404, reason: lead + baseline.unavailable };
  return resolveInBaseline(baseline, path, lead);
}
