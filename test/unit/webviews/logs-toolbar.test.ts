/**
 * The Logs toolbar's line count follows the stream and source filters and the search; the
 * search counter says where the current match is.
 */
import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../../schemas/src/webview';
import { LogStore } from '../../../webviews/src/logs/store';
import { lineCountText, matchCounterText } from '../../../webviews/src/logs/toolbar';
import { LogView } from '../../../webviews/src/logs/view';

const countOf = (view: LogView, store: LogStore) => lineCountText({ shown: view.rows, total: store.size, ...(view.query ? { matches: view.matchCount } : {}) });

function panel(lines: LogLine[]) {
  const store = new LogStore();
  const view = new LogView(store);
  const from = store.end;
  store.append(lines);
  view.appended(from);
  return { store, view };
}

const out = (text: string, src = 0): LogLine => ({ src, err: false, ts: 1, text });
const err = (text: string, src = 0): LogLine => ({ src, err: true, ts: 1, text });

describe('the line count', () => {
  it('counts what the stream filters let through', () => {
    const { store, view } = panel([...Array.from({ length: 7 }, (_, i) => out(`ready ${i}`)), err('oops 1'), err('oops 2'), err('ready oops')]);
    expect(countOf(view, store)).toBe('10 lines');
    view.setFilter({ stdout: false, stderr: true, hiddenSources: new Set() });
    expect(countOf(view, store)).toBe('3 of 10 lines');
    view.setFilter({ stdout: false, stderr: false, hiddenSources: new Set() });
    expect(countOf(view, store)).toBe('0 of 10 lines');
  });

  it('counts the matches among the lines shown when searching', () => {
    const { store, view } = panel([out('ready a'), out('ready b'), err('ready c'), err('other'), out('x', 1)]);
    view.setQuery('ready');
    expect(countOf(view, store)).toBe('5 lines · 3 matches');
    view.setFilter({ stdout: false, stderr: true, hiddenSources: new Set() });
    expect(countOf(view, store)).toBe('2 of 5 lines · 1 match');
    view.setFilter({ stdout: true, stderr: true, hiddenSources: new Set([0]) });
    expect(countOf(view, store)).toBe('1 of 5 lines · 0 matches');
  });

  it('writes one line in the singular', () => {
    expect(lineCountText({ shown: 1, total: 1 })).toBe('1 line');
    expect(lineCountText({ shown: 0, total: 1 })).toBe('0 of 1 line');
  });
});

describe('the search counter', () => {
  it('is empty without a search, says so without results, else the current match of how many', () => {
    expect(matchCounterText('', -1, 0)).toBe('');
    expect(matchCounterText('x', -1, 0)).toBe('No results');
    expect(matchCounterText('x', 2, 12)).toBe('3 of 12');
  });
});
