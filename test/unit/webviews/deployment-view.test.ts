// @vitest-environment happy-dom
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The Deployment panel's DOM: the timeline with the running stage's class (what the stylesheet
 * animates), durations, the diagnosis shown only on failure, history bars, the log tail.
 */
import { describe, expect, it } from 'vitest';
import type { DeployProgress, DeploymentRecord } from '../../../schemas/src/deploy';
import { DeploymentView } from '../../../webviews/src/deployment/view';
import { DEPLOYMENT_CSS } from '../../../webviews/src/deployment/styles';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const base = { deployment: 'd1', service: 'account', sandbox: 'sb' } as const;
const record: DeploymentRecord = { id: 'd1', sandbox: 'sb', service: 'account', repoPath: '/r', ref: 'broken-health', includeUncommitted: false, status: 'queued', createdAt: iso(0), stages: [] };

function setup() {
  const frames: (() => void)[] = [];
  let now = T0;
  const view = new DeploymentView({ schedule: (fn) => frames.push(fn), now: () => now });
  document.body.replaceChildren(view.element);
  const flush = () => frames.splice(0).forEach((f) => f());
  const stages = () => [...view.element.querySelectorAll<HTMLElement>('.stage')].map((e) => `${e.dataset.stage}:${e.className.replace('stage ', '')}:${e.querySelector('.duration')!.textContent}`);
  return { view, flush, stages, setNow: (ms: number) => (now = T0 + ms) };
}

describe('DeploymentView', () => {
  it('animates the running stage by class, ticks its duration, then shows the diagnosis of a failure', () => {
    const { view, flush, stages, setNow } = setup();
    view.snapshot({ type: 'deploy/snapshot', record, log: [{ seq: 1, t: iso(0), source: 'git', line: 'exported abc' }], history: [] });
    const items: DeployProgress[] = [
      { ...base, kind: 'status', status: 'preparing', t: iso(0) },
      { ...base, kind: 'stage', stage: 'prepare', phase: 'begin', t: iso(0) },
      { ...base, kind: 'stage', stage: 'prepare', phase: 'end', durationMs: 450, outcome: 'ok', t: iso(450) },
      { ...base, kind: 'stage', stage: 'build', phase: 'begin', t: iso(500) },
      { ...base, kind: 'log', seq: 2, source: 'build', line: 'Step 1/4', t: iso(600) },
    ];
    view.progress({ type: 'deploy/progress', items });
    setNow(3000);
    flush();
    expect(stages()).toEqual(['prepare:ok:450 ms', 'build:running:2.5 s', 'start:pending:', 'health-check:pending:', 'switch-over:pending:']);
    expect(view.running).toBe(true);
    expect(view.element.querySelector<HTMLElement>('.diagnosis')!.hidden).toBe(true);
    expect(view.element.querySelector('.log')!.textContent).toBe('exported abc\nStep 1/4\n');
    expect(DEPLOYMENT_CSS).toMatch(/\.stage\.running \{[^}]*animation: bb-stage-pulse/);

    view.progress({
      type: 'deploy/progress',
      items: [
        { ...base, kind: 'stage', stage: 'build', phase: 'end', durationMs: 2600, outcome: 'ok', t: iso(3100) },
        { ...base, kind: 'stage', stage: 'start', phase: 'begin', t: iso(3100) },
        { ...base, kind: 'stage', stage: 'start', phase: 'end', durationMs: 300, outcome: 'ok', t: iso(3400) },
        { ...base, kind: 'stage', stage: 'health-check', phase: 'begin', t: iso(3400) },
        { ...base, kind: 'stage', stage: 'health-check', phase: 'end', durationMs: 6000, outcome: 'failed', t: iso(9400) },
        { ...base, kind: 'status', status: 'failed', diagnosis: 'health-check failed: /healthz answered 500', t: iso(9500) },
      ],
    });
    flush();
    expect(stages()).toEqual(['prepare:ok:450 ms', 'build:ok:2.6 s', 'start:ok:300 ms', 'health-check:failed:6.0 s', 'switch-over:skipped:']);
    expect(view.running).toBe(false);
    const diagnosis = view.element.querySelector<HTMLElement>('.diagnosis')!;
    expect(diagnosis.hidden).toBe(false);
    expect(diagnosis.textContent).toBe('health-check failed: /healthz answered 500');
    expect(view.element.querySelector('.badge')!.textContent).toBe('failed');
    // The history holds this deployment, as failed with how long it ran.
    const bars = [...view.element.querySelectorAll('.bar-row')];
    expect(bars).toHaveLength(1);
    expect(bars[0]!.className).toContain('failed');
    expect(bars[0]!.className).toContain('current');
  });

  it('keeps the log tail in the DOM within the state’s cap', () => {
    const { view, flush } = setup();
    view.snapshot({ type: 'deploy/snapshot', record, log: [], history: [] });
    const cap = view.state.logCap;
    view.progress({ type: 'deploy/progress', items: Array.from({ length: cap + 50 }, (_, i) => ({ ...base, kind: 'log' as const, seq: i + 1, source: 'build' as const, line: `line ${i + 1}`, t: iso(i) })) });
    flush();
    const lines = view.element.querySelectorAll('.log .line');
    expect(lines).toHaveLength(cap);
    expect(lines[0]!.textContent).toBe('line 51\n');
  });

  it('shows the diagnosis and the log tail as plain text, without terminal escapes', () => {
    const { view, flush } = setup();
    view.snapshot({ type: 'deploy/snapshot', record, log: [{ seq: 1, t: iso(0), source: 'build', line: '\u001b[91m/bin/sh: 1: npm: not found\u001b[0m' }], history: [] });
    view.progress({
      type: 'deploy/progress',
      items: [{ ...base, kind: 'status', status: 'failed', diagnosis: 'build failed: \u001b[91mnpm: not found\u001b[0m (Dockerfile step 3: RUN npm install)', t: iso(100) }],
    });
    flush();
    expect(view.element.querySelector('.diagnosis')!.textContent).toBe('build failed: npm: not found (Dockerfile step 3: RUN npm install)');
    expect(view.element.querySelector('.log')!.textContent).toBe('/bin/sh: 1: npm: not found\n');
  });
});
