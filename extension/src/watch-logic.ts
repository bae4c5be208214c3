/**
 * Watch mode as the editor words it, without `vscode`: the watches the daemon runs (from
 * `watch/list`, then `watch/event`), what the sandbox row and the status bar say of them, and
 * which events deserve a notification. A watch is the daemon's (in its memory); the editor only
 * follows it, so a watch started from the CLI shows here too.
 */
import type { Sandbox } from '../../schemas/src/sandbox';
import type { WatchEvent, WatchView } from '../../schemas/src/watch';

/** A running watch and the last action it ended. */
export interface WatchState {
  readonly view: WatchView;
  readonly last?: WatchEvent;
}

/** The watches by sandbox, kept up to date by the daemon's events. */
export class WatchTable {
  private readonly map = new Map<string, WatchState>();

  get(sandbox: string): WatchState | undefined {
    return this.map.get(sandbox);
  }

  replace(views: readonly WatchView[]): void {
    this.map.clear();
    for (const view of views) this.map.set(view.sandbox, { view });
  }

  /** Applies events, oldest first; answers whether anything changed. */
  apply(events: readonly WatchEvent[]): boolean {
    let changed = false;
    for (const e of events) {
      if (e.kind === 'started' && e.watch) this.map.set(e.sandbox, { view: e.watch });
      else if (e.kind === 'stopped') this.map.delete(e.sandbox);
      else if (e.kind === 'sync') {
        const before = this.map.get(e.sandbox);
        if (!before) continue;
        const view = { ...before.view, syncs: before.view.syncs + 1, failures: before.view.failures + (e.outcome === 'failed' ? 1 : 0), lastSyncAt: e.t };
        this.map.set(e.sandbox, { view, last: e });
      } else continue;
      changed = true;
    }
    return changed;
  }

  clear(): void {
    this.map.clear();
  }
}

/** One action of a watch in a few words: "sync+restart of 2 files in 640 ms", "rebuild failed: …". */
export function syncText(e: WatchEvent): string {
  const files = e.fileCount === undefined ? '' : ` of ${e.fileCount} file${e.fileCount === 1 ? '' : 's'}`;
  const what = `${e.initial ? 'initial ' : ''}${e.action ?? 'sync'}${files}${e.service ? ` (${e.service})` : ''}`;
  return e.outcome === 'failed' ? `${what} failed: ${e.error ?? 'no reason given'}` : `${what} in ${e.durationMs ?? 0} ms`;
}

/** The services watched and what their rules do: "account (sync+restart services/account → /app)". */
export function rulesText(view: WatchView): string {
  return view.services
    .map((s) => `${s.service} (${s.rules.map((r) => `${r.action} ${r.path}${r.target ? ` → ${r.target}` : ''}`).join(', ')})`)
    .join('; ');
}

/** The Watch line of a sandbox's tooltip. */
export function watchTooltip(state: WatchState): string {
  const { view, last } = state;
  const counts = `${view.syncs} action${view.syncs === 1 ? '' : 's'}${view.failures ? `, ${view.failures} failed` : ''}`;
  return `watching ${view.repoPath}: ${rulesText(view)}; ${counts}${last ? `; last: ${syncText(last)}` : ''}`;
}

/** The Follow line of a sandbox's tooltip: redeploys on commit since when, and the last one. */
export function followTooltip(follow: NonNullable<Sandbox['follow']>): string {
  const last = follow.lastRedeploy ? `; last redeploy ${follow.lastRedeploy.branch}@${follow.lastRedeploy.commit.slice(0, 7)}` : '';
  const error = follow.lastError ? `; last error: ${follow.lastError.message}` : '';
  return `redeploys when its branches move (since ${follow.since})${last}${error}`;
}

export interface WatchStatusView {
  readonly text: string;
  readonly tooltip: string;
  readonly warning: boolean;
}

/** The watch toggle in the status bar, for the current sandbox; undefined hides it (no active sandbox with a service). */
export function watchStatusOf(sandbox: string | undefined, active: boolean, hasServices: boolean, state: WatchState | undefined): WatchStatusView | undefined {
  if (!sandbox || !active) return undefined;
  if (!state) {
    if (!hasServices) return undefined;
    return { text: '$(eye-closed) Watch', tooltip: `Not watching. Click to sync saved files into sandbox ${sandbox} as you edit (watch mode).`, warning: false };
  }
  const failed = state.last?.outcome === 'failed';
  return {
    text: `$(eye) Watching${failed ? ' $(warning)' : ''}`,
    tooltip: `Sandbox ${sandbox} follows the working tree: ${watchTooltip(state)}.\n\nClick to stop watching.`,
    warning: failed,
  };
}

/**
 * Which events are worth a notification: a failed action (once per service and error, until
 * that service's next success) and a watch that stopped for a reason other than being asked.
 */
export class WatchNotices {
  /** `sandbox/service` → the error last notified. */
  private readonly told = new Map<string, string>();

  next(e: WatchEvent): { kind: 'warning' | 'info'; sandbox: string; text: string; deployment?: string } | undefined {
    if (e.kind === 'sync' && e.service) {
      const key = `${e.sandbox}/${e.service}`;
      if (e.outcome !== 'failed') {
        this.told.delete(key);
        return undefined;
      }
      const error = e.error ?? '';
      if (this.told.get(key) === error) return undefined;
      this.told.set(key, error);
      return { kind: 'warning', sandbox: e.sandbox, text: `Watch of ${e.sandbox}: ${syncText(e)}`, ...(e.deployment ? { deployment: e.deployment } : {}) };
    }
    if (e.kind === 'stopped') {
      for (const key of [...this.told.keys()]) if (key.startsWith(`${e.sandbox}/`)) this.told.delete(key);
      if (e.reason === undefined || e.reason === 'watch/stop') return undefined;
      return { kind: 'info', sandbox: e.sandbox, text: `Stopped watching ${e.sandbox}: ${e.reason}.` };
    }
    return undefined;
  }
}
