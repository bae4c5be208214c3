/**
 * Show Daemon Log: the daemon's log, live, in the output channel "Branchbox Daemon"
 * (`log/subscribe`), re-followed after every reconnect once the user asked for it. Without a
 * connection, the daemon's log file is opened instead.
 */
import * as vscode from 'vscode';
import type { NotificationParams } from '../../schemas/src/index';
import type { Connected, DaemonConnection, Logger } from './connection';

type LogLine = NotificationParams<'log/message'>['items'][number];

/** One line as `2024-05-01T10:00:00.000Z [info] message key=value ...`. */
export function formatDaemonLogLine(line: LogLine): string {
  const fields = Object.entries(line.fields ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  return `${line.t} [${line.level}] ${line.msg}${fields ? ` ${fields}` : ''}`;
}

export class DaemonLogChannel implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('Branchbox Daemon', 'log');
  private following = false;
  /** The connection being followed, if any. */
  private followed: Connected | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    connection: DaemonConnection,
    private readonly log: Logger,
  ) {
    this.subscription = connection.whileConnected((c) => {
      if (!this.following) return;
      this.followOn(c).catch((e: unknown) => {
        if (!c.scope.disposed) this.log.warn(`Could not follow the daemon log: ${(e as Error).message}`);
      });
    });
  }

  /** Shows the channel and follows the daemon's log from now on, across reconnects. */
  async show(c: Connected): Promise<void> {
    this.following = true;
    this.channel.show(true);
    if (this.followed !== c) await this.followOn(c);
  }

  /** Opens the log file (when there is no connection to stream it from). */
  static async openFile(file: string | undefined): Promise<void> {
    if (!file) throw new Error('The daemon runs elsewhere ("branchbox.daemon.address"); its log file is on that machine.');
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const editor = await vscode.window.showTextDocument(doc, { preview: false });
    const end = doc.lineAt(Math.max(0, doc.lineCount - 1)).range.end;
    editor.revealRange(new vscode.Range(end, end), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private async followOn(c: Connected): Promise<void> {
    this.followed = c;
    this.channel.appendLine(`--- following branchboxd ${c.serverInfo.version} (pid ${c.endpoint.pid ?? '?'}) at ${c.endpoint.url}; earlier lines are in its log file ---`);
    const sub = await c.client.subscribe('log/subscribe', { level: 'debug' }, 'log/message', {
      onItems: (items, dropped) => {
        if (dropped) this.channel.appendLine(`--- ${dropped} lines skipped (this window read too slowly) ---`);
        this.channel.append(items.map((l) => `${formatDaemonLogLine(l)}\n`).join(''));
      },
      onEnd: (end) => {
        if (end.reason !== 'cancelled') this.channel.appendLine(`--- the daemon log stream ended (${end.reason}) ---`);
      },
    });
    c.scope.defer(() => {
      if (this.followed === c) this.followed = undefined;
      void sub.cancel().catch(() => undefined);
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.channel.dispose();
  }
}
