/**
 * Handlers of routes and gateways (schemas/src/route.ts). `route/explain` answers with the
 * same decision functions the gateways call for each request; `route/set` writes through the
 * SandboxStore (the dispatcher audits it) and drops the sandbox's cached routes, so the next
 * request, and this answer, already see the change.
 */
import type { Result } from '../../../schemas/src/index';
import type { routeMethods } from '../../../schemas/src/route';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { RouteKind } from '../../../schemas/src/project';
import type { Gateways } from '../gateway/gateways';
import type { SandboxRouteSource } from '../gateway/route-source';
import {
  decideForSandbox,
  decideShared,
  pathOf,
  resolveService,
  routeHeaderValue,
  type RouteDecision,
  type SandboxRoutes,
} from '../gateway/route-table';
import { RpcError } from '../rpc/errors';
import type { HandlerGroup } from '../rpc/handlers';

export interface RouteHandlerDeps {
  /** Owner A's SandboxStore. */
  readonly sandboxes: {
    require(name: string): Sandbox;
    list(): Sandbox[];
    setRoute(sandbox: string, service: string, route: RouteKind, url?: string): void;
  };
  readonly source: SandboxRouteSource;
  readonly gateways: Gateways;
}

type RouteMethod = keyof typeof routeMethods;

export function routeHandlers(deps: RouteHandlerDeps): HandlerGroup<RouteMethod> {
  /** The sandbox's routes; it exists (checked by the caller). */
  const tableOf = (sandbox: string): SandboxRoutes => {
    const table = deps.source.sandbox(sandbox);
    if (!table) throw new RpcError('SandboxNotFound', `No sandbox "${sandbox}": it was deleted.`, { name: sandbox });
    return table;
  };

  return {
    'route/list': async (p) => {
      const sandbox = deps.sandboxes.require(p.sandbox);
      const table = tableOf(p.sandbox);
      const project = sandbox.repoPath ? deps.source.project(sandbox.repoPath).project : undefined;
      const names = new Set([
        ...Object.keys(project?.services ?? {}),
        ...table.routes.map((r) => r.service),
        ...sandbox.services.map((s) => s.service),
      ]);
      const gateway = await deps.gateways.addressOf(p.sandbox);
      const shared = deps.gateways.sharedAddress;
      return {
        sandbox: p.sandbox,
        ...(gateway ? { gateway } : {}),
        ...(shared ? { sharedGateway: shared } : {}),
        routes: [...table.routes].sort((a, b) => b.prefix.length - a.prefix.length).map((r) => ({ prefix: r.prefix, service: r.service })),
        services: [...names].sort().map((name) => serviceRoute(table, name)),
        ...(table.problem ? { problem: table.problem } : {}),
      };
    },

    'route/set': (p, ctx) => {
      const sandbox = deps.sandboxes.require(p.sandbox);
      checkTarget(p.kind, p.url);
      if (sandbox.repoPath) {
        const project = deps.source.project(sandbox.repoPath).project;
        if (project) {
          const known = new Set([
            ...Object.keys(project.services),
            ...Object.keys(project.baseline),
            ...project.routes.map((r) => r.service),
            ...sandbox.services.map((s) => s.service),
          ]);
          if (!known.has(p.service)) {
            throw invalid('/service', `project ${project.name} has no service "${p.service}" (services: ${[...known].sort().join(', ') || 'none'})`);
          }
        }
      }
      deps.sandboxes.setRoute(p.sandbox, p.service, p.kind, p.kind === 'url' ? p.url : undefined);
      deps.source.invalidate(p.sandbox);
      const result = serviceRoute(tableOf(p.sandbox), p.service);
      ctx.log.info('Route set', { sandbox: p.sandbox, service: p.service, kind: p.kind, url: p.url, effective: result.effective?.url });
      return result;
    },

    'route/explain': (p) => {
      const path = pathOf(p.path);
      if (p.sandbox !== undefined) {
        deps.sandboxes.require(p.sandbox);
        return view('sandbox', decideForSandbox(deps.source, p.sandbox, path));
      }
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(p.headers ?? {})) headers[name.toLowerCase()] = value;
      return view('shared', decideShared(deps.source, path, headers));
    },

    'gateway/info': async (p) => {
      const names = p.sandbox !== undefined ? [deps.sandboxes.require(p.sandbox).name] : deps.sandboxes.list().map((s) => s.name);
      const shared = deps.gateways.sharedAddress;
      const sandboxes: Result<'gateway/info'>['sandboxes'] = [];
      for (const name of names) {
        const gateway = await deps.gateways.addressOf(name);
        const error = gateway ? undefined : (deps.gateways.failureOf(name) ?? 'the gateway is not running');
        sandboxes.push({ sandbox: name, ...(gateway ? { gateway } : {}), ...(error ? { error } : {}) });
      }
      return { ...(shared ? { shared } : {}), sandboxes };
    },
  };
}

/** A service's route entry: its route and where its requests go now, from the same resolver the gateway uses. */
function serviceRoute(table: SandboxRoutes, service: string): Result<'route/set'> {
  const state = table.services[service];
  const resolved = resolveService(table, service);
  const baseline = table.baseline[service];
  return {
    service,
    kind: state?.route ?? 'sandbox',
    ...(state?.url !== undefined ? { url: state.url } : {}),
    prefixes: table.routes.filter((r) => r.service === service).map((r) => r.prefix),
    deployed: state?.hostPort !== undefined,
    ...(state?.commit !== undefined ? { commit: state.commit } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    ...(resolved.target ? { effective: { kind: resolved.target.kind, url: resolved.target.url } } : {}),
    reason: resolved.reason,
  };
}

function view(gateway: 'sandbox' | 'shared', d: RouteDecision): Result<'route/explain'> {
  return {
    gateway,
    ...(d.sandbox !== undefined ? { sandbox: d.sandbox } : {}),
    selectedBy: d.selectedBy,
    ...(d.route ? { route: { prefix: d.route.prefix, service: d.route.service } } : {}),
    ...(d.target ? { target: { kind: d.target.kind, url: d.target.url } } : {}),
    ...(d.commit !== undefined ? { commit: d.commit } : {}),
    ...(d.status !== undefined ? { status: d.status } : {}),
    routeHeader: routeHeaderValue(d),
    reason: d.reason,
  };
}

/** `url` is required for kind url (an absolute http(s) URL) and refused for the others. */
function checkTarget(kind: RouteKind, url: string | undefined): void {
  if (kind !== 'url') {
    if (url !== undefined) throw invalid('/url', `is only allowed with kind "url" (kind is "${kind}")`);
    return;
  }
  if (url === undefined) throw invalid('/url', 'is required with kind "url"');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('/url', `"${url}" is not an absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid('/url', `must be http:// or https://, not ${parsed.protocol}//`);
  if (parsed.username || parsed.password) throw invalid('/url', 'must not carry credentials');
}

function invalid(path: string, message: string): RpcError {
  return new RpcError('InvalidParams', `Invalid params for route/set: ${path.slice(1)} ${message}`, { violations: [{ path, message }] });
}
