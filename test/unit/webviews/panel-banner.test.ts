// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * What the panels show when what they follow changes: the banner (one line per kind, a newer
 * one replacing the older, a link that asks for the new deployment) shown by the bridge above
 * the content, which stays; the redeploy marker row in the Logs list, set apart by its class.
 */
import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../../schemas/src/webview';
import { Bridge } from '../../../webviews/src/shared/bridge';
import { LogList } from '../../../webviews/src/logs/log-list';
import { LogStore } from '../../../webviews/src/logs/store';
import { LogView } from '../../../webviews/src/logs/view';

function webview() {
  const sent: unknown[] = [];
  const pushes: unknown[] = [];
  const target = new EventTarget();
  document.body.innerHTML = '<div id="root"><p id="content">the content</p></div>';
  new Bridge((m) => pushes.push(m), { postMessage: (m) => sent.push(m), setState: () => undefined, getState: () => undefined }, target);
  const push = (data: unknown) => target.dispatchEvent(new MessageEvent('message', { data }));
  const banner = () => document.querySelector<HTMLElement>('#root > .banner');
  return { sent, pushes, push, banner };
}

describe('the banner', () => {
  it('shows above the content, one line per kind, and its link asks for the new deployment', () => {
    const w = webview();
    expect(w.banner()).toBeNull();
    w.push({ type: 'banner', kind: 'replaced', text: 'Replaced by deployment d2.', deployment: { id: 'd2', label: 'Show the new deployment' } });
    expect(w.banner()!.hidden).toBe(false);
    expect(document.querySelector('#root')!.firstElementChild).toBe(w.banner());
    expect(w.banner()!.getAttribute('role')).toBe('alert');
    w.banner()!.querySelector('a')!.click();
    expect(w.sent.at(-1)).toEqual({ type: 'request', id: 1, method: 'deployment/open', params: { id: 'd2' } });

    w.push({ type: 'banner', kind: 'replaced', text: 'Replaced by deployment d3.', deployment: { id: 'd3', label: 'Show the new deployment' } });
    w.push({ type: 'banner', kind: 'deleted', text: 'Sandbox demo was deleted.' });
    const lines = [...w.banner()!.querySelectorAll('.banner-line')].map((l) => l.textContent);
    expect(lines).toEqual(['Replaced by deployment d3.Show the new deployment', 'Sandbox demo was deleted.']);
    // The content stays; the banner is not a push the panel's own handler sees.
    expect(document.querySelector('#content')!.textContent).toBe('the content');
    expect(w.pushes).toEqual([]);
  });
});

describe('the redeploy marker', () => {
  it('is a row of its own class among the log lines', () => {
    const store = new LogStore();
    const view = new LogView(store);
    const list = new LogList(store, view, { schedule: () => undefined });
    document.body.replaceChildren(list.element);
    const line = (text: string, o: Partial<LogLine> = {}): LogLine => ({ src: 0, err: false, ts: 1, text, ...o });
    list.apply([line('old'), line('— redeployed: now container c2 —', { marker: true }), line('new')]);
    list.render();
    const rows = [...list.element.querySelectorAll<HTMLElement>('.log-row:not([hidden])')].map((r) => `${r.className}|${r.querySelector('.text')!.textContent}`);
    expect(rows).toEqual(['log-row|old', 'log-row marker|— redeployed: now container c2 —', 'log-row|new']);
  });
});
