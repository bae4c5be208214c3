import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Branchbox', { log: true });
  context.subscriptions.push(log);
  log.info('Branchbox activated');
}

export function deactivate(): void {}
