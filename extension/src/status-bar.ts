/**
 * The status bar item: the connection to branchboxd at a glance (connecting, connected,
 * Docker missing, unavailable); a click opens the daemon's quick actions.
 */
import * as vscode from 'vscode';
import type { ConnectionState, DaemonConnection, SystemInfo } from './connection';
import { formatMs } from './connection';

export const DAEMON_ACTIONS_COMMAND = 'branchbox.daemonActions';

export interface StatusView {
  readonly text: string;
  readonly tooltip: string;
  readonly background?: 'error' | 'warning';
}

/** What the item shows for a connection state (and the last heartbeat, when connected). */
export function statusViewOf(state: ConnectionState, info: SystemInfo | undefined): StatusView {
  switch (state.kind) {
    case 'idle':
      return { text: '$(circle-outline) Branchbox', tooltip: 'Not connected to branchboxd yet: it is reached when a Branchbox view or a project file (branchbox.yaml, a compose file) opens, or a Branchbox command runs.' };
    case 'connecting':
      return { text: '$(sync~spin) Branchbox: connecting', tooltip: 'Connecting to branchboxd…' };
    case 'disconnected':
      return {
        text: '$(sync~spin) Branchbox: reconnecting',
        tooltip: `Not connected to branchboxd: ${state.reason}. Retrying in ${formatMs(state.retryInMs)}.`,
        background: 'warning',
      };
    case 'failed':
      return { text: '$(error) Branchbox: daemon unavailable', tooltip: state.reason, background: 'error' };
    case 'connected': {
      const c = state.connected;
      const docker = info?.docker ?? { available: c.capabilities.docker };
      const dockerText = docker.available
        ? `Docker ${info?.docker.version ?? ''}${info?.docker.endpoint ? ` at ${info.docker.endpoint}` : ''}`.replace(/\s+/g, ' ').trim()
        : `Docker unavailable${info?.docker.reason ? `: ${info.docker.reason}` : ''}`;
      const daemon = `branchboxd ${c.serverInfo.version} (pid ${c.endpoint.pid ?? '?'}) at ${c.endpoint.url}`;
      return docker.available
        ? { text: '$(check) Branchbox', tooltip: `${daemon}\n${dockerText}` }
        : { text: '$(warning) Branchbox: Docker unavailable', tooltip: `${daemon}\n${dockerText}`, background: 'warning' };
    }
  }
}

export class ConnectionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('branchbox.connection', vscode.StatusBarAlignment.Left, 10);
  private readonly subscriptions: vscode.Disposable[];
  private info: SystemInfo | undefined;

  constructor(private readonly connection: DaemonConnection) {
    this.item.name = 'Branchbox';
    this.item.command = DAEMON_ACTIONS_COMMAND;
    this.subscriptions = [
      connection.onDidChangeState((s) => {
        if (s.kind !== 'connected') this.info = undefined;
        this.render();
      }),
      connection.onDidReceiveInfo((info) => {
        this.info = info;
        this.render();
      }),
    ];
    this.render();
    this.item.show();
  }

  private render(): void {
    const view = statusViewOf(this.connection.state, this.info);
    this.item.text = view.text;
    this.item.tooltip = `${view.tooltip}\n\nClick for daemon actions.`;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(`statusBarItem.${view.background}Background`) : undefined;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
