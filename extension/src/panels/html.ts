/**
 * The HTML shell of every panel: a strict Content-Security-Policy with a fresh nonce (scripts
 * only from the bundle with that nonce, styles from the bundle or adopted by the script, no
 * remote content, no inline handlers, no `unsafe-inline`), the panel's script and, when it
 * has one, its stylesheet. Pure, so the policy is unit-tested.
 */
export interface ShellOptions {
  /** `webview.cspSource`. */
  readonly cspSource: string;
  readonly nonce: string;
  /** `webview.asWebviewUri` of the script (and stylesheet). */
  readonly scriptUri: string;
  readonly styleUri?: string;
  readonly title: string;
}

/** A nonce: 32 characters from a CSPRNG (the caller passes `crypto.getRandomValues`-backed bytes). */
export function makeNonce(random: (bytes: Uint8Array) => Uint8Array): string {
  const bytes = random(new Uint8Array(24));
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s.slice(0, 32);
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function panelHtml(o: ShellOptions): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(o.cspSource, o.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${o.styleUri ? `<link rel="stylesheet" nonce="${o.nonce}" href="${escapeHtml(o.styleUri)}">\n` : ''}<title>${escapeHtml(o.title)}</title>
</head>
<body>
<div id="root"></div>
<script type="module" nonce="${o.nonce}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>`;
}
