/** Panel plumbing shared by host and webviews: the CSP shell, panel identity, restored state, timestamps. */
import { randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, makeNonce, panelHtml } from '../../../extension/src/panels/html';
import { isFromWebview, isPanelTarget, panelKey, timestampMs } from '../../../schemas/src/webview';

describe('panel HTML', () => {
  it('allows scripts only with the nonce, no remote content and no unsafe-inline', () => {
    const nonce = makeNonce((b) => randomFillSync(b));
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(makeNonce((b) => randomFillSync(b))).not.toBe(nonce);
    const csp = contentSecurityPolicy('vscode-resource:', nonce);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'nonce-${nonce}'`);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    const html = panelHtml({ cspSource: 'vscode-resource:', nonce, scriptUri: 'vscode-resource:/dist/webviews/logs.js', title: 'Logs: <api>' });
    expect(html).toContain(`<script type="module" nonce="${nonce}" src="vscode-resource:/dist/webviews/logs.js">`);
    expect(html).toContain('Logs: &#60;api&#62;');
    expect(html.match(/<script/g)).toHaveLength(1);
  });
});

describe('panel targets', () => {
  it('identifies a logs panel by its set of containers, whatever the order', () => {
    const a = panelKey({ kind: 'logs', title: 'x', sources: [{ container: 'b', label: 'B' }, { container: 'a', label: 'A' }] });
    const b = panelKey({ kind: 'logs', title: 'y', sources: [{ container: 'a', label: 'A' }, { container: 'b', label: 'B' }] });
    expect(a).toBe(b);
    expect(panelKey({ kind: 'stats', title: 's', sandbox: 'a' })).not.toBe(panelKey({ kind: 'stats', title: 's', container: 'a' }));
  });

  it('accepts only well-formed restored state', () => {
    expect(isPanelTarget({ kind: 'logs', title: 't', sources: [{ container: 'c', label: 'l' }] }, 'logs')).toBe(true);
    expect(isPanelTarget({ kind: 'logs', title: 't', sources: [] }, 'logs')).toBe(false);
    expect(isPanelTarget({ kind: 'stats', title: 't', container: 'c', sandbox: 's' }, 'stats')).toBe(false);
    expect(isPanelTarget({ kind: 'deployment', title: 't', deployment: 'd' }, 'logs')).toBe(false);
    expect(isPanelTarget(undefined, 'deployment')).toBe(false);
  });

  it('checks messages from webviews', () => {
    expect(isFromWebview({ type: 'ready' })).toBe(true);
    expect(isFromWebview({ type: 'ack', seq: 3 })).toBe(true);
    expect(isFromWebview({ type: 'request', id: 1, method: 'logs/save', params: {} })).toBe(true);
    expect(isFromWebview({ type: 'request', method: 'logs/save' })).toBe(false);
    expect(isFromWebview('ready')).toBe(false);
  });

  it('parses engine timestamps to fractional ms, in order', () => {
    expect(timestampMs('2025-01-01T00:00:00.5Z')).toBe(Date.UTC(2025, 0, 1) + 500);
    expect(timestampMs('2025-01-01T00:00:00.000000002Z')).toBeGreaterThan(timestampMs('2025-01-01T00:00:00.000000001Z') - 1e-3);
    expect(timestampMs('2025-01-01T01:00:00+01:00')).toBe(Date.UTC(2025, 0, 1));
    expect(timestampMs(undefined)).toBe(0);
    expect(timestampMs('garbage')).toBe(0);
  });
});
