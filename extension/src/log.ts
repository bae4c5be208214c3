/**
 * The extension's log (`LogOutputChannel` "Branchbox") and the one place errors reach the
 * user: activation failures (VS Code does not show them itself) and failed commands, each
 * with what failed, what to do, and buttons for the follow-ups.
 */
import * as vscode from 'vscode';
import { explainFailure, type FailureAction } from './failure';

export type Log = vscode.LogOutputChannel;

export function createLog(): Log {
  return vscode.window.createOutputChannel('Branchbox', { log: true });
}

const ACTION_COMMANDS: Record<FailureAction, string> = {
  'Show Extension Log': 'branchbox.showLog',
  'Show Daemon Log': 'branchbox.showDaemonLog',
  'Restart Daemon': 'branchbox.restartDaemon',
};

/** Shows `message` as an error with follow-up buttons, and runs the one chosen. */
export async function showError(message: string, actions: readonly FailureAction[]): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, ...actions);
  if (choice) await vscode.commands.executeCommand(ACTION_COMMANDS[choice]);
}

/** Activation failed: log it and tell the user, with the log one click away. */
export function showActivationError(log: Log, e: unknown): void {
  log.error('Branchbox failed to activate', e instanceof Error ? e : new Error(String(e)));
  void showError(`Branchbox failed to activate: ${e instanceof Error ? e.message : String(e)}`, ['Show Extension Log']);
}

/**
 * Runs a command's body; any failure is logged with its context and shown once, with what
 * to do (see failure.ts). Never throws.
 */
export async function runCommand(log: Log, what: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const failure = explainFailure(what, e);
    if (!failure) {
      log.info(`${what}: cancelled`);
      return;
    }
    log.error(failure.message, ...(e instanceof Error && !(e.name === 'NotConnectedError') ? [e] : []));
    await showError(failure.message, failure.actions);
  }
}
