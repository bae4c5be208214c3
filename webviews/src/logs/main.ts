/**
 * The Logs panel: toolbar (follow/pause, search with next/previous, stdout/stderr, sources,
 * timestamps, save) over the virtualized list. Every batch is applied, then acknowledged, so
 * the host sends no faster than this panel keeps up.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { LogSourceRef, LogsSourceStatus } from '../../../schemas/src/webview';
import { BASE_CSS, Bridge, SOURCE_COLOURS, adoptStyles, el, type Push } from '../shared/bridge';
import { useDisplayLanguage } from '../shared/clock';
import { LOGS_CSS } from './styles';
import { LogList, ROW_HEIGHT } from './log-list';
import { LogStore } from './store';
import { lineCountText, matchCounterText } from './toolbar';
import { LogView } from './view';

adoptStyles(BASE_CSS + LOGS_CSS);

interface Checkable extends HTMLElement {
  checked: boolean;
}
interface Valued extends HTMLElement {
  value: string;
}

const store = new LogStore();
const view = new LogView(store);
const list = new LogList(store, view);
let sources: readonly LogSourceRef[] = [];
const sourceStates = new Map<number, LogsSourceStatus>();
const hidden = new Set<number>();

const followButton = el('vscode-button', { secondary: '', title: 'Pause following (scroll up also pauses)' }, 'Pause');
const search = el('vscode-textfield', { placeholder: 'Search', title: 'Search (Enter: next, Shift+Enter: previous)' }) as unknown as Valued;
const prev = el('vscode-button', { secondary: '', title: 'Previous match' }, '↑');
const next = el('vscode-button', { secondary: '', title: 'Next match' }, '↓');
const matchInfo = el('span', { class: 'muted match-info' });
const stdout = el('vscode-checkbox', { checked: '', label: 'stdout' }) as unknown as Checkable;
const stderr = el('vscode-checkbox', { checked: '', label: 'stderr' }) as unknown as Checkable;
const timestamps = el('vscode-checkbox', { checked: '', label: 'Timestamps' }) as unknown as Checkable;
const sourceBox = el('span', { class: 'sources' });
const save = el('vscode-button', { secondary: '', title: 'Save the whole log (as filtered) to a file' }, 'Save…');
const status = el('div', { class: 'status' });
const counts = el('span', { class: 'muted line-count' });

const root = document.getElementById('root')!;
root.className = 'logs';
root.append(
  el('div', { class: 'toolbar' }, followButton, search, prev, next, matchInfo, stdout, stderr, timestamps, sourceBox, save, counts),
  status,
  list.element,
);

list.onFollowChange = (following) => {
  followButton.textContent = following ? 'Pause' : 'Follow';
  followButton.title = following ? 'Pause following (scroll up also pauses)' : 'Follow the newest lines';
};
followButton.addEventListener('click', () => list.setFollowing(!list.following));

const applyFilter = () => {
  view.setFilter({ stdout: stdout.checked, stderr: stderr.checked, hiddenSources: new Set(hidden) });
  list.invalidate();
  updateMatchInfo();
};
stdout.addEventListener('change', applyFilter);
stderr.addEventListener('change', applyFilter);
timestamps.addEventListener('change', () => list.setTimestamps(timestamps.checked));

let searchTimer: ReturnType<typeof setTimeout> | undefined;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    view.setQuery(search.value, Math.floor(list.element.scrollTop / ROW_HEIGHT));
    if (view.currentMatchRow >= 0) list.reveal(view.currentMatchRow);
    list.invalidate();
    updateMatchInfo();
  }, 150);
});
const step = (delta: 1 | -1) => {
  list.reveal(view.step(delta));
  updateMatchInfo();
};
search.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') step(e.shiftKey ? -1 : 1);
});
prev.addEventListener('click', () => step(-1));
next.addEventListener('click', () => step(1));

save.addEventListener('click', () => {
  status.className = 'status';
  status.textContent = 'Saving…';
  bridge
    .request('logs/save', { streams: { stdout: stdout.checked, stderr: stderr.checked }, timestamps: timestamps.checked })
    .then((r) => (status.textContent = r.path ? `Saved ${r.lines} lines to ${r.path}` : ''))
    .catch((e: Error) => showStatus('error', `Save failed: ${e.message}`));
});

function updateMatchInfo(): void {
  matchInfo.textContent = matchCounterText(view.query, view.currentMatch, view.matchCount);
  updateCounts();
}

function showStatus(level: 'info' | 'error', text: string): void {
  status.className = level === 'error' ? 'status error' : 'status';
  status.textContent = text;
}

function showSources(): void {
  sourceBox.textContent = '';
  if (sources.length < 2) return;
  sources.forEach((s, i) => {
    const box = el('vscode-checkbox', { label: s.label, title: s.container }) as unknown as Checkable;
    box.checked = !hidden.has(i);
    box.style.color = `var(${SOURCE_COLOURS[i % SOURCE_COLOURS.length]})`;
    box.addEventListener('change', () => {
      if (box.checked) hidden.delete(i);
      else hidden.add(i);
      applyFilter();
    });
    sourceBox.append(box);
  });
}

function showSourceStates(): void {
  const notes = [...sourceStates.values()]
    .filter((s) => s.state !== 'following')
    .map((s) => `${sources[s.src]?.label ?? s.src}: ${s.state === 'throttled' ? 'catching up…' : s.state}${s.detail ? ` (${s.detail})` : ''}`);
  const failed = [...sourceStates.values()].some((s) => s.state === 'failed');
  showStatus(failed ? 'error' : 'info', notes.join(' · '));
}

let countsTimer: ReturnType<typeof setTimeout> | undefined;
function updateCounts(): void {
  if (countsTimer) return;
  countsTimer = setTimeout(() => {
    countsTimer = undefined;
    counts.textContent = lineCountText({ shown: view.rows, total: store.size, ...(view.query ? { matches: view.matchCount } : {}) });
    counts.title = counts.textContent;
  }, 250);
}

const bridge = new Bridge((m: Push) => {
  switch (m.type) {
    case 'init':
      if (m.target.kind !== 'logs') return;
      if (!m.keep) {
        store.clear();
        view.reset();
      }
      sources = m.target.sources;
      sourceStates.clear();
      document.title = m.target.title;
      useDisplayLanguage(m.locale);
      list.setSources(sources);
      showSources();
      showStatus('info', '');
      list.invalidate();
      updateCounts();
      return;
    case 'logs/batch':
      list.apply(m.lines);
      bridge.send({ type: 'ack', seq: m.seq });
      updateCounts();
      if (view.query) updateMatchInfo();
      return;
    case 'logs/source':
      sourceStates.set(m.src, m);
      showSourceStates();
      return;
    case 'status':
      showStatus(m.level, m.text);
      return;
    default:
      return;
  }
});
