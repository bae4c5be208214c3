/**
 * The Deployment panel's DOM: a header (service → sandbox, ref, status), the five-stage
 * timeline (the running stage has the `running` class, which the stylesheet animates), the
 * one-line diagnosis of a failure, the service's recent time-to-ready bars, and the log tail
 * (following the newest line unless scrolled up). Renders from a `DeploymentState`, at most
 * once a frame.
 */
import { plainLine, plainText } from '../../../schemas/src/plain-text';
import type { DeploymentProgress, DeploymentSnapshot } from '../../../schemas/src/webview';
import { el } from '../shared/bridge';
import { DeploymentState, formatDuration, historyBars, isFinal } from './state';

export interface DeploymentViewOptions {
  readonly schedule?: (fn: () => void) => void;
  readonly now?: () => number;
}

export class DeploymentView {
  readonly element: HTMLDivElement;
  readonly state = new DeploymentState();
  private readonly header = el('div', { class: 'header' });
  private readonly status = el('div', { class: 'status' });
  private readonly timelineEl = el('ol', { class: 'timeline' });
  private readonly diagnosis = el('div', { class: 'diagnosis', role: 'alert', hidden: '' });
  private readonly historyEl = el('ol', { class: 'history' });
  private readonly logEl = el('pre', { class: 'log', tabindex: '0' });
  private readonly schedule: (fn: () => void) => void;
  private readonly now: () => number;
  private scheduled = false;
  /** The seq of the last log line in the DOM. */
  private shownSeq = 0;
  private follow = true;

  constructor(options: DeploymentViewOptions = {}) {
    this.schedule = options.schedule ?? ((fn) => requestAnimationFrame(fn));
    this.now = options.now ?? Date.now;
    this.element = el(
      'div',
      { class: 'deployment' },
      this.header,
      this.status,
      this.timelineEl,
      this.diagnosis,
      el('h3', {}, 'Recent time to ready'),
      this.historyEl,
      el('h3', {}, 'Log'),
      this.logEl,
    );
    this.logEl.addEventListener('scroll', () => {
      this.follow = this.logEl.scrollTop + this.logEl.clientHeight >= this.logEl.scrollHeight - 4;
    });
  }

  snapshot(m: DeploymentSnapshot): void {
    this.state.snapshot(m.record, m.log, m.history);
    this.logEl.textContent = '';
    this.shownSeq = 0;
    this.invalidate();
  }

  progress(m: DeploymentProgress): void {
    if (this.state.apply(m.items)) this.invalidate();
  }

  showStatus(level: 'info' | 'error', text: string): void {
    this.status.className = level === 'error' ? 'status error' : 'status';
    this.status.textContent = text;
  }

  /** Whether a stage runs (the panel then ticks its duration). */
  get running(): boolean {
    const r = this.state.record;
    return !!r && !isFinal(r.status);
  }

  invalidate(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.render();
    });
  }

  render(): void {
    const r = this.state.record;
    if (!r) return;
    this.header.replaceChildren(
      el('span', { class: 'title' }, `${r.service} → ${r.sandbox}`),
      el('span', { class: 'muted' }, `${r.ref ?? ''}${r.commit ? ` @ ${r.commit.slice(0, 7)}` : ''}`),
      el('span', { class: `badge ${r.status}` }, r.status),
      ...(r.url && r.status === 'running' ? [el('span', { class: 'muted' }, r.url)] : []),
    );
    this.timelineEl.replaceChildren(
      ...this.state.timeline(this.now()).map((s) =>
        el('li', { class: `stage ${s.state}`, 'data-stage': s.stage, title: s.state }, el('span', { class: 'dot' }), el('span', { class: 'name' }, s.label), el('span', { class: 'duration' }, s.state === 'reused' ? `reused · ${formatDuration(s.durationMs)}` : formatDuration(s.durationMs))),
      ),
    );
    if (r.diagnosis && (r.status === 'failed' || r.status === 'cancelled')) {
      this.diagnosis.textContent = plainLine(r.diagnosis);
      this.diagnosis.hidden = false;
    } else this.diagnosis.hidden = true;
    this.historyEl.replaceChildren(
      ...historyBars(this.state.history, r.id).map((b) => {
        const bar = el('span', { class: 'bar' });
        bar.style.width = `${Math.max(2, Math.round(b.fraction * 100))}%`;
        return el(
          'li',
          { class: `bar-row ${b.ready ? 'ready' : b.status}${b.current ? ' current' : ''}`, title: b.status },
          el('span', { class: 'label' }, b.label),
          el('span', { class: 'track' }, bar),
          el('span', { class: 'ms' }, b.ms === undefined ? b.status : b.ready ? formatDuration(b.ms) : `${b.status} · ${formatDuration(b.ms)}`),
        );
      }),
    );
    this.renderLog();
  }

  private renderLog(): void {
    const lines = this.state.logLines;
    const fresh = lines.filter((l) => l.seq > this.shownSeq);
    if (fresh.length === 0) return;
    // Plain text, not a terminal: colours and cursor moves of the build output are dropped.
    const rows = fresh.map((l) => el('span', { class: `line ${l.source}` }, `${plainText(l.line)}\n`));
    this.logEl.append(...rows);
    this.shownSeq = fresh[fresh.length - 1]!.seq;
    // Keep the DOM to what the state keeps.
    while (this.logEl.childElementCount > lines.length) this.logEl.firstElementChild!.remove();
    if (this.follow) this.logEl.scrollTop = this.logEl.scrollHeight;
  }
}
