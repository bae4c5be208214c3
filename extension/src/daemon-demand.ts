/**
 * When the daemon is first needed. Activation alone does not reach or start branchboxd (a
 * window that never shows Branchbox costs nothing): a Branchbox view shown, a Branchbox panel
 * restored after a reload, a project file opened in an editor (its problems are the daemon's
 * to find, config-diagnostics.ts) or a command that uses the daemon (commands.ts) does.
 */
import * as vscode from 'vscode';
import { isProjectFile } from '../../schemas/src/project-files';

/** What starting the daemon's connection takes; `start` is idempotent. */
export interface Startable {
  start(): void;
}

/** The view types of the Branchbox panels (panels/panel-host.ts). */
const PANEL_VIEW_TYPES = ['branchbox.logs', 'branchbox.stats', 'branchbox.deployment'];

/**
 * Starts `connection` the first time one of `views` is visible (at once when one already is)
 * or when a Branchbox panel is open in a tab. Disposes its listeners once it started.
 */
export function startOnFirstNeed(connection: Startable, views: readonly vscode.TreeView<unknown>[], log: (message: string) => void): vscode.Disposable {
  const listeners: vscode.Disposable[] = [];
  let started = false;
  const start = (why: string) => {
    if (started) return;
    started = true;
    for (const l of listeners.splice(0)) l.dispose();
    log(`Connecting to branchboxd: ${why}`);
    connection.start();
  };
  if (views.some((v) => v.visible)) start('a view is visible');
  else if (hasBranchboxPanel()) start('a panel is open');
  else if (vscode.workspace.textDocuments.some(isProjectDocument)) start('a project file is open');
  else {
    for (const view of views) listeners.push(view.onDidChangeVisibility((e) => e.visible && start('a view opened')));
    listeners.push(vscode.window.tabGroups.onDidChangeTabs(() => hasBranchboxPanel() && start('a panel opened')));
    listeners.push(vscode.workspace.onDidOpenTextDocument((d) => isProjectDocument(d) && start('a project file opened')));
  }
  return { dispose: () => listeners.splice(0).forEach((l) => l.dispose()) };
}

/** A branchbox.yaml or compose file on disk, open in an editor. */
function isProjectDocument(doc: { readonly uri: vscode.Uri }): boolean {
  return doc.uri.scheme === 'file' && isProjectFile(doc.uri.fsPath);
}

/** A webview tab of one of the Branchbox panels (VS Code may prefix the view type). */
function hasBranchboxPanel(): boolean {
  return vscode.window.tabGroups.all.some((g) =>
    g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && PANEL_VIEW_TYPES.some((type) => (t.input as vscode.TabInputWebview).viewType.endsWith(type))),
  );
}
