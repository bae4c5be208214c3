/**
 * What the tree views (Containers, Sandboxes, Deployments) share: a model row drawn as a
 * `TreeItem`, and redraws gathered into one per `REDRAW_DELAY_MS`.
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
