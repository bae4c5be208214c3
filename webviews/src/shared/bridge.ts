/**
 * The webview end of schemas/src/webview.ts: sends `ready` once listening, delivers the
 * host's pushes to one handler, and turns `request`s into promises answered by id (rejected
 * with the host's error message). Keeps the panel's target as the webview state, which VS
 * Code hands to the serializer after a reload. Shows `banner`s itself, the same way in every
 * panel (banner.ts), at the top of `#root`.
 */
import type {
  FromWebview,
  PanelTarget,
  ResponseMessage,
  ToWebview,
  WebviewRequestMethod,
  WebviewRequests,
} from '../../../schemas/src/webview';
import { BANNER_CSS, Banner } from './banner';

interface VsCodeApi {
  postMessage(message: unknown): void;
  setState(state: unknown): void;
  getState(): unknown;
}

declare function acquireVsCodeApi(): VsCodeApi;

export type Push = Exclude<ToWebview, ResponseMessage | { type: 'banner' }>;

export class Bridge {
  private readonly api: VsCodeApi;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private banner: Banner | undefined;

  constructor(
    onPush: (message: Push) => void,
    api: VsCodeApi = acquireVsCodeApi(),
    target: EventTarget = window,
  ) {
    this.api = api;
    target.addEventListener('message', (event) => {
      const m = (event as MessageEvent<ToWebview>).data;
      if (typeof m !== 'object' || m === null || typeof m.type !== 'string') return;
      if (m.type === 'response') {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if ('error' in m) p.reject(new Error(m.error.message));
        else p.resolve(m.result);
        return;
      }
      if (m.type === 'banner') return this.showBanner(m);
      if (m.type === 'init') this.api.setState(m.target);
      onPush(m);
    });
    this.send({ type: 'ready' });
  }

  private showBanner(m: Extract<ToWebview, { type: 'banner' }>): void {
    if (!this.banner) {
      adoptStyles(BANNER_CSS);
      this.banner = new Banner((id) => void this.request('deployment/open', { id }).catch(() => undefined));
      (document.getElementById('root') ?? document.body).prepend(this.banner.element);
    }
    this.banner.show(m);
  }

  send(message: FromWebview): void {
    this.api.postMessage(message);
  }

  request<M extends WebviewRequestMethod>(method: M, params: WebviewRequests[M]['params']): Promise<WebviewRequests[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ type: 'request', id, method, params } as FromWebview);
    });
  }

  /** The target restored from the webview state (before `init` arrives), if any. */
  get restored(): PanelTarget | undefined {
    return (this.api.getState() as PanelTarget | undefined) ?? undefined;
  }
}

/** Adds CSS to the document without a <style> element (the CSP allows no inline styles). */
export function adoptStyles(css: string): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

/** Styles every panel shares: VS Code's theme variables, nothing hard-coded. */
export const BASE_CSS = `
:root { color-scheme: light dark; }
body { margin: 0; padding: 0; color: var(--vscode-foreground); background: var(--vscode-editor-background);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
.status { padding: 4px 8px; color: var(--vscode-descriptionForeground); }
.status.error { color: var(--vscode-errorForeground); }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 6px 8px;
  border-bottom: 1px solid var(--vscode-panel-border); background: var(--vscode-sideBar-background); }
.muted { color: var(--vscode-descriptionForeground); }
`;

/** Colours per source (service), from the terminal palette of the theme. */
export const SOURCE_COLOURS = ['--vscode-terminal-ansiCyan', '--vscode-terminal-ansiMagenta', '--vscode-terminal-ansiYellow', '--vscode-terminal-ansiGreen', '--vscode-terminal-ansiBlue', '--vscode-terminal-ansiRed', '--vscode-terminal-ansiBrightCyan', '--vscode-terminal-ansiBrightMagenta'];

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
