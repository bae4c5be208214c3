/** The decision of follow: what a sandbox serves + the heads now → what to redeploy, and why not the rest. */
import { describe, expect, it } from 'vitest';
import { branchesServed, planRedeploys, type PlanInput } from '../../../daemon/src/follow/redeploy-plan';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

const input = (over: Partial<PlanInput>): PlanInput => ({ services: [], heads: new Map(), failed: {}, busy: new Set(), ...over });

describe('planRedeploys', () => {
  it('redeploys a service whose branch moved, at the new head, and leaves one at its head alone', () => {
    const plan = planRedeploys(
      input({
        services: [
          { service: 'account', branch: 'main', commit: A },
          { service: 'payment', branch: 'main', commit: B },
        ],
        heads: new Map([['main', B]]),
      }),
    );
    expect(plan.redeploys).toEqual([{ branch: 'main', commit: B, services: ['account'] }]);
    expect(plan.skipped).toEqual([]);
  });

  it('makes one request per branch that moved, with every service of it', () => {
    const plan = planRedeploys(
      input({
        services: [
          { service: 'web', branch: 'feature/x', commit: A },
          { service: 'api', branch: 'feature/x', commit: A },
          { service: 'db', branch: 'main', commit: A },
          { service: 'worker', branch: 'main', commit: C },
        ],
        heads: new Map([
          ['feature/x', B],
          ['main', C],
        ]),
      }),
    );
    expect(plan.redeploys).toEqual([
      { branch: 'feature/x', commit: B, services: ['api', 'web'] },
      { branch: 'main', commit: C, services: ['db'] },
    ]);
  });

  it('never follows a service deployed from a commit alone, or not deployed (a route only)', () => {
    const plan = planRedeploys(
      input({
        services: [{ service: 'pinned', commit: A }, { service: 'baseline' }, { service: 'routed', branch: 'main' }],
        heads: new Map([['main', B]]),
      }),
    );
    expect(plan).toEqual({ redeploys: [], skipped: [], failed: {} });
  });

  it('does not retry a head whose redeploy failed, until the branch moves again', () => {
    const services = [{ service: 'account', branch: 'main', commit: A }];
    const held = planRedeploys(input({ services, heads: new Map([['main', B]]), failed: { account: B } }));
    expect(held.redeploys).toEqual([]);
    expect(held.skipped).toEqual([{ service: 'account', branch: 'main', commit: B, reason: 'failed' }]);
    expect(held.failed).toEqual({ account: B });

    const moved = planRedeploys(input({ services, heads: new Map([['main', C]]), failed: { account: B } }));
    expect(moved.redeploys).toEqual([{ branch: 'main', commit: C, services: ['account'] }]);
    expect(moved.failed).toEqual({}); // the old failure no longer holds anything back
  });

  it('waits for a deployment in flight of the service, and names a branch that is gone', () => {
    const plan = planRedeploys(
      input({
        services: [
          { service: 'account', branch: 'main', commit: A },
          { service: 'payment', branch: 'gone', commit: A },
        ],
        heads: new Map([
          ['main', B],
          ['gone', undefined],
        ]),
        busy: new Set(['account']),
      }),
    );
    expect(plan.redeploys).toEqual([]);
    expect(plan.skipped).toEqual([
      { service: 'account', branch: 'main', commit: B, reason: 'busy' },
      { service: 'payment', branch: 'gone', reason: 'no-branch' },
    ]);
  });

  it('takes an abbreviated commit for the head it abbreviates', () => {
    const plan = planRedeploys(input({ services: [{ service: 'account', branch: 'main', commit: A.slice(0, 12) }], heads: new Map([['main', A]]) }));
    expect(plan.redeploys).toEqual([]);
  });
});

describe('branchesServed', () => {
  it('lists each branch a deployed service serves from once', () => {
    expect(
      branchesServed([
        { service: 'a', branch: 'main', commit: A },
        { service: 'b', branch: 'main', commit: B },
        { service: 'c', branch: 'x' },
        { service: 'd', commit: A },
      ]),
    ).toEqual(['main']);
  });
});
