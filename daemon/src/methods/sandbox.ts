/**
 * Handlers of projects, sandboxes, environments, templates and snapshots
 * (schemas/src/sandbox.ts). Secrets leave only as `***`: every environment entry answered
 * comes from EnvironmentStore's masked views.
 */
import type { Sandbox, sandboxMethods } from '../../../schemas/src/sandbox';
import type { Project } from '../../../schemas/src/project';
import type { HandlerGroup, RequestContext } from '../rpc/handlers';
import { unmaskedSecretWarning, type EnvironmentStore } from '../sandbox/environment';
import { validateServiceName } from '../sandbox/names';
import type { Requester, SandboxService } from '../sandbox/sandbox-service';
import type { SandboxStore } from '../sandbox/sandbox-store';
import { summarize, type SnapshotStore } from '../sandbox/snapshots';
import type { TemplateStore } from '../sandbox/templates';

export interface SandboxHandlerDeps {
  readonly sandboxes: SandboxStore;
  readonly service: SandboxService;
  readonly environments: EnvironmentStore;
  readonly templates: TemplateStore;
  readonly snapshots: SnapshotStore;
  readonly loadProject: (path: string) => Project;
  /** `loadProject` off the event loop, for the requests that only read a project (default: loadProject). */
  readonly readProject?: (path: string) => Promise<Project>;
  /** How a sandbox is shown to clients (e.g. with its health); as stored by default. */
  readonly view?: SandboxView;
}

/** Completes a sandbox for an answer with what other modules know of it (its health). */
export type SandboxView = (sandbox: Sandbox) => Sandbox;

type SandboxMethod = Exclude<keyof typeof sandboxMethods, 'audit/list'>;

const requester = (ctx: RequestContext): Requester => ({
  osUser: ctx.session.osUser,
  ...(ctx.session.clientInfo ? { client: ctx.session.clientInfo.name } : {}),
});

export function sandboxHandlers(deps: SandboxHandlerDeps): HandlerGroup<SandboxMethod> {
  const { sandboxes, service, environments, templates, snapshots } = deps;
  const view = deps.view ?? ((s: Sandbox) => s);
  const readProject = deps.readProject ?? (async (path: string) => deps.loadProject(path));
  const viewed = async <R extends { sandbox: Sandbox }>(result: Promise<R>): Promise<R> => {
    const r = await result;
    return { ...r, sandbox: view(r.sandbox) };
  };
  /** The sandbox must exist; a service name, when given, must be a valid name. */
  const envTarget = (p: { sandbox: string; service?: string }) => {
    sandboxes.require(p.sandbox);
    if (p.service !== undefined) validateServiceName(p.service);
  };
  return {
    'project/load': (p) => readProject(p.path),

    'sandbox/list': () => ({ sandboxes: sandboxes.list().map(view) }),
    'sandbox/get': (p) => view(sandboxes.require(p.name)),
    'sandbox/create': (p, ctx) => viewed(service.create(p, requester(ctx))),
    'sandbox/update': (p) => view(service.update(p.name, p)),
    'sandbox/delete': (p) => service.delete(p.name),
    'sandbox/volumes': (p) => service.volumes(p.name),
    'sandbox/clone': (p, ctx) => viewed(service.clone(p.name, p.newName, p.wait ?? true, requester(ctx))),
    'sandbox/snapshot': (p) => service.snapshot(p.name, p.snapshot),
    'sandbox/restore': (p, ctx) => viewed(service.restore(p.snapshot, p.into, p.wait ?? true, requester(ctx))),
    'sandbox/subscribe': (_p, ctx) => {
      const sub = ctx.session.subscribe('sandbox/event');
      const stop = sandboxes.onChange((event) => sub.push(event.sandbox ? { ...event, sandbox: view(event.sandbox) } : event));
      sub.signal.addEventListener('abort', stop, { once: true });
      return { subscription: sub.id };
    },

    'snapshot/list': (p) => ({ snapshots: snapshots.list(p.sandbox).map(summarize) }),
    'snapshot/delete': async (p) => {
      await service.deleteSnapshot(p.name);
      return null;
    },

    'env/list': (p) => {
      envTarget(p);
      return { entries: environments.list(p.sandbox, p.service) };
    },
    'env/get': (p) => {
      envTarget(p);
      return environments.get(p.sandbox, p.service, p.key) ?? null;
    },
    'env/set': (p, ctx) => {
      envTarget(p);
      const entry = environments.set(p.sandbox, p.service, p.key, p.value, p.secret ?? false);
      const where = `${p.sandbox}${p.service ? `/${p.service}` : ''}`;
      ctx.log.info(`Set ${entry.secret ? 'secret' : 'variable'} ${p.key} of ${where}`);
      const warning = entry.secret ? unmaskedSecretWarning(p.key, p.value) : undefined;
      if (warning) ctx.log.warn(`Secret ${p.key} of ${where} is too short to be masked in output`, { sandbox: p.sandbox, key: p.key });
      sandboxes.changed(p.sandbox);
      return warning ? { ...entry, warning } : entry;
    },
    'env/delete': (p) => {
      envTarget(p);
      const deleted = environments.delete(p.sandbox, p.service, p.key);
      if (deleted) sandboxes.changed(p.sandbox);
      return { deleted };
    },

    'template/list': async (p) => ({
      templates: templates.list(p.repoPath !== undefined ? await readProject(p.repoPath) : undefined),
    }),
    'template/get': async (p) =>
      templates.require(p.name, p.repoPath !== undefined ? await readProject(p.repoPath) : undefined),
    'template/save': (p) => templates.save(p.name, p.spec),
    'template/delete': (p) => {
      templates.delete(p.name);
      return null;
    },
  };
}
