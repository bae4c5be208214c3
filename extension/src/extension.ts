/**
 * Activation (in a folder with branchbox.yaml or a compose file, or when a Branchbox view,
 * panel or command is used): the log, the connection to branchboxd, the views, the status
 * bar, the context keys and the command table. The daemon is found or started through its
 * runtime file on first need, not at activation (daemon-demand.ts). Everything the extension
 * shows comes from the daemon; the extension keeps no state of its own.
 *
 * Two disposal scopes: the extension's lifetime (`context.subscriptions`) and each
 * connection's (`Connected.scope`, see connection.ts).
 */
import * as vscode from 'vscode';
import { PROJECT_FILE_GLOB } from '../../schemas/src/project-files';
import { createCommands, registerCommands, type Ctx } from './commands';
import { ConfigDiagnostics } from './config-diagnostics';
import { daemonHostFor, readSettings, settingsImpact } from './config';
import { DaemonConnection, type ConnectionState } from './connection';
import { ConnectionNotices } from './connection-notices';
import { ContainersTree } from './containers-tree';
import { ContextKeys } from './context-keys';
import { CurrentSandbox } from './current-sandbox';
import { startOnFirstNeed } from './daemon-demand';
import { DaemonLogChannel } from './daemon-log';
import { DeploymentsTree } from './deployments-tree';
import { DaemonDocuments } from './documents';
import { createLog, showActivationError, showError } from './log';
import { registerPanels } from './panels/commands';
import { WatchStatusBar } from './watch-commands';
import { checkFollowsOnHeadMoves } from './follow-commands';
import { SandboxStatusBar } from './sandbox-status-bar';
import { SandboxesTree } from './sandboxes-tree';
import { ConnectionStatusBar } from './status-bar';

let connection: DaemonConnection | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = createLog();
  context.subscriptions.push(log);
  try {
    const version = String((context.extension.packageJSON as { version?: unknown }).version ?? '0.0.0');
    const settings = readSettings();
    log.info(`Branchbox ${version} activating; state directory ${settings.stateDir}${settings.address ? `, daemon at ${settings.address}` : ''}`);

    connection = new DaemonConnection({ host: daemonHostFor(settings, context.extensionPath), clientVersion: version, log });
    const daemonLog = new DaemonLogChannel(connection, log);
    const containers = new ContainersTree(connection, log);
    const sandboxes = new SandboxesTree(connection, log, containers);
    const deployments = new DeploymentsTree(connection, log);
    const documents = new DaemonDocuments();
    const current = new CurrentSandbox(() => readSettings().defaultSandbox);
    // One watcher of the workspace's project files on disk, for the config checks and the context keys.
    const projectFiles = vscode.workspace.createFileSystemWatcher(PROJECT_FILE_GLOB);
    const configs = new ConfigDiagnostics(connection, log, projectFiles);
    const ctx: Ctx = { extension: context, connection, log, containers, sandboxes, deployments, documents, current, daemonLog, configs };
    context.subscriptions.push(
      connection,
      projectFiles,
      daemonLog,
      containers,
      sandboxes,
      deployments,
      documents,
      current,
      configs,
      new ConnectionStatusBar(connection),
      new SandboxStatusBar(sandboxes, current),
      new WatchStatusBar(sandboxes, current),
      checkFollowsOnHeadMoves(connection, sandboxes, log),
      // The Deployments view words a suspended sandbox's running deployments as suspended.
      sandboxes.onDidChangeModel(() => deployments.setSandboxStates(new Map(sandboxes.model.sandboxes().map((s) => [s.name, s.state])))),
      registerPanels(ctx),
      ...registerCommands(ctx, createCommands()),
      new ContextKeys(connection, sandboxes, containers, projectFiles),
      connection.onDidChangeState((s) => reportFailure(s)),
      reportConnectionChanges(connection),
      vscode.workspace.onDidChangeConfiguration((e) => onSettingsChanged(ctx, e)),
      startOnFirstNeed(connection, [sandboxes.view, containers.view, deployments.view], (m) => log.info(m)),
    );
  } catch (e) {
    showActivationError(log, e);
    throw e;
  }
}

export function deactivate(): void {
  // The daemon is shared with other windows and clients: it keeps running.
  connection?.dispose();
  connection = undefined;
}

/** A connection that gave up is worth a notification; the status bar shows the rest. */
function reportFailure(state: ConnectionState): void {
  if (state.kind !== 'failed') return;
  void showError(state.reason, ['Show Daemon Log', 'Restart Daemon']);
}

/** A lost connection and its return, as notifications (connection-notices.ts). */
function reportConnectionChanges(connection: DaemonConnection): vscode.Disposable {
  const notices = new ConnectionNotices({ canStart: () => connection.daemonHost.canStart, restartInProgress: () => connection.restartInProgress });
  return connection.onDidChangeState((s) => {
    const notice = notices.next(s);
    if (notice?.kind === 'info') void vscode.window.showInformationMessage(notice.text);
    else if (notice) void vscode.window.showWarningMessage(notice.text);
  });
}

function onSettingsChanged(ctx: Ctx, e: vscode.ConfigurationChangeEvent): void {
  if (e.affectsConfiguration('branchbox.defaultSandbox')) ctx.current.refresh();
  const impact = settingsImpact(e);
  if (!impact) return;
  const settings = readSettings();
  ctx.log.info(`Settings changed; connecting to the daemon again${settings.address ? ` at ${settings.address}` : ` of ${settings.stateDir}`}`);
  ctx.connection.setHost(daemonHostFor(settings, ctx.extension.extensionPath));
  if (impact === 'restart') {
    void vscode.window
      .showInformationMessage('The Docker host changed. Restart branchboxd to use it?', 'Restart Daemon')
      .then((choice) => (choice ? vscode.commands.executeCommand('branchbox.restartDaemon') : undefined));
  }
}
