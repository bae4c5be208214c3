/**
 * What an audited request changed, for the audit trail's `detail`: taken from the request's
 * params and, when it succeeded, its result — one function per state-changing method. Never
 * a value of the environment (keys only), never a command's environment values; the trail
 * masks what remains with the Redactor anyway.
 *
 * A state-changing method missing here is recorded with no detail; a unit test goes through
 * every `mutating` method of the protocol and fails when one is missing.
 */
import type { Methods, MethodName, Params, Result } from '../../../schemas/src/index';

export type AuditDetail = Record<string, unknown>;

/** The methods recorded in the audit trail (`mutating: true` in their declaration). */
export type AuditedMethod = { [M in MethodName]: Methods[M] extends { mutating: true } ? M : never }[MethodName];

type DetailOf<M extends MethodName> = (params: Params<M>, result: Result<M> | undefined) => AuditDetail | undefined;

/** `{ ...fields }` without the undefined ones; undefined when nothing is left. */
function defined(fields: AuditDetail): AuditDetail | undefined {
  const out = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return Object.keys(out).length > 0 ? out : undefined;
}

interface Outcome {
  readonly service: string;
  readonly branch?: string;
  readonly commit?: string;
  readonly status: string;
}

/** The deployments a sandbox request started, as `service: branch@commit status`. */
const deployed = (deployments: readonly Outcome[] | undefined) =>
  deployments?.map((d) => `${d.service}: ${d.branch ?? '?'}@${d.commit?.slice(0, 12) ?? '?'} ${d.status}`);

const DETAILS: { [M in AuditedMethod]?: DetailOf<M> } = {
  shutdown: () => undefined,
  'container/start': () => undefined,
  'container/stop': (p) => defined({ timeout: p.timeout }),
  'container/restart': (p) => defined({ timeout: p.timeout }),
  'container/remove': (p) => defined({ force: p.force, volumes: p.volumes }),
  'image/remove': (p, r) => defined({ force: p.force, untagged: r?.untagged.length, deleted: r?.deleted.length }),
  'image/prune': (p, r) =>
    defined({ all: p.all, includeBase: p.includeBase, label: p.label, deleted: r?.deleted.length, spaceReclaimed: r?.spaceReclaimed }),
  'image/load': (_p, r) => defined({ images: r?.images }),
  'container/exec': (p, r) =>
    defined({
      cmd: p.cmd,
      tty: p.tty,
      user: p.user,
      workdir: p.workdir,
      envKeys: p.env ? Object.keys(p.env) : undefined,
      session: r?.session,
    }),
  'route/set': (p, r) => defined({ kind: p.kind, url: p.url, effective: r?.effective }),
  'sandbox/create': (p, r) =>
    defined({
      repoPath: p.repoPath,
      fromTemplate: p.fromTemplate,
      ttl: p.ttl,
      resources: p.resources,
      owner: r?.sandbox.owner ?? p.owner,
      deployments: deployed(r?.deployments),
    }),
  'sandbox/update': (p) => defined({ ttl: p.ttl, resources: p.resources, owner: p.owner }),
  'sandbox/delete': (_p, r) => defined({ containers: r?.containers, networks: r?.networks, ports: r?.ports }),
  'sandbox/clone': (p, r) => defined({ from: p.name, deployments: deployed(r?.deployments) }),
  'sandbox/snapshot': (_p, r) =>
    defined({
      services: r?.services.map((s) => `${s.service}: ${s.route}${s.commit ? ` ${s.branch ?? '?'}@${s.commit.slice(0, 12)}` : ''}`),
      envEntries: r?.envKeys,
    }),
  'sandbox/restore': (p, r) => defined({ into: r?.sandbox.name ?? p.into, deployments: deployed(r?.deployments) }),
  'snapshot/delete': () => undefined,
  'env/set': (p) => ({ scope: p.service ?? 'sandbox', key: p.key, kind: p.secret ? 'secret' : 'variable' }),
  'env/delete': (p, r) => defined({ scope: p.service ?? 'sandbox', key: p.key, removed: r?.deleted }),
  'template/save': (p) =>
    defined({ services: Object.keys(p.spec.services), envKeys: p.spec.env ? Object.keys(p.spec.env) : undefined, ttl: p.spec.ttl }),
  'template/delete': () => undefined,
  'deploy/start': (p, r) =>
    defined({
      ref: p.ref ?? '(checked-out branch)',
      commit: p.commit,
      services: p.services,
      profiles: p.profiles,
      includeUncommitted: p.includeUncommitted,
      deployments: r?.deployments.map((d) => `${d.service}: ${d.id}`),
      addedDependencies: r?.addedDependencies?.length ? r.addedDependencies : undefined, // absent in entries older than it
    }),
  'deploy/cancel': (_p, r) => defined({ status: r?.status }),
  'sandbox/suspend': (_p, r) => defined({ stopped: r?.stopped }),
  'sandbox/resume': (_p, r) =>
    defined({ services: r?.services.map((s) => `${s.service}: ${s.healthy ? 'healthy' : 'unhealthy'}${s.commit ? ` @${s.commit.slice(0, 12)}` : ''}`) }),
  'sandbox/extend': (p, r) => defined({ by: p.by, expiresAt: r?.expiresAt, deletesAt: r?.deletesAt }),
  'trust/grant': (p, r) => defined({ repoPath: r?.repoPath ?? p.repoPath, context: p.context, command: p.command, grant: r?.id }),
  'image/reclaim': (p, r) =>
    defined({ dryRun: p.dryRun, removed: r?.removed.length, spaceReclaimed: r?.spaceReclaimed, buildsRunning: r?.buildsRunning }),
  'forward/add': (p, r) => defined({ project: p.project, service: p.service, containerPort: r?.containerPort, localPort: r?.localPort }),
  'forward/remove': (p, r) => defined({ project: p.project, service: p.service, containerPort: r?.removed.containerPort, localPort: r?.removed.localPort }),
  'forward/use': (p, r) => ({ project: r?.project ?? p.project, sandbox: p.sandbox }),
  'watch/start': (p, r) => defined({ repoPath: r?.repoPath ?? p.repoPath, services: r?.services.map((s) => s.service) ?? p.services }),
  'watch/stop': (_p, r) => defined({ stopped: r?.stopped }),
  'sandbox/follow': (p, r) => defined({ follow: p.follow, repoPath: r?.repoPath }),
  'trust/revoke': (_p, r) => defined({ revoked: r?.revoked.map((g) => `${g.id}: ${g.context} ${g.command.join(' ')}`) }),
};

/** Whether the method has a detail function (for the test that every audited method has one). */
export function hasAuditDetail(method: string): boolean {
  return Object.hasOwn(DETAILS, method);
}

/** What the request changed, or undefined (no detail function, nothing to say, or params it cannot read). */
export function auditDetail(method: string, params: unknown, result: unknown): AuditDetail | undefined {
  if (!hasAuditDetail(method)) return undefined;
  const of = DETAILS[method as AuditedMethod] as ((p: unknown, r: unknown) => AuditDetail | undefined) | undefined;
  if (!of) return undefined;
  try {
    return of(params ?? {}, result ?? undefined);
  } catch {
    return undefined; // params that passed validation but not the shape expected: no detail rather than no audit
  }
}
