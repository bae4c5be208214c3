/**
 * The Logs, Stats and Deployment panels in VS Code: one `WebviewPanel` per target (opening
 * it again reveals it), scripts enabled and resources limited to `dist/webviews`, the HTML
 * shell with its CSP (html.ts), and per panel a session that speaks schemas/src/webview.ts:
 * on `ready` it sends `init` and starts the panel's feed on the current connection; `ack`s
 * go to the feed; `request`s are answered with a result or an error, by id.
 *
 * A feed lives while its panel is visible and connected: hiding the panel (its webview is
 * discarded: `retainContextWhenHidden` is off) or closing it cancels its subscriptions in the
 * daemon; showing it again reloads the webview, which says `ready` again. When the
 * connection to the daemon is lost under a visible Logs panel, it keeps its lines and the feed
 * of the next connection reads on right after them. After a window reload, the
 * `WebviewPanelSerializer`s reopen panels from their target (the webview's state).
 *
 * A feed follows what its panel shows (targets.ts, sandbox-watch.ts): a service's logs across
 * redeploys, a replaced deployment, a deleted sandbox — it posts the banners; a banner's link
 * (`deployment/open`) opens the new deployment's panel.
 */
import { randomFillSync } from 'node:crypto';
import * as vscode from 'vscode';
import {
  PANEL_VIEW_TYPES,
  isFromWebview,
  isPanelTarget,
  panelKey,
  type FromWebview,
  type PanelKind,
  type PanelTarget,
  type RequestMessage,
  type ToWebview,
  type WebviewRequests,
} from '../../../schemas/src/webview';
import type { Connected, DaemonConnection, Logger } from '../connection';
import type { Disposable } from '../lifetime';
import { DeploymentFeed } from './deployment-feed';
import { makeNonce, panelHtml } from './html';
import { LogFeed, type LogPosition } from './log-feed';
import { collectLogs } from './log-save';
import { StatsFeed } from './stats-feed';

/** What a panel runs on a connection. */
interface Feed {
  start(): Promise<void>;
  dispose(): Promise<void>;
  ack?(seq: number): void;
}

/** Panels with a stylesheet of their own (bundled next to the script). */
const STYLESHEETS: Partial<Record<PanelKind, string>> = { stats: 'stats.css' };

export class PanelHost implements vscode.Disposable {
  private readonly sessions = new Map<string, PanelSession>();
  readonly root: vscode.Uri;

  constructor(
    extensionUri: vscode.Uri,
    readonly connection: DaemonConnection,
    readonly log: Logger,
  ) {
    this.root = vscode.Uri.joinPath(extensionUri, 'dist', 'webviews');
  }

  /** Opens the panel of `target`, or reveals it when it is open. */
  show(target: PanelTarget): void {
    const key = panelKey(target);
    const open = this.sessions.get(key);
    if (open) {
      open.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPES[target.kind], target.title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [this.root],
    });
    this.adopt(panel, target);
  }

  /** Serializers restoring every kind of panel after a reload. */
  registerSerializers(): vscode.Disposable[] {
    return (Object.keys(PANEL_VIEW_TYPES) as PanelKind[]).map((kind) =>
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPES[kind], {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          if (!isPanelTarget(state, kind)) {
            panel.dispose();
            return;
          }
          const existing = this.sessions.get(panelKey(state));
          if (existing) {
            panel.dispose();
            existing.panel.reveal();
            return;
          }
          this.adopt(panel, state);
        },
      }),
    );
  }

  /** Open panels, by key (for tests). */
  get openPanels(): ReadonlyMap<string, PanelSession> {
    return this.sessions;
  }

  dispose(): void {
    for (const s of [...this.sessions.values()]) s.panel.dispose();
  }

  private adopt(panel: vscode.WebviewPanel, target: PanelTarget): void {
    const key = panelKey(target);
    panel.webview.options = { enableScripts: true, localResourceRoots: [this.root] };
    const session = new PanelSession(this, panel, target);
    this.sessions.set(key, session);
    panel.onDidDispose(() => {
      this.sessions.delete(key);
      session.dispose();
    });
  }
}

export class PanelSession {
  private feed: Feed | undefined;
  /** Where a Logs panel's sources stopped when its connection ended, for the next feed. */
  private logPositions: (LogPosition | undefined)[] | undefined;
  private ready = false;
  private readonly disposables: Disposable[] = [];

  constructor(
    private readonly host: PanelHost,
    readonly panel: vscode.WebviewPanel,
    readonly target: PanelTarget,
  ) {
    const webview = panel.webview;
    const nonce = makeNonce((b) => randomFillSync(b));
    const style = STYLESHEETS[target.kind];
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce,
      title: target.title,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(host.root, `${target.kind}.js`)).toString(),
      ...(style ? { styleUri: webview.asWebviewUri(vscode.Uri.joinPath(host.root, style)).toString() } : {}),
    });
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidChangeViewState(() => {
        // A hidden webview is discarded: stop its feed; it says `ready` again when shown.
        if (!panel.visible) this.stopFeed('gone');
      }),
      host.connection.whileConnected((c) => {
        if (this.ready) this.startFeed(c);
      }),
      host.connection.onDidChangeState((s) => {
        if (s.kind === 'disconnected' && this.ready) this.post({ type: 'status', level: 'error', text: `Not connected to branchboxd (${s.reason}); reconnecting…` });
      }),
    );
  }

  dispose(): void {
    this.stopFeed('gone');
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private post(message: ToWebview): void {
    void this.panel.webview.postMessage(message);
  }

  private receive(raw: unknown): void {
    if (!isFromWebview(raw)) {
      this.host.log.warn(`Ignored a malformed message from the ${this.target.kind} panel "${this.target.title}"`);
      return;
    }
    const m: FromWebview = raw;
    switch (m.type) {
      case 'ready': {
        // A new webview (first open, shown again, reloaded): it holds nothing to resume after.
        this.stopFeed('gone');
        this.ready = true;
        const c = this.host.connection.connected;
        if (c) this.startFeed(c);
        else {
          this.post({ type: 'init', target: this.target, locale: vscode.env.language });
          this.post({ type: 'status', level: 'info', text: 'Connecting to branchboxd…' });
        }
        return;
      }
      case 'ack':
        this.feed?.ack?.(m.seq);
        return;
      case 'request':
        void this.answer(m);
        return;
    }
  }

  private async answer(m: RequestMessage): Promise<void> {
    try {
      const result = await this.handle(m);
      this.post({ type: 'response', id: m.id, result });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.host.log.error(`${this.target.title}: ${m.method} failed: ${message}`);
      this.post({ type: 'response', id: m.id, error: { message } });
    }
  }

  private async handle(m: RequestMessage): Promise<unknown> {
    switch (m.method) {
      case 'logs/save':
        return this.saveLogs(m.params as WebviewRequests['logs/save']['params']);
      case 'clipboard/write':
        await vscode.env.clipboard.writeText((m.params as WebviewRequests['clipboard/write']['params']).text);
        return null;
      case 'deployment/open':
        await vscode.commands.executeCommand('branchbox.showDeployment', (m.params as WebviewRequests['deployment/open']['params']).id);
        return null;
      default:
        throw new Error(`Unknown request ${String(m.method)}`);
    }
  }

  private async saveLogs(params: WebviewRequests['logs/save']['params']): Promise<WebviewRequests['logs/save']['result']> {
    if (this.target.kind !== 'logs') throw new Error('Only a Logs panel saves logs.');
    const c = this.host.connection.connected;
    if (!c) throw new Error('Not connected to branchboxd; try again once it is back.');
    const sources = this.feed instanceof LogFeed ? this.feed.currentSources : this.target.sources;
    const name = (sources.length === 1 ? sources[0]!.label : 'merged').replace(/[^\w.-]+/g, '_');
    const uri = await vscode.window.showSaveDialog({ title: 'Save Logs', saveLabel: 'Save', defaultUri: vscode.Uri.file(`${name}.log`), filters: { Logs: ['log', 'txt'] } });
    if (!uri) return { path: null, lines: 0 };
    const { text, lines } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Saving the logs of ${this.target.title}…` },
      () => collectLogs(c.client, sources, params),
    );
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
    this.host.log.info(`Saved ${lines} lines of ${this.target.title} to ${uri.fsPath}`);
    return { path: uri.fsPath, lines };
  }

  private startFeed(c: Connected): void {
    const t = this.target;
    // A Logs panel that outlived its connection keeps its lines and reads on after them;
    // otherwise `init` resets the webview and the new feed starts from scratch.
    const resumeFrom = t.kind === 'logs' ? this.logPositions : undefined;
    this.stopFeed('gone');
    this.post({ type: 'init', target: t, locale: vscode.env.language, ...(resumeFrom ? { keep: true } : {}) });
    const post = (message: ToWebview) => this.post(message);
    const feed: Feed =
      t.kind === 'logs'
        ? new LogFeed({ client: c.client, sources: t.sources, post, resumeFrom, onError: (s, e) => this.host.log.warn(`Logs of ${s.label} (${s.container}): ${e}`) })
        : t.kind === 'stats'
          ? new StatsFeed(c.client, t, post)
          : new DeploymentFeed(c.client, t, post);
    this.feed = feed;
    // The connection's end ends the feed; the next connection starts a new one (whileConnected).
    c.scope.defer(() => {
      if (this.feed === feed) this.stopFeed('connection');
    });
    feed.start().catch((e: unknown) => {
      if (this.feed !== feed) return;
      const message = e instanceof Error ? e.message : String(e);
      this.host.log.error(`${t.title}: could not open the panel's stream: ${message}`);
      this.post({ type: 'status', level: 'error', text: `Could not open ${t.title}: ${message}` });
    });
  }

  /** `connection`: the connection ended under a live webview, which the next feed continues; `gone`: it did not. */
  private stopFeed(why: 'connection' | 'gone'): void {
    const feed = this.feed;
    this.feed = undefined;
    if (why === 'gone') this.logPositions = undefined;
    if (feed instanceof LogFeed && why === 'connection') this.logPositions = feed.handOver();
    else if (feed) void feed.dispose();
  }
}
