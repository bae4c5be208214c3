/**
 * Watch mode from the editor: Start Watching and Stop Watching on a sandbox row (and from the
 * palette), the toggle in the status bar for the current sandbox, and notifications when an
 * action of a watch fails or a watch stops on its own (watch-logic.ts decides which).
 */
import * as vscode from 'vscode';
import type { CommandFactory, Ctx } from './commands';
import type { Connected } from './connection';
import type { CurrentSandbox } from './current-sandbox';
import { OPEN_DEPLOYMENT_LOG } from './deploy-command';
import { currentBranch } from './git';
import { sandboxOf } from './sandbox-commands';
import type { SandboxesTree } from './sandboxes-tree';
import { WatchNotices, rulesText, watchStatusOf } from './watch-logic';

export const WATCH_TOGGLE_COMMAND = 'branchbox.watch.toggle';

export function watchCommands(): Record<string, CommandFactory> {
  return {
    'branchbox.watch.start': { what: 'Start watching', withDaemon: (ctx, c) => (arg?: unknown) => startWatch(ctx, c, arg) },
    'branchbox.watch.stop': { what: 'Stop watching', withDaemon: (ctx, c) => (arg?: unknown) => stopWatch(ctx, c, arg) },
    [WATCH_TOGGLE_COMMAND]: {
      what: 'Watch',
      withDaemon: (ctx, c) => () => {
        const name = ctx.current.name;
        if (!name) return startWatch(ctx, c, undefined);
        return ctx.sandboxes.model.watch(name) ? stopWatch(ctx, c, name) : startWatch(ctx, c, name);
      },
    },
  };
}

async function startWatch(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const model = ctx.sandboxes.model;
  const name = await sandboxOf(ctx, arg, 'Watch', (s) => s.state === 'active' && !model.watch(s.name));
  if (!name) return;
  // The sandbox's own repository when it has one, else the one of the active editor.
  const repoPath = model.sandbox(name)?.repoPath ?? (await currentBranch()).repoPath;
  const view = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Watching ${name}…` }, () =>
    c.client.request('watch/start', { sandbox: name, repoPath }),
  );
  const text = `Watching ${view.repoPath} for ${name}: ${rulesText(view)}.`;
  ctx.log.info(text);
  void vscode.window.showInformationMessage(text);
}

async function stopWatch(ctx: Ctx, c: Connected, arg: unknown): Promise<void> {
  const model = ctx.sandboxes.model;
  const name = await sandboxOf(ctx, arg, 'Stop watching', (s) => model.watch(s.name) !== undefined);
  if (!name) return;
  const { stopped } = await c.client.request('watch/stop', { sandbox: name });
  const text = stopped ? `Stopped watching ${name}; it keeps what was synced until its next deploy.` : `${name} was not watched.`;
  ctx.log.info(text);
  void vscode.window.showInformationMessage(text);
}

/** The watch toggle beside the sandbox in the status bar, and the notifications of watch events. */
export class WatchStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('branchbox.watch', vscode.StatusBarAlignment.Left, 8);
  private readonly notices = new WatchNotices();
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly sandboxes: SandboxesTree,
    private readonly current: CurrentSandbox,
  ) {
    this.item.name = 'Branchbox Watch';
    this.item.command = WATCH_TOGGLE_COMMAND;
    this.subscriptions = [
      sandboxes.onDidChangeModel(() => this.render()),
      current.onDidChange(() => this.render()),
      sandboxes.onDidWatchEvent((events) => events.forEach((e) => this.notify(this.notices.next(e)))),
    ];
    this.render();
  }

  private render(): void {
    const name = this.current.name;
    const sandbox = name ? this.sandboxes.model.sandbox(name) : undefined;
    const view = watchStatusOf(name, sandbox?.state === 'active', (sandbox?.services.some((s) => s.containerId) ?? false), name ? this.sandboxes.model.watch(name) : undefined);
    if (!view) {
      this.item.hide();
      return;
    }
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  private notify(notice: ReturnType<WatchNotices['next']>): void {
    if (!notice) return;
    if (notice.kind === 'info') {
      void vscode.window.showInformationMessage(notice.text);
      return;
    }
    const actions = notice.deployment ? [OPEN_DEPLOYMENT_LOG, 'Stop Watching'] : ['Stop Watching'];
    void vscode.window.showWarningMessage(notice.text, ...actions).then((choice) => {
      if (choice === OPEN_DEPLOYMENT_LOG) void vscode.commands.executeCommand('branchbox.deployment.openLog', { kind: 'deployment', id: notice.deployment });
      else if (choice === 'Stop Watching') void vscode.commands.executeCommand('branchbox.watch.stop', notice.sandbox);
    });
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
