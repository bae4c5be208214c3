/**
 * The sandbox commands, as factories for the command table (commands.ts): Deploy Current
 * Branch, Create, Clone, Snapshot, Restore, Delete, routes, gateway, environment, audit, and
 * the Deployments view's. Each takes the node it was invoked on (Sandboxes or Deployments
 * view) or, from the palette, asks which sandbox (the current one first).
 */
import * as vscode from 'vscode';
import type { RouteKind } from '../../schemas/src/project';
import type { EnvEntry } from '../../schemas/src/sandbox';
import type { CommandFactory, Ctx } from './commands';
import type { Connected } from './connection';
import { deployCurrentBranch, followDeployments } from './deploy-command';
import { isDeploymentNode } from './deployments-tree';
import {
  EMPTY_SANDBOX,
  auditText,
  deleteDetail,
  deletedText,
  deploymentLogText,
  envPickItems,
  explainText,
  forwardsText,
  resumedText,
  snapshotPickItems,
  suspendedText,
  templatePickItems,
  validateEnvKey,
  validateName,
  validateUrl,
} from './sandbox-logic';
import { routeExplanationPath, routeExplanationText } from './route-explanation';
import { gatewayUrlOf } from './sandbox-model';
import { SANDBOXES_VIEW_ID, isSandboxNode, isServiceNode } from './sandboxes-tree';

type Cmd = (...args: unknown[]) => unknown;
const withDaemon = (what: string, run: (ctx: Ctx, c: Connected, arg: unknown) => unknown): CommandFactory => ({
  what,
  withDaemon: (ctx, c) => (arg?: unknown) => run(ctx, c, arg),
});

export function createSandboxCommands(): Record<string, CommandFactory> {
  return {
    'branchbox.deploy': withDaemon('Deploy current branch', (ctx, c) => deployCurrentBranch(ctx, c)),
    'branchbox.sandbox.create': withDaemon('Create sandbox', (ctx, c) => createSandbox(ctx, c)),
    'branchbox.sandbox.clone': withDaemon('Clone sandbox', (ctx, c, arg) => cloneSandbox(ctx, c, arg)),
    'branchbox.sandbox.snapshot': withDaemon('Snapshot sandbox', (ctx, c, arg) => snapshotSandbox(ctx, c, arg)),
    'branchbox.sandbox.restore': withDaemon('Restore snapshot', (ctx, c, arg) => restoreSnapshot(ctx, c, arg)),
    'branchbox.sandbox.delete': withDaemon('Delete sandbox', (ctx, c, arg) => deleteSandbox(ctx, c, arg)),
    'branchbox.sandbox.useForForwards': withDaemon('Use sandbox for local forwards', (ctx, c, arg) => useForForwards(ctx, c, arg)),
    'branchbox.sandbox.suspend': withDaemon('Suspend sandbox', async (ctx, c, arg) => {
      const name = await sandboxOf(ctx, arg, 'Suspend');
      if (!name) return;
      const { stopped } = await inView(`Suspending ${name}…`, () => c.client.request('sandbox/suspend', { name }));
      const text = suspendedText(name, stopped);
      ctx.log.info(text);
      void vscode.window.showInformationMessage(text);
    }),
    'branchbox.sandbox.resume': withDaemon('Resume sandbox', async (ctx, c, arg) => {
      const name = await sandboxOf(ctx, arg, 'Resume');
      if (!name) return;
      const { services } = await inView(`Resuming ${name}…`, () => c.client.request('sandbox/resume', { name }));
      const { text, healthy } = resumedText(name, services);
      ctx.log.info(text);
      void (healthy ? vscode.window.showInformationMessage(text) : vscode.window.showWarningMessage(text));
    }),
    'branchbox.route.toSandbox': withDaemon('Route to sandbox', (ctx, c, arg) => setRoute(ctx, c, arg, 'sandbox')),
    'branchbox.route.toBaseline': withDaemon('Route to baseline', (ctx, c, arg) => setRoute(ctx, c, arg, 'baseline')),
    'branchbox.route.toUrl': withDaemon('Route to URL', (ctx, c, arg) => setRoute(ctx, c, arg, 'url')),
    'branchbox.route.explain': withDaemon('Explain route', (ctx, c, arg) => explainRoute(ctx, c, arg)),
    'branchbox.sandbox.openGateway': withDaemon('Open gateway', async (ctx, c, arg) => {
      const url = await gatewayUrl(ctx, c, arg, 'Open the gateway of');
      if (url) await vscode.env.openExternal(vscode.Uri.parse(url));
    }),
    'branchbox.sandbox.copyGatewayUrl': withDaemon('Copy gateway URL', async (ctx, c, arg) => {
      const url = await gatewayUrl(ctx, c, arg, 'Copy the gateway URL of');
      if (!url) return;
      await vscode.env.clipboard.writeText(url);
      void vscode.window.showInformationMessage(`Copied ${url}`);
    }),
    'branchbox.sandbox.manageEnv': withDaemon('Manage environment', (ctx, c, arg) => manageEnvironment(ctx, c, arg)),
    'branchbox.sandbox.showAudit': withDaemon('Show audit log', async (ctx, c, arg) => {
      const name = await sandboxOf(ctx, arg, 'Show the audit log of');
      if (!name) return;
      const { entries } = await c.client.request('audit/list', { target: `sandbox=${name}`, limit: 500 });
      await ctx.documents.show(`/audit/${name}.log`, auditText(name, entries));
    }),
    'branchbox.sandbox.actions': { what: 'Sandbox actions', withoutDaemon: (ctx) => (arg?: unknown) => sandboxActions(ctx, arg) },
    'branchbox.deployment.openLog': withDaemon('Open deployment log', (ctx, c, arg) => openDeploymentLog(ctx, c, arg)),
    'branchbox.deployment.cancel': withDaemon('Cancel deployment', async (ctx, c, arg) => {
      if (!isDeploymentNode(arg)) return;
      const { status } = await c.client.request('deploy/cancel', { id: arg.id });
      ctx.log.info(`Cancel deployment ${arg.id}: ${status}`);
    }),
  };
}

// --- Which sandbox ------------------------------------------------------------------------

/** The sandbox of the node given, else one picked (the current first); undefined when none. */
export async function sandboxOf(ctx: Ctx, arg: unknown, verb: string): Promise<string | undefined> {
  if (isSandboxNode(arg)) return arg.name;
  if (isServiceNode(arg)) return arg.sandbox;
  if (typeof arg === 'string') return arg;
  const all = ctx.sandboxes.model.sandboxes();
  if (all.length === 0) {
    void vscode.window.showInformationMessage('There is no sandbox yet: create one, or deploy the current branch.');
    return undefined;
  }
  const current = ctx.current.name;
  const items = all
    .sort((a, b) => Number(b.name === current) - Number(a.name === current))
    .map((s) => ({ label: s.name, description: [s.name === current ? 'current' : '', s.state === 'active' ? '' : s.state, gatewayUrlOf(s) ?? ''].filter(Boolean).join(' · '), name: s.name }));
  const picked = await vscode.window.showQuickPick(items, { title: `${verb} sandbox`, placeHolder: 'Pick a sandbox' });
  return picked?.name;
}

function inView<T>(title: string, task: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: { viewId: SANDBOXES_VIEW_ID }, title }, task);
}

// --- Lifecycle ------------------------------------------------------------------------------

async function createSandbox(ctx: Ctx, c: Connected): Promise<string | undefined> {
  const repoPath = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const { templates } = await c.client.request('template/list', repoPath ? { repoPath } : {}).catch(() => ({ templates: [] }));
  const template = await vscode.window.showQuickPick(templatePickItems(templates), { title: 'Create sandbox', placeHolder: 'Empty, or from a template' });
  if (!template) return undefined;
  const taken = ctx.sandboxes.model.sandboxes().map((s) => s.name);
  const name = (await vscode.window.showInputBox({ title: 'Create sandbox', prompt: 'Sandbox name (lowercase a-z, 0-9, "-")', validateInput: (v) => validateName(v.trim(), taken) }))?.trim();
  if (!name) return undefined;
  const fromTemplate = template.value === EMPTY_SANDBOX ? undefined : template.value;
  ctx.log.info(`Creating sandbox ${name}${fromTemplate ? ` from template ${fromTemplate}` : ''}`);
  const result = await inView(`Creating ${name}…`, () =>
    c.client.request('sandbox/create', { name, ...(repoPath ? { repoPath } : {}), ...(fromTemplate ? { fromTemplate, wait: false } : {}) }),
  );
  if (result.deployments.some((d) => d.deploymentId)) {
    const started = result.deployments.filter((d) => d.deploymentId).map((d) => ({ id: d.deploymentId!, service: d.service }));
    await followDeployments(c, `Deploying template ${fromTemplate} into ${name}`, started);
  }
  return name;
}

async function cloneSandbox(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const name = await sandboxOf(ctx, arg, 'Clone');
  if (!name) return;
  const taken = ctx.sandboxes.model.sandboxes().map((s) => s.name);
  const newName = (await vscode.window.showInputBox({ title: `Clone ${name}`, prompt: 'Name of the copy', value: `${name}-copy`.slice(0, 40), validateInput: (v) => validateName(v.trim(), taken) }))?.trim();
  if (!newName) return;
  ctx.log.info(`Cloning sandbox ${name} into ${newName}`);
  const result = await inView(`Cloning ${name} into ${newName}…`, () => c.client.request('sandbox/clone', { name, newName, wait: false }));
  const started = result.deployments.filter((d) => d.deploymentId).map((d) => ({ id: d.deploymentId!, service: d.service }));
  if (started.length) await followDeployments(c, `Deploying ${newName}`, started);
}

async function snapshotSandbox(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const name = await sandboxOf(ctx, arg, 'Snapshot');
  if (!name) return;
  const { snapshots } = await c.client.request('snapshot/list', {});
  const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '').toLowerCase();
  const snapshot = (
    await vscode.window.showInputBox({
      title: `Snapshot ${name}`,
      prompt: 'Snapshot name',
      value: `${name}-${stamp}`.slice(0, 40),
      validateInput: (v) => validateName(v.trim(), snapshots.map((s) => s.name), 'snapshot'),
    })
  )?.trim();
  if (!snapshot) return;
  const taken = await c.client.request('sandbox/snapshot', { name, snapshot });
  ctx.log.info(`Snapshot ${snapshot} of ${name}: ${taken.services.length} services, ${taken.envKeys} env entries`);
  void vscode.window.showInformationMessage(`Snapshot ${snapshot} of ${name} taken (${taken.services.length} services, ${taken.envKeys} environment entries).`);
}

async function restoreSnapshot(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const of = isSandboxNode(arg) ? arg.name : undefined;
  const { snapshots } = await c.client.request('snapshot/list', of ? { sandbox: of } : {});
  if (snapshots.length === 0) {
    void vscode.window.showInformationMessage(of ? `There is no snapshot of ${of}.` : 'There is no snapshot yet.');
    return;
  }
  const picked = await vscode.window.showQuickPick(snapshotPickItems(snapshots), { title: 'Restore snapshot', placeHolder: 'The snapshot to restore' });
  if (!picked) return;
  const snap = snapshots.find((s) => s.name === picked.value)!;
  const into = (await vscode.window.showInputBox({ title: `Restore ${snap.name}`, prompt: 'Into the sandbox (its own by default, or a new name)', value: snap.sandbox, validateInput: (v) => validateName(v.trim()) }))?.trim();
  if (!into) return;
  ctx.log.info(`Restoring snapshot ${snap.name} into ${into}`);
  const result = await inView(`Restoring ${snap.name}…`, () => c.client.request('sandbox/restore', { snapshot: snap.name, into, wait: false }));
  const started = result.deployments.filter((d) => d.deploymentId).map((d) => ({ id: d.deploymentId!, service: d.service }));
  if (started.length) await followDeployments(c, `Restoring ${snap.name} into ${into}`, started);
}

async function deleteSandbox(ctx: Ctx, c: Connected, arg: unknown): Promise<boolean> {
  const name = await sandboxOf(ctx, arg, 'Delete');
  if (!name) return false;
  const s = ctx.sandboxes.model.sandbox(name);
  const detail = deleteDetail(s?.services.map((v) => v.service) ?? [], await volumesOf(c, name));
  const confirm = await vscode.window.showWarningMessage(`Delete sandbox ${name}?`, { modal: true, detail }, 'Delete');
  if (confirm !== 'Delete') return false;
  ctx.log.info(`Deleting sandbox ${name}`);
  const removed = await inView(`Deleting ${name}…`, () => c.client.request('sandbox/delete', { name }));
  const text = deletedText(name, removed);
  ctx.log.info(text);
  void vscode.window.showInformationMessage(text);
  ctx.current.refresh(name);
  return true;
}

/** The names of a sandbox's volumes (`sandbox/volumes`); undefined when the daemon cannot say. */
async function volumesOf(c: Connected, name: string): Promise<string[] | undefined> {
  try {
    return (await c.client.request('sandbox/volumes', { name })).volumes.map((v) => v.name);
  } catch {
    return undefined;
  }
}

// --- Routes and the gateway -----------------------------------------------------------------

async function setRoute(ctx: Ctx, c: Connected, arg: unknown, kind: RouteKind): Promise<void> {
  let sandbox: string | undefined;
  let service: string | undefined;
  if (isServiceNode(arg)) ({ sandbox, service } = arg);
  else {
    sandbox = await sandboxOf(ctx, arg, `Route a service of`);
    if (!sandbox) return;
    const routes = await c.client.request('route/list', { sandbox });
    const picked = await vscode.window.showQuickPick(
      routes.services.map((s) => ({ label: s.service, description: `→ ${s.kind}${s.url ? ` ${s.url}` : ''}`, detail: s.reason })),
      { title: `Route to ${kind}`, placeHolder: `The service of ${sandbox} to route` },
    );
    service = picked?.label;
  }
  if (!service) return;
  let url: string | undefined;
  if (kind === 'url') {
    url = (await vscode.window.showInputBox({ title: `Route ${service} of ${sandbox} to a URL`, prompt: 'http:// or https:// URL', validateInput: (v) => validateUrl(v.trim()) }))?.trim();
    if (!url) return;
  }
  const result = await c.client.request('route/set', { sandbox, service, kind, ...(url ? { url } : {}) });
  ctx.log.info(`Route ${service} of ${sandbox} → ${kind}${url ? ` ${url}` : ''}: ${result.reason}`);
  void vscode.window.showInformationMessage(`${service} of ${sandbox} now goes to ${result.effective ? `${result.effective.kind} ${result.effective.url}` : 'nowhere'}: ${result.reason}`);
}

async function explainRoute(ctx: Ctx, c: Connected, arg: unknown): Promise<string | undefined> {
  const sandbox = await sandboxOf(ctx, arg, 'Explain a route of');
  if (!sandbox) return undefined;
  const path = (await vscode.window.showInputBox({ title: `Explain a route of ${sandbox}`, prompt: 'A request path', value: '/', validateInput: (v) => (v.startsWith('/') ? undefined : 'A path starts with "/".') }))?.trim();
  if (!path) return undefined;
  const [decision, routes] = await Promise.all([
    c.client.request('route/explain', { sandbox, path }),
    // The services' targets complete the view; the decision alone is still worth showing.
    c.client.request('route/list', { sandbox }).catch((e: unknown) => {
      ctx.log.warn(`Explain route: route/list of ${sandbox} failed: ${(e as Error).message}`);
      return undefined;
    }),
  ]);
  ctx.log.info(`Explain route ${path} in ${sandbox}: ${explainText(path, decision)}`);
  const text = routeExplanationText(sandbox, path, decision, routes);
  await ctx.documents.show(routeExplanationPath(sandbox), text);
  return text;
}

async function gatewayUrl(ctx: Ctx, c: Connected, arg: unknown, verb: string): Promise<string | undefined> {
  const name = await sandboxOf(ctx, arg, verb);
  if (!name) return undefined;
  const info = await c.client.request('gateway/info', { sandbox: name });
  const entry = info.sandboxes.find((s) => s.sandbox === name);
  if (!entry?.gateway) throw new Error(`The gateway of ${name} does not run${entry?.error ? `: ${entry.error}` : ''}.`);
  return entry.gateway.url;
}

// --- Environment ----------------------------------------------------------------------------

async function manageEnvironment(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const sandbox = await sandboxOf(ctx, arg, 'Manage the environment of');
  if (!sandbox) return;
  const { entries } = await c.client.request('env/list', { sandbox });
  type Choice = { label: string; description?: string; detail?: string; action: 'set' | 'secret' | 'entry'; entry?: EnvEntry };
  const items: Choice[] = [
    { label: '$(add) Set Variable…', action: 'set' },
    { label: '$(lock) Set Secret…', description: 'stored encrypted, never shown', action: 'secret' },
    ...envPickItems(entries).map((i) => ({ label: i.label, description: i.description, detail: i.detail, action: 'entry' as const, entry: i.value })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `Environment of ${sandbox}`, placeHolder: `${entries.length} entries; pick one to change or delete it` });
  if (!picked) return;
  if (picked.action === 'entry') {
    const e = picked.entry!;
    const what = await vscode.window.showQuickPick([{ label: 'Change Value…' }, { label: 'Delete' }], { title: `${e.key}${e.service ? ` (${e.service})` : ''}` });
    if (what?.label === 'Delete') {
      await c.client.request('env/delete', { sandbox, key: e.key, ...(e.service ? { service: e.service } : {}) });
      ctx.log.info(`Environment of ${sandbox}: deleted ${e.key}${e.service ? ` of ${e.service}` : ''}`);
    } else if (what) await setEnv(ctx, c, sandbox, e.secret, e.key, e.service ?? null);
    return;
  }
  await setEnv(ctx, c, sandbox, picked.action === 'secret');
}

async function setEnv(ctx: Ctx, c: Connected, sandbox: string, secret: boolean, key?: string, service?: string | null): Promise<void> {
  key ??= (await vscode.window.showInputBox({ title: `Environment of ${sandbox}`, prompt: secret ? 'Secret name' : 'Variable name', validateInput: (v) => validateEnvKey(v.trim()) }))?.trim();
  if (!key) return;
  if (service === undefined) {
    const services = ctx.sandboxes.model.sandbox(sandbox)?.services.map((s) => s.service) ?? [];
    const scope = await vscode.window.showQuickPick(
      [{ label: 'Every service', service: undefined as string | undefined }, ...services.map((s) => ({ label: s, service: s as string | undefined }))],
      { title: `${key}: for which service?` },
    );
    if (!scope) return;
    service = scope.service ?? null;
  }
  const value = await vscode.window.showInputBox({
    title: `${key}${service ? ` (${service})` : ''} in ${sandbox}`,
    prompt: secret ? 'The secret value (stored encrypted; never shown again)' : 'The value',
    password: secret,
    ignoreFocusOut: secret,
  });
  if (value === undefined) return;
  const set = await c.client.request('env/set', { sandbox, key, value, ...(service ? { service } : {}), ...(secret ? { secret: true } : {}) });
  // The value is never logged: a secret must not reach any log.
  ctx.log.info(`Environment of ${sandbox}: set ${secret ? 'secret' : 'variable'} ${key}${service ? ` of ${service}` : ''}; used by the next deployment`);
  if (set.warning) {
    ctx.log.warn(set.warning);
    void vscode.window.showWarningMessage(set.warning);
    return;
  }
  void vscode.window.showInformationMessage(`${secret ? 'Secret' : 'Variable'} ${key} set in ${sandbox}${service ? ` for ${service}` : ''}; the next deployment uses it.`);
}

// --- Local forwards -------------------------------------------------------------------------

/**
 * `forward/use`: the sandbox becomes its project's current one, where every local forward of
 * the project (127.0.0.1:15432 → postgres, say) sends new connections.
 */
async function useForForwards(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const name = await sandboxOf(ctx, arg, 'Use for local forwards:');
  if (!name) return;
  if (!c.capabilities.methods.includes('forward/use')) {
    throw new Error(`branchboxd ${c.serverInfo.version} has no local forwards (forward/use); restart the daemon to run the version bundled with the extension`);
  }
  const now = await inView(`Switching local forwards to ${name}…`, () => c.client.request('forward/use', { sandbox: name }));
  const text = forwardsText(now);
  ctx.log.info(text);
  void vscode.window.showInformationMessage(text);
}

// --- Deployments and actions ----------------------------------------------------------------

async function openDeploymentLog(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const id = isDeploymentNode(arg) ? arg.id : typeof arg === 'string' ? arg : undefined;
  if (!id) return;
  const [record, log] = await Promise.all([c.client.request('deploy/get', { id }), c.client.request('deploy/logs', { id, limit: 10000 })]);
  await ctx.documents.show(`/deployments/${record.service}-${id.slice(0, 8)}.log`, deploymentLogText(record, log.lines, log.more));
}

const SANDBOX_ACTIONS: { label: string; command: string }[] = [
  { label: '$(rocket) Deploy Current Branch', command: 'branchbox.deploy' },
  { label: '$(globe) Open Gateway in Browser', command: 'branchbox.sandbox.openGateway' },
  { label: '$(clippy) Copy Gateway URL', command: 'branchbox.sandbox.copyGatewayUrl' },
  { label: '$(question) Explain Route…', command: 'branchbox.route.explain' },
  { label: '$(symbol-variable) Manage Environment…', command: 'branchbox.sandbox.manageEnv' },
  { label: '$(device-camera) Snapshot…', command: 'branchbox.sandbox.snapshot' },
  { label: '$(copy) Clone…', command: 'branchbox.sandbox.clone' },
  { label: '$(list-unordered) Show Audit Log', command: 'branchbox.sandbox.showAudit' },
  { label: '$(output) Show Logs', command: 'branchbox.showLogs' },
  { label: '$(graph) Show Stats', command: 'branchbox.showStats' },
  { label: '$(plug) Use for Local Forwards', command: 'branchbox.sandbox.useForForwards' },
  { label: '$(debug-pause) Suspend', command: 'branchbox.sandbox.suspend' },
  { label: '$(debug-continue) Resume', command: 'branchbox.sandbox.resume' },
  { label: '$(trash) Delete…', command: 'branchbox.sandbox.delete' },
];

async function sandboxActions(ctx: Ctx, arg: unknown): Promise<void> {
  const name = isSandboxNode(arg) ? arg.name : ctx.current.name;
  if (!name) {
    const picked = await vscode.window.showQuickPick(
      [
        { label: '$(rocket) Deploy Current Branch', command: 'branchbox.deploy' },
        { label: '$(add) Create Sandbox…', command: 'branchbox.sandbox.create' },
      ],
      { title: 'Branchbox: no current sandbox' },
    );
    if (picked) await vscode.commands.executeCommand(picked.command);
    return;
  }
  const picked = await vscode.window.showQuickPick(SANDBOX_ACTIONS, { title: `Sandbox ${name}` });
  if (!picked) return;
  await vscode.commands.executeCommand(picked.command, ...(picked.command === 'branchbox.deploy' ? [] : [{ kind: 'sandbox', key: `sandbox:${name}`, name, sandbox: name }]));
}

export type { Cmd };
