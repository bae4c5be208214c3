/**
 * What the tree views (Containers, Sandboxes, Deployments) share: a model row drawn as a
 * `TreeItem`, redraws gathered into one per `REDRAW_DELAY_MS`, and the clock that words
 * time-relative rows ("Up 5 minutes", "3 min ago") afresh.
 */
import * as vscode from 'vscode';
import type { IconSpec } from './container-model';

const REDRAW_DELAY_MS = 50;

/** What a model row shows (its tooltip in Markdown). */
export interface RowLook {
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: IconSpec;
  readonly contextValue: string;
}

const themeIcon = (icon: IconSpec) => new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);

/** The item of `row`, with a stable `id`; a row the model no longer has shows `fallback` alone. */
export function rowItem(id: string, fallback: string, collapsible: vscode.TreeItemCollapsibleState, row: RowLook | undefined): vscode.TreeItem {
  const item = new vscode.TreeItem(row?.label ?? fallback, collapsible);
  item.id = id;
  if (!row) return item;
  item.description = row.description;
  item.tooltip = new vscode.MarkdownString(row.tooltip);
  item.iconPath = themeIcon(row.icon);
  item.contextValue = row.contextValue;
  return item;
}

/** Runs `redraw` once, `REDRAW_DELAY_MS` after the first of any number of `schedule()` calls. */
export class RedrawDebounce implements vscode.Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly redraw: () => void) {}

  schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.redraw();
    }, REDRAW_DELAY_MS);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** How often rows that say how long ago something happened are worded again. */
export const RELATIVE_TIME_REFRESH_MS = 30_000;

/**
 * Calls `retime(now)` every `everyMs` while the view is visible (and once when it shows
 * again): the model words its time-relative rows anew and answers which changed, so only
 * those are redrawn. Disposed with its view.
 */
export class RelativeTimeRefresh implements vscode.Disposable {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly visibility: vscode.Disposable;

  constructor(
    view: vscode.TreeView<unknown>,
    private readonly retime: (now: number) => void,
    private readonly everyMs = RELATIVE_TIME_REFRESH_MS,
  ) {
    this.visibility = view.onDidChangeVisibility((e) => (e.visible ? this.start() : this.stop()));
    if (view.visible) this.start();
  }

  private start(): void {
    if (this.timer) return;
    this.retime(Date.now());
    this.timer = setInterval(() => this.retime(Date.now()), this.everyMs);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.stop();
    this.visibility.dispose();
  }
}
