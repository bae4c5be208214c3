/** The live display of `branchbox deploy`, fed progress items with a fake clock. */
import { describe, expect, it } from 'vitest';
import { DeployView } from '../../../daemon/src/cli/deploy-view';
import { Output } from '../../../daemon/src/cli/output';
import type { StreamItem } from '../../../schemas/src/index';

type Progress = StreamItem<'deploy/progress'>;
const style = new Output('text', { write: () => undefined }, false).style;
const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function item(deployment: string, ms: number, fields: Partial<Progress>): Progress {
  return { deployment, service: deployment === 'd1' ? 'account' : 'payment', sandbox: 'qa1', kind: 'status', t: at(ms), ...fields } as Progress;
}

describe('DeployView', () => {
  it('shows each service with its stages, durations and the log tail; appends changes line by line', () => {
    let now = T0;
    const view = new DeployView(
      [
        { id: 'd1', service: 'account' },
        { id: 'd2', service: 'payment' },
      ],
      { tailLines: 2, now: () => now, style },
    );
    expect(view.apply(item('d1', 0, { kind: 'status', status: 'preparing' }))).toEqual([]);
    expect(view.apply(item('d1', 0, { kind: 'stage', stage: 'prepare', phase: 'begin' }))).toEqual(['account  prepare…']);
    expect(view.apply(item('d1', 400, { kind: 'stage', stage: 'prepare', phase: 'end', durationMs: 400, outcome: 'ok' }))).toEqual(['account  prepare ✓ 400ms']);
    view.apply(item('d1', 400, { kind: 'status', status: 'building' }));
    view.apply(item('d1', 400, { kind: 'stage', stage: 'build', phase: 'begin' }));
    for (const [i, line] of ['Step 1/4 : FROM branchbox/node:20', 'Step 2/4 : COPY server.js /app/', 'Step 3/4 : USER 1000'].entries()) {
      expect(view.apply(item('d1', 500 + i, { kind: 'log', source: 'build', seq: i + 1, line }))).toEqual([`account | ${line}`]);
    }
    view.apply(item('d2', 0, { kind: 'status', status: 'failed', diagnosis: 'prepare failed: unknown ref' }));

    now = T0 + 2900;
    expect(view.render()).toEqual([
      '  account  building         prepare ✓ 400ms · build 2.5s (2.9s)',
      '  payment  failed           (0ms) — prepare failed: unknown ref',
      '  ── log ──',
      '  account | Step 2/4 : COPY server.js /app/',
      '  account | Step 3/4 : USER 1000',
    ]);
    expect(view.allFinal).toBe(false);

    view.apply(item('d1', 3000, { kind: 'stage', stage: 'build', phase: 'end', durationMs: 2600, outcome: 'reused' }));
    const done = view.apply(item('d1', 5000, { kind: 'status', status: 'running' }));
    expect(done).toEqual(['account  running in 5.0s']);
    expect(view.render()[0]).toBe('  account  running          prepare ✓ 400ms · build ✓ reused 2.6s (5.0s)');
    expect(view.allFinal).toBe(true);
  });

  it('says why a deployment failed, on its line', () => {
    const view = new DeployView([{ id: 'd1', service: 'account' }], { tailLines: 5, now: () => T0, style });
    view.apply(item('d1', 0, { kind: 'status', status: 'health-checking' }));
    view.apply(item('d1', 0, { kind: 'stage', stage: 'health-check', phase: 'begin' }));
    expect(view.apply(item('d1', 3000, { kind: 'stage', stage: 'health-check', phase: 'end', durationMs: 3000, outcome: 'failed' }))).toEqual([
      'account  health-check ✗ failed 3.0s',
    ]);
    expect(view.apply(item('d1', 3000, { kind: 'status', status: 'failed', diagnosis: 'health-check failed: GET /healthz answered 500' }))).toEqual([
      'account  failed in 3.0s — health-check failed: GET /healthz answered 500',
    ]);
  });

  it('ignores items of other deployments', () => {
    const view = new DeployView([{ id: 'd1', service: 'account' }], { tailLines: 5, now: () => T0, style });
    expect(view.apply(item('other', 0, { kind: 'log', line: 'x' }))).toEqual([]);
  });

  it('prints a diagnosis as one plain line, and log lines without escapes unless colours are on', () => {
    const red = '\u001b[91m/bin/sh: 1: npm: not found\u001b[0m';
    const view = new DeployView([{ id: 'd1', service: 'account' }], { tailLines: 5, now: () => T0, style });
    expect(view.apply(item('d1', 0, { kind: 'log', line: red }))).toEqual(['account | /bin/sh: 1: npm: not found']);
    view.apply(item('d1', 0, { kind: 'status', status: 'building' }));
    expect(view.apply(item('d1', 1000, { kind: 'status', status: 'failed', diagnosis: `build failed: ${red}\n(Dockerfile step 3: RUN npm install)` }))).toEqual([
      'account  failed in 1.0s — build failed: /bin/sh: 1: npm: not found (Dockerfile step 3: RUN npm install)',
    ]);
    const colours = new DeployView([{ id: 'd1', service: 'account' }], { tailLines: 5, now: () => T0, style, ansi: true });
    expect(colours.apply(item('d1', 0, { kind: 'log', line: red }))).toEqual([`account | ${red}`]);
  });
});
