/** The Deployment webview's state: progress applied to the timeline, durations, log tail, history. */
import { describe, expect, it } from 'vitest';
import type { DeployProgress, DeploymentRecord } from '../../../schemas/src/deploy';
import { DeploymentState, STAGES, formatDuration, historyBars, timeToReady } from '../../../webviews/src/deployment/state';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const record = (o: Partial<DeploymentRecord> = {}): DeploymentRecord => ({
  id: 'd1',
  sandbox: 'sb',
  service: 'account',
  repoPath: '/repo',
  ref: 'feature/x',
  commit: 'abcdef0123456789',
  includeUncommitted: false,
  status: 'queued',
  createdAt: iso(0),
  stages: [],
  ...o,
});
const base = { deployment: 'd1', service: 'account', sandbox: 'sb' } as const;
const status = (s: DeployProgress['status'], ms: number, diagnosis?: string): DeployProgress => ({ ...base, kind: 'status', status: s, t: iso(ms), ...(diagnosis ? { diagnosis } : {}) });
const begin = (stage: DeployProgress['stage'], ms: number): DeployProgress => ({ ...base, kind: 'stage', stage, phase: 'begin', t: iso(ms) });
const end = (stage: DeployProgress['stage'], ms: number, durationMs: number, outcome: DeployProgress['outcome'] = 'ok'): DeployProgress => ({ ...base, kind: 'stage', stage, phase: 'end', t: iso(ms), durationMs, outcome });
const log = (seq: number, line: string): DeployProgress => ({ ...base, kind: 'log', seq, line, source: 'build', t: iso(seq) });

/** A whole successful run: begin/end of each stage, 1 s apart. */
function successfulRun(): DeployProgress[] {
  const items: DeployProgress[] = [status('preparing', 100)];
  STAGES.forEach((stage, i) => items.push(begin(stage, 1000 * i + 100), end(stage, 1000 * i + 900, 800 + i)));
  items.push(status('running', 5000));
  return items;
}

describe('DeploymentState', () => {
  it('applies stage begin and end items to the timeline, running stage with its time so far', () => {
    const st = new DeploymentState();
    st.snapshot(record(), [], []);
    expect(st.timeline(T0).map((s) => s.state)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
    expect(st.apply([status('preparing', 100), begin('prepare', 100), end('prepare', 400, 300), begin('build', 400)])).toBe(true);
    const tl = st.timeline(T0 + 2400);
    expect(tl.map((s) => s.state)).toEqual(['ok', 'running', 'pending', 'pending', 'pending']);
    expect(tl[0]!.durationMs).toBe(300);
    expect(tl[1]!.durationMs).toBe(2000);
    expect(st.record!.status).toBe('preparing');
  });

  it('ends with every stage done and its duration once running; replays change nothing', () => {
    const st = new DeploymentState();
    st.snapshot(record(), [], []);
    st.apply(successfulRun());
    const tl = st.timeline(T0 + 60_000);
    expect(tl.map((s) => s.state)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(tl.map((s) => s.durationMs)).toEqual([800, 801, 802, 803, 804]);
    expect(st.record!.status).toBe('running');
    const before = JSON.stringify(st.record);
    expect(st.apply(successfulRun())).toBe(false); // the subscription replays what the snapshot had
    expect(JSON.stringify(st.record)).toBe(before);
    // An older status replayed after a final one never takes it back.
    st.apply([status('building', 200)]);
    expect(st.record!.status).toBe('running');
  });

  it('shows a failure: the failed stage, the stages never run skipped, and the diagnosis', () => {
    const st = new DeploymentState();
    st.snapshot(record(), [], []);
    st.apply([begin('prepare', 0), end('prepare', 100, 100), begin('build', 100), end('build', 200, 100, 'reused'), begin('start', 200), end('start', 300, 100)]);
    st.apply([begin('health-check', 300), end('health-check', 9300, 9000, 'failed'), status('failed', 9400, 'health-check failed: GET /healthz answered 500 three times')]);
    expect(st.timeline(T0 + 10_000).map((s) => s.state)).toEqual(['ok', 'reused', 'ok', 'failed', 'skipped']);
    expect(st.record!.diagnosis).toBe('health-check failed: GET /healthz answered 500 three times');
  });

  it('marks a stage begun but never ended as cut short once the deployment is final', () => {
    const st = new DeploymentState();
    st.snapshot(record({ status: 'building', stages: [{ stage: 'prepare', startedAt: iso(0), finishedAt: iso(10), durationMs: 10, outcome: 'ok' }, { stage: 'build', startedAt: iso(10) }] }), [], []);
    expect(st.timeline(T0 + 1010)[1]).toMatchObject({ state: 'running', durationMs: 1000 });
    st.apply([status('cancelled', 500, 'build cancelled: asked by the user')]);
    expect(st.timeline(T0 + 1010).map((s) => s.state)).toEqual(['ok', 'cancelled', 'skipped', 'skipped', 'skipped']);
  });

  it('keeps a capped log tail without repeating lines the snapshot had', () => {
    const st = new DeploymentState(5);
    st.snapshot(record(), [1, 2, 3].map((seq) => ({ seq, t: iso(seq), source: 'git' as const, line: `l${seq}` })), []);
    st.apply([log(2, 'l2'), log(3, 'l3'), log(4, 'l4')]);
    expect(st.logLines.map((l) => l.line)).toEqual(['l1', 'l2', 'l3', 'l4']);
    st.apply([5, 6, 7].map((n) => log(n, `l${n}`)));
    expect(st.logLines.map((l) => l.line)).toEqual(['l3', 'l4', 'l5', 'l6', 'l7']);
    expect(st.apply([{ ...log(8, 'other'), deployment: 'd2' }])).toBe(false); // another deployment's
  });

  it('keeps this deployment current in the history, newest first', () => {
    const st = new DeploymentState();
    const older = record({ id: 'd0', createdAt: iso(-100_000), status: 'running' });
    st.snapshot(record(), [], [record({ status: 'queued' }), older]);
    st.apply(successfulRun());
    expect(st.history.map((h) => [h.id, h.status])).toEqual([
      ['d1', 'running'],
      ['d0', 'running'],
    ]);
  });
});

describe('history bars', () => {
  const hc = (startedAt: number, finishedAt: number, outcome: 'ok' | 'failed' = 'ok') => ({ stage: 'health-check' as const, startedAt: iso(startedAt), finishedAt: iso(finishedAt), durationMs: finishedAt - startedAt, outcome });

  it('measures time to ready from leaving the queue to the health check passing', () => {
    expect(timeToReady(record({ startedAt: iso(1000), stages: [hc(3000, 5000)] }))).toBe(4000);
    expect(timeToReady(record({ startedAt: iso(1000), stages: [hc(3000, 5000, 'failed')] }))).toBeUndefined();
    expect(timeToReady(record({ stages: [] }))).toBeUndefined();
  });

  it('scales bars to the slowest, shows failures with how long they ran', () => {
    const bars = historyBars(
      [
        record({ id: 'a', status: 'running', startedAt: iso(0), stages: [hc(1000, 2000)] }),
        record({ id: 'b', status: 'failed', startedAt: iso(0), durationMs: 8000, stages: [hc(1000, 8000, 'failed')] }),
        record({ id: 'c', status: 'running', startedAt: iso(0), stages: [hc(1000, 4000)], ref: 'main', commit: undefined }),
        record({ id: 'd', status: 'building', stages: [] }),
      ],
      'a',
    );
    expect(bars.map((b) => [b.id, b.ms, b.ready, b.fraction])).toEqual([
      ['a', 2000, true, 0.25],
      ['b', 8000, false, 1],
      ['c', 4000, true, 0.5],
      ['d', undefined, false, 0],
    ]);
    expect(bars[0]!.current).toBe(true);
    expect(bars[0]!.label).toBe('feature/x@abcdef0');
    expect(bars[2]!.label).toBe('main');
    // A failed one without a recorded duration: from its start and end times.
    expect(historyBars([record({ status: 'failed', startedAt: iso(0), finishedAt: iso(3000) })])[0]!.ms).toBe(3000);
  });

  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4210)).toBe('4.2 s');
    expect(formatDuration(65_000)).toBe('1 min 05 s');
    expect(formatDuration(undefined)).toBe('');
  });
});
