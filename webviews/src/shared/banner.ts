/**
 * The banner a panel shows above its content when what it shows is gone or replaced (its
 * sandbox deleted, its deployment replaced): one line per kind, a newer one of a kind replacing
 * the older, and, for a replaced deployment, a link opening the new one. The content below
 * stays as it was.
 */
import type { BannerMessage } from '../../../schemas/src/webview';

export const BANNER_CSS = `
.banner { display: flex; flex-direction: column; gap: 2px; padding: 6px 10px; flex: 0 0 auto;
  background: var(--vscode-inputValidation-warningBackground); color: var(--vscode-foreground);
  border-bottom: 1px solid var(--vscode-inputValidation-warningBorder, var(--vscode-panel-border)); }
.banner[hidden] { display: none; }
.banner a { color: var(--vscode-textLink-foreground); cursor: pointer; margin-left: 1ch; }
.banner a:hover { color: var(--vscode-textLink-activeForeground); }
`;

export class Banner {
  readonly element: HTMLDivElement;
  private readonly lines = new Map<BannerMessage['kind'], HTMLDivElement>();

  /** `open`: opens a deployment's panel (a link's click). */
  constructor(private readonly open: (deployment: string) => void) {
    this.element = document.createElement('div');
    this.element.className = 'banner';
    this.element.setAttribute('role', 'alert');
    this.element.hidden = true;
  }

  show(m: BannerMessage): void {
    const line = document.createElement('div');
    line.className = `banner-line ${m.kind}`;
    line.append(m.text);
    if (m.deployment) {
      const link = document.createElement('a');
      link.textContent = m.deployment.label;
      const id = m.deployment.id;
      link.addEventListener('click', () => this.open(id));
      line.append(link);
    }
    const old = this.lines.get(m.kind);
    if (old) old.replaceWith(line);
    else this.element.append(line);
    this.lines.set(m.kind, line);
    this.element.hidden = false;
  }

  /** The texts shown, one per kind. */
  get texts(): string[] {
    return [...this.lines.values()].map((l) => l.textContent ?? '');
  }
}
