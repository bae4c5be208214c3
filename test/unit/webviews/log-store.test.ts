/** The Logs webview's line store (a capped chunked ring) and view (filter, search). */
import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../../schemas/src/webview';
import { CHUNK, LogStore } from '../../../webviews/src/logs/store';
import { LogView, plainText, visibleRows } from '../../../webviews/src/logs/view';

const line = (text: string, opts: Partial<LogLine> = {}): LogLine => ({ src: 0, err: false, ts: 0, text, ...opts });
const lines = (n: number, from = 0, opts: Partial<LogLine> = {}) => Array.from({ length: n }, (_, i) => line(`line ${from + i}`, opts));

describe('LogStore', () => {
  it('keeps lines by increasing absolute index', () => {
    const store = new LogStore();
    store.append(lines(3));
    store.append(lines(2, 3));
    expect(store.size).toBe(5);
    expect(store.get(0)!.text).toBe('line 0');
    expect(store.get(4)!.text).toBe('line 4');
    expect(store.get(5)).toBeUndefined();
  });

  it('drops the oldest whole chunks past the cap, and keeps at least the cap', () => {
    const cap = CHUNK * 2;
    const store = new LogStore(cap);
    let dropped = 0;
    for (let i = 0; i < 10; i++) dropped += store.append(lines(CHUNK / 2 + 3, i * (CHUNK / 2 + 3)));
    const total = 10 * (CHUNK / 2 + 3);
    expect(store.end).toBe(total);
    expect(store.size).toBeGreaterThanOrEqual(cap);
    expect(store.size).toBeLessThan(cap + CHUNK);
    expect(dropped).toBe(store.base);
    expect(store.base % CHUNK).toBe(0);
    expect(store.get(store.base - 1)).toBeUndefined();
    expect(store.get(store.base)!.text).toBe(`line ${store.base}`);
    expect(store.get(total - 1)!.text).toBe(`line ${total - 1}`);
  });

  it('holds a million lines within its cap', () => {
    const store = new LogStore(1_000_000);
    for (let i = 0; i < 12; i++) store.append(lines(100_000, i * 100_000));
    expect(store.end).toBe(1_200_000);
    expect(store.size).toBeLessThan(1_000_000 + CHUNK);
    expect(store.get(1_199_999)!.text).toBe('line 1199999');
  });
});

describe('LogView', () => {
  function setup() {
    const store = new LogStore(CHUNK * 2);
    const view = new LogView(store);
    const add = (ls: LogLine[]) => {
      const from = store.end;
      store.append(ls);
      view.appended(from);
    };
    return { store, view, add };
  }

  it('shows every line as a row until filtered; filters by stream and by source', () => {
    const { view, add } = setup();
    add([line('o1'), line('e1', { err: true }), line('o2', { src: 1 }), line('e2', { err: true, src: 1 })]);
    expect(view.rows).toBe(4);
    view.setFilter({ stdout: true, stderr: false, hiddenSources: new Set() });
    expect([0, 1].map((r) => view.line(r)!.text)).toEqual(['o1', 'o2']);
    expect(view.rows).toBe(2);
    add([line('o3'), line('e3', { err: true })]);
    expect(view.rows).toBe(3);
    expect(view.line(2)!.text).toBe('o3');
    view.setFilter({ stdout: true, stderr: true, hiddenSources: new Set([0]) });
    expect(view.rows).toBe(2);
    expect(view.line(1)!.text).toBe('e2');
  });

  it('searches case-insensitively, ignoring ANSI escapes, across new lines, with next/previous wrapping', () => {
    const { view, add } = setup();
    add([line('alpha ERROR one'), line('beta'), line('\u001b[31merr\u001b[0mor two'), line('gamma')]);
    view.setQuery('error');
    expect(view.matchCount).toBe(2);
    expect(view.currentMatchRow).toBe(0);
    expect(view.step(1)).toBe(2);
    expect(view.step(1)).toBe(0); // wraps
    expect(view.step(-1)).toBe(2);
    add([line('late error')]);
    expect(view.matchCount).toBe(3);
    expect(view.isMatch(4)).toBe(true);
    expect(view.isMatch(1)).toBe(false);
    expect(view.ranges('an Error and error')).toEqual([
      [3, 8],
      [13, 18],
    ]);
  });

  it('searches only the rows the filter shows, and starts from the given row', () => {
    const { view, add } = setup();
    add([line('x 1'), line('x 2', { err: true }), line('x 3'), line('x 4')]);
    view.setFilter({ stdout: true, stderr: false, hiddenSources: new Set() });
    view.setQuery('x', 2);
    expect(view.matchCount).toBe(3);
    expect(view.currentMatchRow).toBe(2);
    expect(view.line(view.currentMatchRow)!.text).toBe('x 4');
  });

  it('forgets rows and matches of lines the store dropped', () => {
    const { store, view, add } = setup();
    view.setFilter({ stdout: true, stderr: false, hiddenSources: new Set() });
    view.setQuery('needle');
    add([line('needle first'), ...lines(CHUNK * 3)]);
    expect(store.base).toBeGreaterThan(0);
    expect(view.matchCount).toBe(0);
    expect(view.rows).toBe(store.size);
    expect(view.line(0)!.text).toBe(`line ${store.base - 1}`);
  });

  it('strips ANSI for plain text', () => {
    expect(plainText('\u001b[1;32mok\u001b[0m done')).toBe('ok done');
  });

  it('computes the visible window of a virtual list', () => {
    expect(visibleRows(0, 180, 18, 1_000_000, 5)).toEqual({ first: 0, last: 15 });
    expect(visibleRows(18 * 500_000, 180, 18, 1_000_000, 5)).toEqual({ first: 499_995, last: 500_015 });
    expect(visibleRows(18 * 999_990, 180, 18, 1_000_000, 5)).toEqual({ first: 999_985, last: 1_000_000 });
  });
});
