/**
 * The routing decision as a pure function: longest prefix at segment boundaries, each route
 * kind, the fallback to baseline, the sandbox chosen by header or baggage, and the sentence
 * that explains each outcome.
 */
import { describe, expect, it } from 'vitest';
import {
  decideForSandbox,
  decideShared,
  matchRoute,
  pathOf,
  prefixMatches,
  resolveInSandbox,
  routeHeaderValue,
  selectedSandbox,
  type SandboxRoutes,
} from '../../../daemon/src/gateway/route-table';
import { MemoryRoutes } from './fixtures';

const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const routes = [
  { prefix: '/', service: 'web' },
  { prefix: '/account', service: 'account' },
  { prefix: '/account/admin', service: 'admin' },
  { prefix: '/payment', service: 'payment' },
];
const baseline = { account: 'https://account.staging.example.com', payment: 'http://127.0.0.1:9100', web: 'http://127.0.0.1:9200/web' };

const table = (over: Partial<SandboxRoutes> = {}): SandboxRoutes => ({
  sandbox: 'qa-1',
  routes,
  baseline,
  services: {
    account: { route: 'sandbox', hostPort: 42001, commit: COMMIT },
    payment: { route: 'sandbox' },
    admin: { route: 'url', url: 'http://127.0.0.1:9300/v2' },
  },
  ...over,
});

describe('prefix matching', () => {
  it.each([
    ['/account', '/account', true],
    ['/account', '/account/', true],
    ['/account', '/account/42', true],
    ['/account', '/accounts', false],
    ['/account', '/acc', false],
    ['/account/', '/account/x', true],
    ['/', '/anything', true],
  ])('%s covers %s: %s', (prefix, path, covered) => {
    expect(prefixMatches(prefix, path)).toBe(covered);
  });

  it('takes the longest prefix whatever the order of the list', () => {
    expect(matchRoute(routes, '/account/admin/users')?.service).toBe('admin');
    expect(matchRoute([...routes].reverse(), '/account/admin/users')?.service).toBe('admin');
    expect(matchRoute(routes, '/account/x')?.service).toBe('account');
    expect(matchRoute(routes, '/accounts')?.service).toBe('web');
    expect(matchRoute(routes.slice(1), '/nothing')).toBeUndefined();
  });

  it('reads the path of origin-form and absolute-form targets, without the query', () => {
    expect(pathOf('/account/1?x=/payment')).toBe('/account/1');
    expect(pathOf('http://example.com/payment/9?y=1')).toBe('/payment/9');
    expect(pathOf('*')).toBe('/');
  });
});

describe('a sandbox gateway', () => {
  it('sends a deployed service to its container, naming the commit', () => {
    const d = resolveInSandbox(table(), '/account/42');
    expect(d.target).toEqual({ kind: 'sandbox', url: 'http://127.0.0.1:42001' });
    expect(d.commit).toBe(COMMIT);
    expect(d.reason).toBe('/account/42 matched route /account → account; sandbox container at commit a1b2c3d');
    expect(routeHeaderValue(d)).toBe('account -> sandbox (a1b2c3d)');
  });

  it('sends a service that is not deployed to the baseline, and says so', () => {
    const d = resolveInSandbox(table(), '/payment/charge');
    expect(d.target).toEqual({ kind: 'baseline', url: 'http://127.0.0.1:9100' });
    expect(d.reason).toBe(
      '/payment/charge matched route /payment → payment; payment is not deployed in sandbox qa-1 → baseline http://127.0.0.1:9100',
    );
    expect(routeHeaderValue(d)).toBe('payment -> baseline');
  });

  it('follows a url route and a baseline route', () => {
    expect(resolveInSandbox(table(), '/account/admin').target).toEqual({ kind: 'url', url: 'http://127.0.0.1:9300/v2' });
    const d = resolveInSandbox(table({ services: { account: { route: 'baseline', hostPort: 42001, commit: COMMIT } } }), '/account');
    expect(d.target).toEqual({ kind: 'baseline', url: baseline.account });
    expect(d.commit).toBeUndefined();
    expect(d.reason).toContain('route of account set to baseline https://account.staging.example.com');
  });

  it('sends everything of a suspended sandbox to the baseline', () => {
    const d = resolveInSandbox(table({ inactive: 'sandbox qa-1 is suspended' }), '/account');
    expect(d.target?.kind).toBe('baseline');
    expect(d.reason).toContain('sandbox qa-1 is suspended → baseline');
  });

  it('answers 503 when a service has nowhere to go', () => {
    const d = resolveInSandbox(table({ baseline: {} }), '/payment');
    expect(d.target).toBeUndefined();
    expect(d.status).toBe(503);
    expect(d.reason).toContain('payment is not deployed in sandbox qa-1 and the project has no baseline URL for payment');
    expect(routeHeaderValue(d)).toBe('none');
  });

  it('answers 404 when no route matches, listing the routes', () => {
    const d = resolveInSandbox(table({ routes: routes.slice(1) }), '/nothing');
    expect(d.status).toBe(404);
    expect(d.reason).toBe('no route matches /nothing (routes: /account, /account/admin, /payment)');
    expect(resolveInSandbox(table({ routes: [], problem: 'branchbox.yaml:3:1: bad' }), '/x').reason).toBe(
      'no route matches /x: branchbox.yaml:3:1: bad',
    );
  });

  it('ignores sandbox headers and answers 404 for a sandbox that is gone', () => {
    const source = new MemoryRoutes();
    source.set(table());
    expect(decideForSandbox(source, 'qa-1', '/account').selectedBy).toBe('gateway');
    expect(decideForSandbox(source, 'gone', '/account')).toMatchObject({ status: 404, reason: 'sandbox gone does not exist' });
  });
});

describe('the shared gateway', () => {
  const source = new MemoryRoutes();
  source.set(table());
  source.set(table({ sandbox: 'qa-2', services: { payment: { route: 'sandbox', hostPort: 42002, commit: 'ffffffffff' } } }));
  source.base = { routes, baseline, project: 'shop' };

  it('selects the sandbox by X-Branchbox-Sandbox, before baggage', () => {
    expect(selectedSandbox({ 'x-branchbox-sandbox': 'qa-2' })).toEqual({ sandbox: 'qa-2', via: 'header' });
    expect(selectedSandbox({ 'x-branchbox-sandbox': 'qa-2', baggage: 'branchbox-sandbox=qa-1' })?.sandbox).toBe('qa-2');
    const d = decideShared(source, '/payment', { 'x-branchbox-sandbox': 'qa-2' });
    expect(d).toMatchObject({ sandbox: 'qa-2', selectedBy: 'header', target: { kind: 'sandbox', url: 'http://127.0.0.1:42002' } });
    expect(d.reason).toBe('header X-Branchbox-Sandbox selected sandbox qa-2; /payment matched route /payment → payment; sandbox container at commit fffffff');
  });

  it('reads the W3C baggage entry among others, with properties and percent-encoding', () => {
    expect(selectedSandbox({ baggage: 'userId=alice, branchbox-sandbox=qa%2D1;ttl=3 , other=1' })).toEqual({ sandbox: 'qa-1', via: 'baggage' });
    expect(selectedSandbox({ baggage: ['a=1', 'branchbox-sandbox=qa-2'] })?.sandbox).toBe('qa-2');
    expect(selectedSandbox({ baggage: 'branchbox-sandboxes=qa-2' })).toBeUndefined();
    const d = decideShared(source, '/account', { baggage: 'branchbox-sandbox=qa-1' });
    expect(d.selectedBy).toBe('baggage');
    expect(d.reason.startsWith('baggage entry branchbox-sandbox selected sandbox qa-1; /account matched')).toBe(true);
  });

  it('sends everything to the baseline without a sandbox', () => {
    const d = decideShared(source, '/account/1', {});
    expect(d).toMatchObject({ selectedBy: 'none', target: { kind: 'baseline', url: baseline.account } });
    expect(d.sandbox).toBeUndefined();
    expect(d.reason).toBe(
      'no X-Branchbox-Sandbox header or branchbox-sandbox baggage → baseline; /account/1 matched route /account → account → baseline https://account.staging.example.com',
    );
  });

  it('answers 404 for a sandbox that does not exist, and when no project is known', () => {
    expect(decideShared(source, '/account', { 'x-branchbox-sandbox': 'qa-9' })).toMatchObject({
      status: 404,
      reason: 'header X-Branchbox-Sandbox selected sandbox qa-9, which does not exist',
    });
    const empty = new MemoryRoutes();
    expect(decideShared(empty, '/account', {})).toMatchObject({ status: 404 });
    expect(decideShared(empty, '/account', {}).reason).toContain('no project in this test');
  });
});
