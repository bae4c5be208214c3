/** Explain Route's document, from answers recorded from a real daemon (fixtures/sandbox-session.json). */
import { describe, expect, it } from 'vitest';
import type { RouteDecisionView } from '../../../schemas/src/route';
import { routeExplanationPath, routeExplanationText, type SandboxRoutes } from '../../../extension/src/route-explanation';
import session from './fixtures/sandbox-session.json';

type Message = { kind: string; method: string; result?: unknown };
const results = (method: string) => (session as Message[]).filter((m) => m.kind === 'result' && m.method === method).map((m) => m.result);
const [hit, miss] = results('route/explain') as RouteDecisionView[];
const routes = results('route/list')[0] as SandboxRoutes;

describe('routeExplanationText', () => {
  it('shows the decision, why, where every service goes and the routes', () => {
    const lines = routeExplanationText('rec-demo', '/account/orders', hit!, routes).split('\n');
    expect(lines.slice(0, 7)).toEqual([
      'Route of /account/orders in sandbox rec-demo',
      '',
      '  Goes to   sandbox http://127.0.0.1:42548 (60536f0)',
      '  By route  /account → account',
      "  Gateway   the sandbox's own gateway, http://127.0.0.1:41138",
      '  Header    X-Branchbox-Route: account -> sandbox (60536f0)',
      '',
    ]);
    expect(lines.slice(7, 9)).toEqual(['Why', '  /account/orders matched route /account → account; sandbox container at commit 60536f0.']);
    const services = lines.indexOf('Where each service of rec-demo goes now');
    expect(lines.slice(services + 1, services + 4)).toEqual([
      '  SERVICE  ROUTED TO  GOES TO                                   WHY',
      '  account  sandbox    sandbox http://127.0.0.1:42548 (60536f0)  sandbox container at commit 60536f0',
      '  payment  baseline   baseline http://127.0.0.1:9102            route of payment set to baseline http://127.0.0.1:9102',
    ]);
    expect(lines.slice(-4)).toEqual(['Routes of the project (longest prefix first)', '  /account → account', '  /payment → payment', '']);
  });

  it('says when nothing answers but the gateway itself, and stands without the routes', () => {
    const text = routeExplanationText('rec-demo', '/nowhere', miss!, undefined);
    expect(text).toContain('  Goes to   nowhere: the gateway answers 404 itself\n  By route  none matches\n');
    expect(text).toContain('Why\n  no route matches /nowhere (routes: /account, /payment).\n');
    expect(text).not.toContain('Where each service');
  });

  it('is one document per sandbox', () => {
    expect(routeExplanationPath('rec-demo')).toBe('/routes/rec-demo.route.txt');
  });
});
