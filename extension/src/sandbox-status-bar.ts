/**
 * The current sandbox in the status bar: its name and health (healthy when every deployed
 * service runs, degraded when some do not), a spinner while a deployment into it runs; a
 * click opens the sandbox's quick actions.
 */
import * as vscode from 'vscode';
import type { CurrentSandbox } from './current-sandbox';
import type { SandboxHealth, SandboxTreeModel } from './sandbox-model';
import type { SandboxesTree } from './sandboxes-tree';

export const SANDBOX_ACTIONS_COMMAND = 'branchbox.sandbox.actions';

export interface SandboxStatusView {
  readonly text: string;
  readonly tooltip: string;
  readonly background?: 'warning' | 'error';
}

const HEALTH_TEXT: Record<SandboxHealth, { icon: string; background?: 'warning' | 'error' }> = {
  healthy: { icon: '$(pass-filled)' },
  degraded: { icon: '$(warning)', background: 'warning' },
  unhealthy: { icon: '$(error)', background: 'error' },
  empty: { icon: '$(package)' },
  unknown: { icon: '$(package)' },
};

/** What the item shows for the current sandbox `name` (undefined: none chosen yet). */
export function sandboxStatusOf(model: SandboxTreeModel, name: string | undefined): SandboxStatusView {
  if (!name) return { text: '$(package) No sandbox', tooltip: 'No current sandbox: deploy the current branch, or set "branchbox.defaultSandbox".' };
  const s = model.sandbox(name);
  if (!s) return { text: `$(package) ${name}`, tooltip: `Sandbox ${name} does not exist (yet).` };
  const deploying = model.deploying(name);
  if (deploying.length) {
    return {
      text: `$(sync~spin) ${name}`,
      tooltip: `Deploying into ${name}: ${deploying.map((d) => `${d.service} ${d.stage ?? d.status}`).join(', ')}`,
    };
  }
  if (s.state !== 'active') return { text: `$(debug-pause) ${name}: ${s.state}`, tooltip: `Sandbox ${name} is ${s.state}.` };
  const health = model.health(name);
  const h = HEALTH_TEXT[health];
  const services = s.services.map((v) => v.service).join(', ') || 'no services deployed';
  return { text: `${h.icon} ${name}`, tooltip: `Sandbox ${name}: ${health} (${services})`, ...(h.background ? { background: h.background } : {}) };
}

export class SandboxStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('branchbox.sandbox', vscode.StatusBarAlignment.Left, 9);
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly sandboxes: SandboxesTree,
    private readonly current: CurrentSandbox,
  ) {
    this.item.name = 'Branchbox Sandbox';
    this.item.command = SANDBOX_ACTIONS_COMMAND;
    this.subscriptions = [sandboxes.onDidChangeModel(() => this.render()), current.onDidChange(() => this.render())];
    this.render();
    this.item.show();
  }

  private render(): void {
    const view = sandboxStatusOf(this.sandboxes.model, this.current.name);
    this.item.text = view.text;
    this.item.tooltip = `${view.tooltip}\n\nClick for the sandbox's actions.`;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(`statusBarItem.${view.background}Background`) : undefined;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
