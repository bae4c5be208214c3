/**
 * Every command, in one table of factories (`createCommands`), registered once. A command
 * that needs the daemon is built from a `Connected` (`withDaemon`); it waits briefly for a
 * connection and otherwise fails with a message saying why — or runs its `withoutDaemon` form,
 * when it has one that works without the daemon. Running a command that uses the daemon is
 * what first reaches (or starts) it, as is opening a Branchbox view (daemon-demand.ts). Every
 * command runs through `runCommand`, the one place failures are logged and shown.
 */
import * as vscode from 'vscode';
import { ProtocolError } from '../../schemas/src/client';
import type { ConfigDiagnostics } from './config-diagnostics';
import type { ContainerSummary } from '../../schemas/src/docker';
import type { Connected, DaemonConnection } from './connection';
import { isRunning } from './container-model';
import type { ContainersTree } from './containers-tree';
import { CONTAINERS_VIEW_ID } from './containers-tree';
import type { CurrentSandbox } from './current-sandbox';
import { DaemonLogChannel } from './daemon-log';
import type { DeploymentsTree } from './deployments-tree';
import type { DaemonDocuments } from './documents';
import { openShellTerminal } from './exec-terminal';
import { NotConnectedError } from './failure';
import { runCommand, type Log } from './log';
import { onboardingCommands } from './onboarding-commands';
import { panelCommands } from './panels/commands';
import { createSandboxCommands } from './sandbox-commands';
import type { SandboxesTree } from './sandboxes-tree';
import { followCommands } from './follow-commands';
import { watchCommands } from './watch-commands';

/** What commands work with: the extension's parts, whether or not the daemon is there. */
export interface Ctx {
  readonly extension: vscode.ExtensionContext;
  readonly connection: DaemonConnection;
  readonly log: Log;
  readonly containers: ContainersTree;
  readonly sandboxes: SandboxesTree;
  readonly deployments: DeploymentsTree;
  readonly documents: DaemonDocuments;
  /** The sandbox this window works with (status bar, palette defaults). */
  readonly current: CurrentSandbox;
  readonly daemonLog: DaemonLogChannel;
  /** Project files' problems in the Problems panel. */
  readonly configs: ConfigDiagnostics;
}

type Cmd = (...args: unknown[]) => unknown;

export interface CommandFactory {
  /** For failure messages: "Stop container" → "Stop container failed: ...". */
  readonly what: string;
  /** The command when connected to the daemon. */
  readonly withDaemon?: (ctx: Ctx, c: Connected) => Cmd;
  /** The command without a connection (or the only form, for commands that never need one). */
  readonly withoutDaemon?: (ctx: Ctx) => Cmd;
}

/** How long a command waits for a connection that is being made. */
const CONNECT_WAIT_MS = 5_000;
/** How long after a shell was killed its container may take to be seen stopping. */
const SHELL_STOP_GRACE_MS = 5_000;

export function createCommands(): Record<string, CommandFactory> {
  return {
    'branchbox.showLog': { what: 'Show log', withoutDaemon: (ctx) => () => ctx.log.show(true) },
    'branchbox.showDaemonLog': {
      what: 'Show daemon log',
      withDaemon: (ctx, c) => () => ctx.daemonLog.show(c),
      withoutDaemon: (ctx) => () => DaemonLogChannel.openFile(ctx.connection.daemonHost.logFile),
    },
    'branchbox.restartDaemon': { what: 'Restart daemon', withoutDaemon: (ctx) => () => restartDaemon(ctx) },
    'branchbox.refresh': {
      what: 'Refresh',
      withoutDaemon: (ctx) => () => {
        ctx.log.info('Refresh: reconnecting to branchboxd');
        ctx.connection.reconnect('refresh requested');
      },
    },
    'branchbox.daemonActions': { what: 'Daemon actions', withoutDaemon: () => () => daemonActions() },
    'branchbox.container.start': {
      what: 'Start container',
      withDaemon: (ctx, c) => containerCommand(ctx, 'Start', (s) => !isRunning(s) && s.state !== 'removing', (s) =>
        withViewProgress(`Starting ${s.name}…`, () => c.client.request('container/start', { id: s.id })),
      ),
    },
    'branchbox.container.stop': {
      what: 'Stop container',
      withDaemon: (ctx, c) => containerCommand(ctx, 'Stop', isRunning, (s) =>
        withViewProgress(`Stopping ${s.name}…`, () => c.client.request('container/stop', { id: s.id })),
      ),
    },
    'branchbox.container.restart': {
      what: 'Restart container',
      withDaemon: (ctx, c) => containerCommand(ctx, 'Restart', (s) => s.state !== 'removing', (s) =>
        withViewProgress(`Restarting ${s.name}…`, () => c.client.request('container/restart', { id: s.id })),
      ),
    },
    'branchbox.container.remove': {
      what: 'Remove container',
      withDaemon: (ctx, c) => containerCommand(ctx, 'Remove', (s) => s.state !== 'removing', (s) => removeContainer(c, s)),
    },
    'branchbox.container.attachShell': {
      what: 'Attach shell',
      withDaemon: (ctx, c) => containerCommand(ctx, 'Attach a shell to', (s) => s.state === 'running', (s) => {
        openShellTerminal(c, s, ctx.log, (id) => ctx.containers.stopsWithin(id, SHELL_STOP_GRACE_MS));
      }),
    },
    ...createSandboxCommands(),
    ...panelCommands(),
    ...onboardingCommands(),
    ...watchCommands(),
    ...followCommands(),
  };
}

/** Registers every command of the table; returns their registrations. */
export function registerCommands(ctx: Ctx, factories: Record<string, CommandFactory> = createCommands()): vscode.Disposable[] {
  return Object.entries(factories).map(([id, factory]) =>
    vscode.commands.registerCommand(id, (...args: unknown[]) =>
      runCommand(ctx.log, factory.what, async () => {
        const command = await resolve(ctx, factory);
        return command(...args);
      }),
    ),
  );
}

async function resolve(ctx: Ctx, factory: CommandFactory): Promise<Cmd> {
  if (!factory.withDaemon) return factory.withoutDaemon!(ctx);
  // A command that uses the daemon is a need of it: the first one reaches (or starts) it.
  ctx.connection.start();
  const now = ctx.connection.connected;
  if (now) return factory.withDaemon(ctx, now);
  if (factory.withoutDaemon) return factory.withoutDaemon(ctx);
  try {
    return factory.withDaemon(ctx, await ctx.connection.whenConnected(CONNECT_WAIT_MS));
  } catch (e) {
    throw new NotConnectedError((e as Error).message);
  }
}

// --- Containers -----------------------------------------------------------------------------

/**
 * A command on one container: the one given (tree item, inline action) or, from the
 * palette, one picked among those `applies` to.
 */
function containerCommand(
  ctx: Ctx,
  verb: string,
  applies: (c: ContainerSummary) => boolean,
  run: (c: ContainerSummary) => unknown,
): Cmd {
  return async (arg?: unknown) => {
    const target = arg === undefined ? await pickContainer(ctx, verb, applies) : ctx.containers.containerOf(arg);
    if (arg !== undefined && !target) throw new Error('That container is no longer listed; it may have been removed.');
    if (!target) return;
    ctx.log.info(`${verb} container ${target.name} (${target.id.slice(0, 12)})`);
    await run(target);
  };
}

async function pickContainer(ctx: Ctx, verb: string, applies: (c: ContainerSummary) => boolean): Promise<ContainerSummary | undefined> {
  const candidates = ctx.containers.model.all().filter(applies);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`No container to ${verb.toLowerCase()}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((c) => ({
      label: c.name,
      description: `${c.state}${c.health ? ` (${c.health})` : ''}`,
      detail: `${c.image} · ${c.id.slice(0, 12)}`,
      container: c,
    })),
    { title: `${verb} container`, placeHolder: 'Pick a container', matchOnDescription: true, matchOnDetail: true },
  );
  return picked?.container;
}

function withViewProgress<T>(title: string, task: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: { viewId: CONTAINERS_VIEW_ID }, title }, task);
}

async function removeContainer(c: Connected, s: ContainerSummary): Promise<void> {
  const confirm = await vscode.window.showWarningMessage(
    `Remove container ${s.name}?`,
    { modal: true, detail: `${s.image} · ${s.id.slice(0, 12)}\nIts writable layer is deleted; this cannot be undone.` },
    'Remove',
  );
  if (confirm !== 'Remove') return;
  try {
    await withViewProgress(`Removing ${s.name}…`, () => c.client.request('container/remove', { id: s.id }));
  } catch (e) {
    if (!(e instanceof ProtocolError && e.errorName === 'ContainerRunning')) throw e;
    const choice = await vscode.window.showWarningMessage(
      `${s.name} is running.`,
      { modal: true, detail: 'Stop it gracefully and then remove it, or kill and remove it at once?' },
      'Stop and Remove',
      'Force Remove',
    );
    if (choice === 'Stop and Remove') {
      await withViewProgress(`Stopping and removing ${s.name}…`, async () => {
        await c.client.request('container/stop', { id: s.id });
        await c.client.request('container/remove', { id: s.id });
      });
    } else if (choice === 'Force Remove') {
      await withViewProgress(`Removing ${s.name}…`, () => c.client.request('container/remove', { id: s.id, force: true }));
    }
  }
}

// --- The daemon -----------------------------------------------------------------------------

async function restartDaemon(ctx: Ctx): Promise<void> {
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Restarting branchboxd…' },
    async () => {
      await ctx.connection.restartDaemon();
      const c = await ctx.connection.whenConnected(30_000);
      ctx.log.info(`branchboxd restarted (pid ${c.endpoint.pid ?? '?'})`);
    },
  );
}

async function daemonActions(): Promise<void> {
  const actions = [
    { label: '$(output) Show Daemon Log', command: 'branchbox.showDaemonLog' },
    { label: '$(debug-restart) Restart Daemon', command: 'branchbox.restartDaemon' },
    { label: '$(refresh) Reconnect', command: 'branchbox.refresh' },
    { label: '$(list-flat) Show Extension Log', command: 'branchbox.showLog' },
    { label: '$(settings-gear) Settings', command: 'workbench.action.openSettings', args: ['branchbox.'] },
  ];
  const picked = await vscode.window.showQuickPick(actions, { title: 'Branchbox daemon' });
  if (picked) await vscode.commands.executeCommand(picked.command, ...(picked.args ?? []));
}
