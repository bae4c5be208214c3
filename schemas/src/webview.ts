/**
 * The one message protocol between the extension's panel hosts (extension/src/panels/) and
 * the webviews (webviews/src/): every message type, both directions, declared once.
 *
 * The exchange of one panel:
 *   webview → `ready`                       (its script runs and listens)
 *   host    → `init` with the panel's target and options
 *   host    → pushes (`logs/batch`, `stats/samples`, `deploy/…`, `status`)
 *   webview → `ack` for each `logs/batch` (flow control: the host keeps a few batches in flight)
 *   webview → `request` {id, method, params}; host → `response` {id, result | error}
 *
 * A panel's target is also its persisted state: VS Code gives it back to the
 * `WebviewPanelSerializer` after a reload, which reopens the same panel.
 */
import type { DeployLogLine, DeploymentRecord, DeployProgress } from './deploy';
import type { StatsSample } from './docker-streams';

/** The three panels, as `branchbox.<kind>` view types. */
export type PanelKind = 'logs' | 'stats' | 'deployment';

export const PANEL_VIEW_TYPES: Record<PanelKind, string> = {
  logs: 'branchbox.logs',
  stats: 'branchbox.stats',
  deployment: 'branchbox.deployment',
};

// --- Targets (also the persisted webview state) ---------------------------------------------

/**
 * One log source: a container, shown under `label` (a service name, or the container's). With
 * `sandbox` and `service`, the source is that service: it follows whichever container serves it
 * (across redeploys), `container` being the one that served it when the panel was opened.
 */
export interface LogSourceRef {
  readonly container: string;
  readonly label: string;
  readonly sandbox?: string;
  readonly service?: string;
}

export interface LogsTarget {
  readonly kind: 'logs';
  /** One or more sources; several are merged by timestamp, one colour each. */
  readonly sources: readonly LogSourceRef[];
  readonly title: string;
}

export interface StatsTarget {
  readonly kind: 'stats';
  /** A container id or name, or a sandbox name (exactly one). */
  readonly container?: string;
  readonly sandbox?: string;
  /** For a container: the sandbox it belongs to, whose deletion the panel reports. */
  readonly containerSandbox?: string;
  readonly title: string;
}

export interface DeploymentTarget {
  readonly kind: 'deployment';
  readonly deployment: string;
  readonly title: string;
}

export type PanelTarget = LogsTarget | StatsTarget | DeploymentTarget;

/** The identity of a panel: opening a target with the same key reveals the open panel. */
export function panelKey(target: PanelTarget): string {
  switch (target.kind) {
    case 'logs':
      return `logs:${target.sources.map(sourceKey).sort().join(',')}`;
    case 'stats':
      return target.sandbox !== undefined ? `stats:sandbox:${target.sandbox}` : `stats:container:${target.container ?? ''}`;
    case 'deployment':
      return `deployment:${target.deployment}`;
  }
}

/** A log source's identity: its service (`sandbox/service`) when it follows one, else its container. */
export function sourceKey(source: LogSourceRef): string {
  return source.sandbox !== undefined && source.service !== undefined ? `${source.sandbox}/${source.service}` : source.container;
}

/** Whether a value restored by VS Code is a target of `kind` (state is untyped JSON). */
export function isPanelTarget(value: unknown, kind: PanelKind): value is PanelTarget {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.kind !== kind || typeof v.title !== 'string') return false;
  switch (kind) {
    case 'logs':
      return (
        Array.isArray(v.sources) &&
        v.sources.length > 0 &&
        v.sources.every((s: unknown) => typeof s === 'object' && s !== null && typeof (s as LogSourceRef).container === 'string' && typeof (s as LogSourceRef).label === 'string')
      );
    case 'stats':
      return (typeof v.container === 'string') !== (typeof v.sandbox === 'string');
    case 'deployment':
      return typeof v.deployment === 'string';
  }
}

// --- Logs -----------------------------------------------------------------------------------

/**
 * One log line as the webview receives it. `src` indexes `LogsTarget.sources`; `ts` is the
 * engine timestamp in ms since the epoch (fractional: ns precision kept as far as a double
 * allows), used for merge order and display; 0 when unknown.
 */
export interface LogLine {
  readonly src: number;
  readonly err: boolean;
  readonly ts: number;
  readonly text: string;
  /** A line the extension inserted, not the container's: the source switched to a redeployed container. */
  readonly marker?: true;
}

export interface LogsBatch {
  readonly type: 'logs/batch';
  /** Increasing per panel; acknowledged with `ack`. */
  readonly seq: number;
  readonly lines: readonly LogLine[];
}

/** A source's state changed (following, paused because the panel lags, ended, failed). */
export interface LogsSourceStatus {
  readonly type: 'logs/source';
  readonly src: number;
  /** waiting: a service source no container serves yet; it follows the next deployment. */
  readonly state: 'following' | 'throttled' | 'waiting' | 'ended' | 'failed';
  readonly detail?: string;
}

// --- Stats ----------------------------------------------------------------------------------

export interface StatsSamples {
  readonly type: 'stats/samples';
  /** True for the history sent on open (replaces what the webview has). */
  readonly history: boolean;
  readonly samples: readonly StatsSample[];
}

// --- Deployment -----------------------------------------------------------------------------

export interface DeploymentSnapshot {
  readonly type: 'deploy/snapshot';
  readonly record: DeploymentRecord;
  /** The log so far (the tail, when long). */
  readonly log: readonly DeployLogLine[];
  /** Recent deployments of the same service and sandbox, newest first. */
  readonly history: readonly DeploymentRecord[];
}

export interface DeploymentProgress {
  readonly type: 'deploy/progress';
  readonly items: readonly DeployProgress[];
}

// --- Envelope -------------------------------------------------------------------------------

export interface InitMessage {
  readonly type: 'init';
  readonly target: PanelTarget;
  /**
   * Keep what the panel shows: the new feed (after a reconnection to the daemon) carries on
   * right after it. Absent: start from scratch.
   */
  readonly keep?: boolean;
  /** VS Code's display language (`vscode.env.language`): the panel writes times as it does. */
  readonly locale?: string;
}

/** Something the user should see in the panel (a failure, a lost connection). */
export interface StatusMessage {
  readonly type: 'status';
  readonly level: 'info' | 'error';
  readonly text: string;
}

/**
 * What the panel shows is gone or replaced (its sandbox was deleted, its deployment replaced):
 * shown above the content, which stays. `deployment`: a link opening that deployment's panel.
 */
export interface BannerMessage {
  readonly type: 'banner';
  /** One banner of each kind is shown; a newer one of a kind replaces the older. */
  readonly kind: 'deleted' | 'replaced';
  readonly text: string;
  readonly deployment?: { readonly id: string; readonly label: string };
}

/** Requests a webview makes, with their params and results. */
export interface WebviewRequests {
  /** Writes the whole log of the panel's sources (re-read from the daemon) to a file the user picks. */
  'logs/save': { params: { streams: { stdout: boolean; stderr: boolean }; timestamps: boolean }; result: { path: string | null; lines: number } };
  /** Copies text to the clipboard. */
  'clipboard/write': { params: { text: string }; result: null };
  /** Opens (or reveals) the Deployment panel of a deployment (a banner's link). */
  'deployment/open': { params: { id: string }; result: null };
}
export type WebviewRequestMethod = keyof WebviewRequests;

export interface RequestMessage<M extends WebviewRequestMethod = WebviewRequestMethod> {
  readonly type: 'request';
  readonly id: number;
  readonly method: M;
  readonly params: WebviewRequests[M]['params'];
}

export type ResponseMessage =
  | { readonly type: 'response'; readonly id: number; readonly result: unknown }
  | { readonly type: 'response'; readonly id: number; readonly error: { readonly message: string } };

export type ToWebview =
  | InitMessage
  | StatusMessage
  | BannerMessage
  | ResponseMessage
  | LogsBatch
  | LogsSourceStatus
  | StatsSamples
  | DeploymentSnapshot
  | DeploymentProgress;

export type FromWebview =
  | { readonly type: 'ready' }
  | { readonly type: 'ack'; readonly seq: number }
  | RequestMessage;

/** Whether a message the host received is one a webview sends. */
export function isFromWebview(value: unknown): value is FromWebview {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  switch (v.type) {
    case 'ready':
      return true;
    case 'ack':
      return typeof v.seq === 'number';
    case 'request':
      return typeof v.id === 'number' && typeof v.method === 'string';
    default:
      return false;
  }
}

/** ms since the epoch of an RFC 3339 timestamp with up to nanoseconds; 0 when absent or unparsable. */
export function timestampMs(t: string | undefined): number {
  if (!t) return 0;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? 0 : ms;
  }
  const base = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(base)) return 0;
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + frac;
}
