// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The Logs panel's virtualized list in a DOM: only the rows in sight are in the document,
 * following keeps the newest line in sight, search marks matches, ANSI colours survive the
 * CSP (classes and CSSOM styles, never style attributes).
 */
import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../../schemas/src/webview';
import { LogList, ROW_HEIGHT } from '../../../webviews/src/logs/log-list';
import { LogStore } from '../../../webviews/src/logs/store';
import { LogView } from '../../../webviews/src/logs/view';

const line = (text: string, opts: Partial<LogLine> = {}): LogLine => ({ src: 0, err: false, ts: Date.UTC(2025, 0, 1), text, ...opts });

function setup() {
  const store = new LogStore();
  const view = new LogView(store);
  const list = new LogList(store, view, { schedule: () => undefined }); // the test renders by hand
  document.body.append(list.element);
  const texts = () => [...list.element.querySelectorAll<HTMLElement>('.log-row:not([hidden]) .text')].map((e) => e.textContent);
  return { store, view, list, texts };
}

describe('LogList', () => {
  it('puts only the rows in sight in the DOM, however many lines there are', () => {
    const { list, view } = setup();
    list.apply(Array.from({ length: 200_000 }, (_, i) => line(`line ${i}`)));
    const count = list.render();
    expect(view.rows).toBe(200_000);
    expect(count).toBeLessThan(60);
    expect(list.element.querySelectorAll('.log-row').length).toBe(count);
    const spacer = list.element.querySelector<HTMLElement>('.log-spacer')!;
    expect(spacer.style.height).toBe(`${200_000 * ROW_HEIGHT}px`);
  });

  it('follows the newest lines, and stops when paused', () => {
    const { list, texts } = setup();
    list.apply(Array.from({ length: 1000 }, (_, i) => line(`line ${i}`)));
    list.render();
    expect(texts()).toContain('line 999');
    list.setFollowing(false);
    const top = list.element.scrollTop;
    list.apply([line('line 1000')]);
    list.render();
    expect(list.element.scrollTop).toBe(top);
    list.setFollowing(true);
    list.render();
    expect(texts()).toContain('line 1000');
  });

  it('reveals a search match, marking it', () => {
    const { list, view } = setup();
    list.apply(Array.from({ length: 5000 }, (_, i) => line(i === 1234 ? 'the Needle is here' : `line ${i}`)));
    view.setQuery('needle');
    list.reveal(view.currentMatchRow);
    list.render();
    expect(list.following).toBe(false);
    const mark = list.element.querySelector('mark.current');
    expect(mark?.textContent).toBe('Needle');
    expect(mark?.parentElement?.textContent).toBe('the Needle is here');
  });

  it('colours ANSI output with classes and CSSOM styles, no style attributes', () => {
    const { list } = setup();
    list.apply([line('\u001b[31mred\u001b[0m plain \u001b[1;38;2;10;20;30mtrue\u001b[0m')]);
    list.render();
    const text = list.element.querySelector('.log-row .text')!;
    expect(text.textContent).toBe('red plain true');
    expect(text.querySelector('.ansi-red-fg')?.textContent).toBe('red');
    const truecolor = [...text.querySelectorAll<HTMLElement>('span')].find((s) => s.textContent === 'true')!;
    expect(truecolor.style.color).toMatch(/rgb\(10, ?20, ?30\)|#0a141e/);
    expect(text.innerHTML).not.toContain('data-s');
  });

  it('labels merged sources and marks stderr', () => {
    const { list } = setup();
    list.setSources([
      { container: 'a', label: 'api' },
      { container: 'b', label: 'web' },
    ]);
    list.apply([line('from api'), line('from web', { src: 1, err: true })]);
    list.render();
    const rows = [...list.element.querySelectorAll<HTMLElement>('.log-row:not([hidden])')];
    expect(rows.map((r) => r.querySelector('.src')!.textContent)).toEqual(['api', 'web']);
    expect(rows[1]!.classList.contains('err')).toBe(true);
    expect(rows[1]!.querySelector<HTMLElement>('.src')!.style.color).toContain('--vscode-terminal-ansiMagenta');
  });
});
