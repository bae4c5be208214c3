/**
 * The panel commands, as factories in the shape of the command table (../commands.ts):
 * spread `panelCommands()` into `createCommands()`, and call `registerPanels(ctx)` once in
 * `activate` (it registers the serializers that reopen panels after a reload, so it must run
 * during activation; add `onWebviewPanel:branchbox.logs|stats|deployment` activation events).
 *
 * Command ids and arguments (every argument is optional; without one, a quick pick asks):
 *
 *   branchbox.showLogs        a Containers tree node (ContainerNode)
 *                             | { container: string; label?: string }            one container
 *                             | { sandbox: string; services?: string[] }         services of a sandbox, merged
 *                                                                                (all of them when `services` is absent)
 *                             | { sources: { container: string; label: string }[]; title?: string }   any set, merged
 *   branchbox.showStats       a Containers tree node | { container: string } | { sandbox: string }
 *   branchbox.showDeployment  a deployment id (string) | { deployment: string } | { id: string }
 *
 * A service's logs (a sandbox or service node, or a container of a sandbox) follow the service
 * across redeploys; titles name the service and its sandbox ("Logs: account (demo)"), so two
 * tabs never share one (targets.ts).
 *
 * Menus: showLogs/showStats on `viewItem =~ /^container\./` (and on sandbox/service items
 * once those views exist, passing `{ sandbox, services? }`), showDeployment on deployment items.
 */
import * as vscode from 'vscode';
import type { ContainerSummary } from '../../../schemas/src/docker';
import { servingContainerName } from '../../../schemas/src/docker-names';
import type { LogSourceRef, PanelTarget } from '../../../schemas/src/webview';
import type { CommandFactory, Ctx } from '../commands';
import type { Connected } from '../connection';
import { PanelHost } from './panel-host';
import { deploymentTitle, logsTitle, statsTitle } from './targets';

const hosts = new WeakMap<Ctx['connection'], PanelHost>();

/** Creates the panel host and registers its serializers; call once in `activate`. */
export function registerPanels(ctx: Ctx): vscode.Disposable {
  const host = hostOf(ctx);
  return vscode.Disposable.from(host, ...host.registerSerializers());
}

function hostOf(ctx: Ctx): PanelHost {
  let host = hosts.get(ctx.connection);
  if (!host) {
    host = new PanelHost(ctx.extension.extensionUri, ctx.connection, ctx.log);
    hosts.set(ctx.connection, host);
  }
  return host;
}

export function panelCommands(): Record<string, CommandFactory> {
  return {
    'branchbox.showLogs': {
      what: 'Show logs',
      withDaemon: (ctx, c) => async (arg?: unknown) => {
        const target = await logsTarget(ctx, c, arg);
        if (target) hostOf(ctx).show(target);
      },
    },
    'branchbox.showStats': {
      what: 'Show stats',
      withDaemon: (ctx) => async (arg?: unknown) => {
        const target = await statsTarget(ctx, arg);
        if (target) hostOf(ctx).show(target);
      },
    },
    'branchbox.showDeployment': {
      what: 'Show deployment',
      withDaemon: (ctx, c) => async (arg?: unknown) => {
        const target = await deploymentTarget(c, arg);
        if (target) hostOf(ctx).show(target);
      },
    },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function logsOf(sources: LogSourceRef[], title?: string): PanelTarget {
  return { kind: 'logs', sources, title: title ?? logsTitle(sources) };
}

/**
 * A container as a log source: the service it serves, when it is the one serving a sandbox's
 * service (followed across redeploys); any other container (one still deploying, too) as itself.
 */
function sourceOf(s: ContainerSummary): LogSourceRef {
  return s.sandbox !== undefined && s.service !== undefined && s.name === servingContainerName(s.sandbox, s.service)
    ? { container: s.id, label: s.service, sandbox: s.sandbox, service: s.service }
    : { container: s.id, label: s.name };
}

async function logsTarget(ctx: Ctx, c: Connected, arg: unknown): Promise<PanelTarget | undefined> {
  const fromTree = ctx.containers.containerOf(arg);
  if (fromTree) return logsOf([sourceOf(fromTree)]);
  if (isObject(arg)) {
    if (Array.isArray(arg.sources)) {
      const sources = arg.sources.filter((s): s is LogSourceRef => isObject(s) && !!str(s.container) && !!str(s.label));
      if (sources.length === 0) throw new Error('No container to show logs of.');
      return logsOf(sources, str(arg.title));
    }
    const container = str(arg.container);
    if (container) return logsOf([{ container, label: str(arg.label) ?? container }]);
    const sandbox = str(arg.sandbox);
    if (sandbox) {
      const wanted = Array.isArray(arg.services) ? arg.services.filter((s): s is string => typeof s === 'string') : undefined;
      const sb = await c.client.request('sandbox/get', { name: sandbox });
      const sources = sb.services
        .filter((s) => (!wanted || wanted.includes(s.service)) && s.containerId)
        .map((s) => ({ container: s.containerId!, label: s.service, sandbox, service: s.service }));
      if (sources.length === 0) throw new Error(`No running service${wanted ? ` among ${wanted.join(', ')}` : ''} in sandbox ${sandbox}.`);
      return logsOf(sources);
    }
  }
  if (arg !== undefined) throw new Error('That container is no longer listed; it may have been removed.');
  const picked = await pickContainers(ctx, 'Show logs of', true);
  return picked.length ? logsOf(picked.map(sourceOf)) : undefined;
}

function containerStats(s: ContainerSummary): PanelTarget {
  return {
    kind: 'stats',
    container: s.id,
    ...(s.sandbox !== undefined ? { containerSandbox: s.sandbox } : {}),
    title: statsTitle({ container: s.id, name: s.name, ...(s.service !== undefined ? { service: s.service } : {}), ...(s.sandbox !== undefined ? { containerSandbox: s.sandbox } : {}) }),
  };
}

async function statsTarget(ctx: Ctx, arg: unknown): Promise<PanelTarget | undefined> {
  const fromTree = ctx.containers.containerOf(arg);
  if (fromTree) return containerStats(fromTree);
  if (isObject(arg)) {
    const sandbox = str(arg.sandbox);
    if (sandbox) return { kind: 'stats', sandbox, title: statsTitle({ sandbox }) };
    const container = str(arg.container);
    if (container) return { kind: 'stats', container, title: statsTitle({ container, name: str(arg.label) ?? container }) };
  }
  if (arg !== undefined) throw new Error('That container is no longer listed; it may have been removed.');
  const [picked] = await pickContainers(ctx, 'Show stats of', false);
  return picked ? containerStats(picked) : undefined;
}

async function deploymentTarget(c: Connected, arg: unknown): Promise<PanelTarget | undefined> {
  const id = str(arg) ?? (isObject(arg) ? (str(arg.deployment) ?? str(arg.id)) : undefined);
  if (id) {
    const d = await c.client.request('deploy/get', { id });
    return { kind: 'deployment', deployment: d.id, title: deploymentTitle(d) };
  }
  const { deployments } = await c.client.request('deploy/list', { limit: 50 });
  if (deployments.length === 0) {
    void vscode.window.showInformationMessage('No deployments yet.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    deployments.map((d) => ({
      label: `${d.service} → ${d.sandbox}`,
      description: `${d.status}${d.ref ? ` · ${d.ref}` : ''}${d.commit ? `@${d.commit.slice(0, 7)}` : ''}`,
      detail: `${d.createdAt} · ${d.id}`,
      d,
    })),
    { title: 'Show deployment', placeHolder: 'Pick a deployment', matchOnDescription: true },
  );
  return picked ? { kind: 'deployment', deployment: picked.d.id, title: deploymentTitle(picked.d) } : undefined;
}

async function pickContainers(ctx: Ctx, title: string, many: boolean): Promise<ContainerSummary[]> {
  const all = ctx.containers.model.all();
  if (all.length === 0) {
    void vscode.window.showInformationMessage('No container to show.');
    return [];
  }
  const items = all.map((s) => ({ label: s.name, description: s.state, detail: `${s.image} · ${s.id.slice(0, 12)}`, s }));
  const options = { title, placeHolder: many ? 'Pick one or more containers (several are merged)' : 'Pick a container', matchOnDetail: true };
  if (many) return ((await vscode.window.showQuickPick(items, { ...options, canPickMany: true })) ?? []).map((i) => i.s);
  const one = await vscode.window.showQuickPick(items, options);
  return one ? [one.s] : [];
}
