/**
 * The gateways over the daemon's real state: a real SQLite store, the SandboxStore and
 * PortAllocator, a real branchbox.yaml read by loadProject, upstream servers on 127.0.0.1 and
 * the route handlers. Checks that explain says what the proxy does for a table of cases, that
 * the shared gateway picks the sandbox by header, that `route/set` flipping under load loses
 * no request, and that gateways follow sandboxes being created and deleted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MethodName, Params, Result } from '../../../schemas/src/index';
import { startGateways, type RunningGateways } from '../../../daemon/src/gateway/setup';
import { routeHandlers } from '../../../daemon/src/methods/route';
import { loadProject } from '../../../daemon/src/project/load';
import type { RequestContext } from '../../../daemon/src/rpc/handlers';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { nullLogger } from '../../../daemon/src/runtime/log';
import { PortAllocator } from '../../../daemon/src/sandbox/ports';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { Cleanup, deadPort, fetchText, loadWhileFlipping, startUpstream, type Upstream } from '../../unit/gateway/fixtures';

const cleanup = new Cleanup();
afterEach(cleanup.run);

const COMMIT_A = 'aaaaaaa1111111111111111111111111111111aa';
const COMMIT_B = 'bbbbbbb2222222222222222222222222222222bb';

interface World {
  store: Store;
  sandboxes: SandboxStore;
  running: RunningGateways;
  repo: string;
  baseline: Upstream;
  a: Upstream;
  b: Upstream;
  ext: Upstream;
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
  sharedUrl: string;
}

let world: World;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-gw-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const [baseline, a, b, ext] = await Promise.all(['baseline', 'a', 'b', 'ext'].map((n) => startUpstream(cleanup, n)));
  const repo = join(dir, 'repo');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(repo);
  writeFileSync(
    join(repo, 'branchbox.yaml'),
    [
      'version: 1',
      'project: shop',
      'baseline:',
      `  account: ${baseline!.url}`,
      `  payment: ${baseline!.url}/base`,
      'services:',
      '  account: { port: 8080 }',
      '  payment: { port: 8080 }',
      '  search: { port: 8080 }',
      'routes:',
      '  /account: account',
      '  /account/search: search',
      '  /payment: payment',
      '',
    ].join('\n'),
  );
  const store = openStore(join(dir, 'state.db'));
  cleanup.add(() => store.close());
  const sandboxes = new SandboxStore(store);
  const ports = new PortAllocator(store, { onChange: (s) => sandboxes.changed(s) });
  const running = await startGateways({ sandboxes, ports, loadProject, log: nullLogger, sharedPort: 0 });
  cleanup.add(() => running.stop());
  const handlers = routeHandlers({ sandboxes, source: running.source, gateways: running.gateways });
  const ctx = { signal: new AbortController().signal, log: nullLogger } as unknown as RequestContext;
  const call = async <M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> => {
    const handler = (handlers as unknown as Record<string, (p: unknown, c: RequestContext) => unknown>)[method]!;
    return (await handler(params, ctx)) as Result<M>;
  };
  world = { store, sandboxes, running, repo, baseline: baseline!, a: a!, b: b!, ext: ext!, call, sharedUrl: running.gateways.sharedAddress!.url };
});

/** Creates a sandbox of the repo and waits for its gateway. */
async function sandbox(name: string, serving: Record<string, { port: number; commit: string }> = {}): Promise<string> {
  world.sandboxes.insert({ name, owner: 'test', repoPath: world.repo, project: 'shop' });
  for (const [service, s] of Object.entries(serving)) {
    world.sandboxes.recordServing(name, service, { deploymentId: `d-${name}-${service}`, commit: s.commit, hostPort: s.port, containerId: `c-${service}` });
  }
  return (await world.running.gateways.open(name)).url;
}

const upstreamNamed = (url: string | undefined) =>
  [world.baseline, world.a, world.b, world.ext].find((u) => url !== undefined && url.startsWith(u.url))?.name;

describe('route/explain', () => {
  it('says what the proxy does, for a table of cases', async () => {
    const qa1 = await sandbox('qa-1', { account: { port: world.a.port, commit: COMMIT_A } });
    const qa2 = await sandbox('qa-2', { account: { port: world.b.port, commit: COMMIT_B }, payment: { port: world.b.port, commit: COMMIT_B } });
    await world.call('route/set', { sandbox: 'qa-2', service: 'search', kind: 'url', url: `${world.ext.url}/x` });
    const dead = await deadPort();
    await sandbox('qa-3', { account: { port: dead, commit: COMMIT_A } });
    const gatewayOf: Record<string, string> = { 'qa-1': qa1, 'qa-2': qa2, 'qa-3': (await world.running.gateways.addressOf('qa-3'))!.url };

    type Case = { sandbox?: string; path: string; headers?: Record<string, string>; expect: { status: number; upstream?: string; route: string } };
    const cases: Case[] = [
      { sandbox: 'qa-1', path: '/account/1', expect: { status: 200, upstream: 'a', route: 'account -> sandbox (aaaaaaa)' } },
      { sandbox: 'qa-1', path: '/payment?x=1', expect: { status: 200, upstream: 'baseline', route: 'payment -> baseline' } },
      { sandbox: 'qa-1', path: '/account/search', expect: { status: 503, route: 'none' } },
      { sandbox: 'qa-1', path: '/nothing', expect: { status: 404, route: 'none' } },
      { sandbox: 'qa-2', path: '/account/search/q', expect: { status: 200, upstream: 'ext', route: 'search -> url' } },
      { sandbox: 'qa-2', path: '/payment', headers: { 'X-Branchbox-Sandbox': 'qa-1' }, expect: { status: 200, upstream: 'b', route: 'payment -> sandbox (bbbbbbb)' } },
      { sandbox: 'qa-3', path: '/account', expect: { status: 502, route: 'account -> sandbox (aaaaaaa)' } },
      { path: '/account', expect: { status: 200, upstream: 'baseline', route: 'account -> baseline' } },
      { path: '/account', headers: { 'X-Branchbox-Sandbox': 'qa-1' }, expect: { status: 200, upstream: 'a', route: 'account -> sandbox (aaaaaaa)' } },
      { path: '/account', headers: { baggage: 'k=v,branchbox-sandbox=qa-2' }, expect: { status: 200, upstream: 'b', route: 'account -> sandbox (bbbbbbb)' } },
      { path: '/payment', headers: { 'x-branchbox-sandbox': 'qa-1' }, expect: { status: 200, upstream: 'baseline', route: 'payment -> baseline' } },
      { path: '/account', headers: { 'X-Branchbox-Sandbox': 'qa-9' }, expect: { status: 404, route: 'none' } },
      { path: '/elsewhere', expect: { status: 404, route: 'none' } },
    ];
    for (const c of cases) {
      const explained = await world.call('route/explain', { ...(c.sandbox ? { sandbox: c.sandbox } : {}), path: c.path, ...(c.headers ? { headers: c.headers } : {}) });
      const answer = await fetchText(`${c.sandbox ? gatewayOf[c.sandbox] : world.sharedUrl}${c.path}`, { headers: c.headers ?? {} });
      const label = `${c.sandbox ?? 'shared'} ${c.path} ${JSON.stringify(c.headers ?? {})}: ${explained.reason}`;
      // What explain says...
      expect(explained.routeHeader, label).toBe(c.expect.route);
      expect(upstreamNamed(explained.target?.url), label).toBe(c.expect.upstream === undefined && c.expect.status === 502 ? undefined : c.expect.upstream);
      // ...is what the proxy did.
      expect(answer.status, label).toBe(c.expect.status);
      expect(answer.headers['x-branchbox-route'], label).toBe(explained.routeHeader);
      expect(answer.headers['x-upstream'], label).toBe(c.expect.upstream);
      if (explained.status !== undefined) expect(answer.status, label).toBe(explained.status);
      if (explained.status === 404) expect(answer.body.trim(), label).toBe(explained.reason);
      if (explained.target && answer.status === 200) expect(upstreamNamed(explained.target.url), label).toBe(answer.headers['x-upstream']);
    }
  });

  it('explains in sentences', async () => {
    await sandbox('qa-1', { account: { port: world.a.port, commit: COMMIT_A } });
    const sandboxed = await world.call('route/explain', { sandbox: 'qa-1', path: '/account/7' });
    expect(sandboxed).toMatchObject({ gateway: 'sandbox', sandbox: 'qa-1', selectedBy: 'gateway', route: { prefix: '/account', service: 'account' }, commit: COMMIT_A });
    expect(sandboxed.reason).toBe('/account/7 matched route /account → account; sandbox container at commit aaaaaaa');
    const fallback = await world.call('route/explain', { sandbox: 'qa-1', path: '/payment' });
    expect(fallback.reason).toBe(`/payment matched route /payment → payment; payment is not deployed in sandbox qa-1 → baseline ${world.baseline.url}/base`);
    const byHeader = await world.call('route/explain', { path: '/account', headers: { 'X-Branchbox-Sandbox': 'qa-1' } });
    expect(byHeader.reason.startsWith('header X-Branchbox-Sandbox selected sandbox qa-1; ')).toBe(true);
    await expect(world.call('route/explain', { sandbox: 'nope', path: '/' })).rejects.toMatchObject({ errorName: 'SandboxNotFound' });
  });
});

describe('the shared gateway', () => {
  it('picks the sandbox named by header or baggage, and the baseline without', async () => {
    await sandbox('qa-1', { account: { port: world.a.port, commit: COMMIT_A } });
    await sandbox('qa-2', { account: { port: world.b.port, commit: COMMIT_B } });
    const who = async (headers: Record<string, string>) => (await fetchText(`${world.sharedUrl}/account/me`, { headers })).headers['x-upstream'];
    expect(await who({ 'X-Branchbox-Sandbox': 'qa-1' })).toBe('a');
    expect(await who({ 'X-Branchbox-Sandbox': 'qa-2' })).toBe('b');
    expect(await who({ baggage: 'branchbox-sandbox=qa-2' })).toBe('b');
    expect(await who({ baggage: 'branchbox-sandbox=qa-1;prop=1, other=x' })).toBe('a');
    expect(await who({})).toBe('baseline');
    // The header travels on to the upstream, so services can propagate it.
    const seen = JSON.parse((await fetchText(`${world.sharedUrl}/account`, { headers: { 'X-Branchbox-Sandbox': 'qa-2' } })).body) as {
      headers: Record<string, string>;
    };
    expect(seen.headers['x-branchbox-sandbox']).toBe('qa-2');
  });
});

describe('route/set', () => {
  it('flips under load without losing a request', async () => {
    const url = await sandbox('qa-1', { account: { port: world.a.port, commit: COMMIT_A } });
    const TOTAL = 2_000;
    const FLIP_EVERY = 40;
    const { counts, failures, flips } = await loadWhileFlipping(cleanup, url, {
      total: TOTAL,
      concurrency: 20,
      flipEvery: FLIP_EVERY,
      flip: (n) => world.call('route/set', { sandbox: 'qa-1', service: 'account', kind: n % 2 ? 'baseline' : 'sandbox' }),
    });
    expect(failures).toEqual([]);
    expect(Object.keys(counts).sort()).toEqual(['a', 'baseline']);
    expect(counts.a! + counts.baseline!).toBe(TOTAL);
    expect(flips).toBe(TOTAL / FLIP_EVERY);
  });

  it('validates its target and answers the new effective route', async () => {
    await sandbox('qa-1', { account: { port: world.a.port, commit: COMMIT_A } });
    const set = (params: Params<'route/set'>) => world.call('route/set', params);
    const reject = async (params: Params<'route/set'>, name: string, message: RegExp) => {
      const error = await set(params).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RpcError);
      expect((error as RpcError).errorName).toBe(name);
      expect((error as RpcError).message).toMatch(message);
    };
    await reject({ sandbox: 'qa-1', service: 'account', kind: 'url' }, 'InvalidParams', /url is required with kind "url"/);
    await reject({ sandbox: 'qa-1', service: 'account', kind: 'url', url: 'ftp://x' }, 'InvalidParams', /must be http:\/\/ or https:\/\//);
    await reject({ sandbox: 'qa-1', service: 'account', kind: 'url', url: 'not a url' }, 'InvalidParams', /is not an absolute URL/);
    await reject({ sandbox: 'qa-1', service: 'account', kind: 'baseline', url: 'http://x' }, 'InvalidParams', /only allowed with kind "url"/);
    await reject({ sandbox: 'qa-1', service: 'nosuch', kind: 'baseline' }, 'InvalidParams', /project shop has no service "nosuch"/);
    await reject({ sandbox: 'qa-9', service: 'account', kind: 'baseline' }, 'SandboxNotFound', /qa-9/);

    const toUrl = await set({ sandbox: 'qa-1', service: 'account', kind: 'url', url: world.ext.url });
    expect(toUrl).toMatchObject({ service: 'account', kind: 'url', url: world.ext.url, deployed: true, effective: { kind: 'url', url: world.ext.url } });
    const back = await set({ sandbox: 'qa-1', service: 'account', kind: 'sandbox' });
    expect(back).toMatchObject({ kind: 'sandbox', effective: { kind: 'sandbox', url: world.a.url }, reason: 'sandbox container at commit aaaaaaa' });
    expect(back.url).toBeUndefined();
  });
});

describe('route/list and gateway/info', () => {
  it('list every service with its route and effective target, and the gateway URLs', async () => {
    const url = await sandbox('qa-1', { account: { port: world.a.port, commit: COMMIT_A } });
    await world.call('route/set', { sandbox: 'qa-1', service: 'search', kind: 'baseline' });
    const list = await world.call('route/list', { sandbox: 'qa-1' });
    expect(list.gateway?.url).toBe(url);
    expect(list.sharedGateway?.url).toBe(world.sharedUrl);
    expect(list.routes).toEqual([
      { prefix: '/account/search', service: 'search' },
      { prefix: '/account', service: 'account' },
      { prefix: '/payment', service: 'payment' },
    ]);
    expect(list.services.map((s) => [s.service, s.kind, s.effective?.kind ?? 'none', s.deployed])).toEqual([
      ['account', 'sandbox', 'sandbox', true],
      ['payment', 'sandbox', 'baseline', false],
      ['search', 'baseline', 'none', false],
    ]);
    expect(list.services[2]!.reason).toBe('route of search is set to baseline, but the project has no baseline URL for search');

    const info = await world.call('gateway/info', {});
    expect(info.shared?.url).toBe(world.sharedUrl);
    expect(info.sandboxes).toEqual([{ sandbox: 'qa-1', gateway: { port: Number(new URL(url).port), url } }]);
  });

  it('follow sandboxes being created and deleted, on ports recorded for them', async () => {
    const url = await sandbox('qa-1');
    const port = Number(new URL(url).port);
    expect(world.sandboxes.get('qa-1')!.ports).toMatchObject([{ port, purpose: 'gateway' }]);
    expect((await fetchText(`${url}/nothing`)).status).toBe(404);
    world.sandboxes.remove('qa-1');
    await Promise.resolve(); // the store announces the deletion in a microtask
    await world.running.gateways.close('qa-1'); // resolves once the closing started by the event is done
    await expect(fetchText(`${url}/nothing`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await world.running.gateways.addressOf('qa-1')).toBeUndefined();
  });
});
