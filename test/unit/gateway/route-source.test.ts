/**
 * The gateways' view of live state: tables rebuilt when the SandboxStore announces a change,
 * never older than their maximum age, the last good routes kept while branchbox.yaml is
 * broken, suspended sandboxes routed to baseline, and the shared gateway's project chosen
 * from the most recently deployed sandbox.
 */
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxEvent } from '../../../schemas/src/sandbox';
import { SandboxRouteSource, type ProjectRoutes } from '../../../daemon/src/gateway/route-source';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sandboxRow(name: string, over: Partial<Sandbox> = {}): Sandbox {
  return {
    name,
    state: 'active',
    owner: 'me',
    repoPath: '/repo',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    network: `sandbox-${name}`,
    services: [],
    ports: [],
    ...over,
  };
}

/** An in-memory SandboxStore and a project file the loader parses as "prefix=service" lines. */
function world() {
  const dir = mkdtempSync(join(tmpdir(), 'bb-rs-'));
  dirs.push(dir);
  const file = join(dir, 'branchbox.yaml');
  const rows = new Map<string, Sandbox>();
  const listeners = new Set<(e: SandboxEvent) => void>();
  let reads = 0;
  let loads = 0;
  const sandboxes = {
    get: (name: string) => (reads++, rows.get(name)),
    list: () => [...rows.values()],
    onChange: (l: (e: SandboxEvent) => void) => (listeners.add(l), () => listeners.delete(l)),
  };
  const loadProject = (root: string): ProjectRoutes => {
    loads++;
    const text = readFileSync(file, 'utf8');
    if (text.includes('BROKEN')) throw new Error('branchbox.yaml:1:1: broken on purpose');
    const routes = text.trim().split('\n').map((line) => {
      const [prefix = '', service = ''] = line.split('=');
      return { prefix, service };
    });
    const services = { db: { http: false }, account: { http: true } } as unknown as ProjectRoutes['services'];
    return { name: `project at ${root}`, file, routes, baseline: { account: 'http://127.0.0.1:9' }, services };
  };
  let version = 0;
  const writeProject = (text: string) => {
    writeFileSync(file, text);
    const t = new Date(Date.UTC(2026, 0, 1, 0, 0, ++version));
    utimesSync(file, t, t); // a distinct mtime for each version, however fast the test
  };
  writeProject('/account=account');
  const announce = (event: SandboxEvent) => listeners.forEach((l) => l(event));
  return { file, rows, sandboxes, loadProject, writeProject, announce, reads: () => reads, loads: () => loads };
}

describe('SandboxRouteSource', () => {
  it('serves cached tables until the store announces a change of the sandbox', () => {
    const w = world();
    w.rows.set('qa', sandboxRow('qa'));
    const source = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject: w.loadProject, maxAgeMs: 60_000 });
    expect(source.sandbox('qa')?.services).toEqual({});
    expect(source.sandbox('qa')?.services).toEqual({});
    expect(w.reads()).toBe(1);
    w.rows.set('qa', sandboxRow('qa', { services: [{ service: 'account', route: 'sandbox', hostPort: 42001, commit: 'abc' }] }));
    expect(source.sandbox('qa')?.services).toEqual({}); // not announced yet
    w.announce({ kind: 'updated', name: 'qa' });
    expect(source.sandbox('qa')?.services).toEqual({ account: { route: 'sandbox', hostPort: 42001, commit: 'abc' } });
    source.close();
  });

  it('never routes to a service that is not served over HTTP (compose databases, jobs)', () => {
    const w = world();
    w.writeProject('/account=account\n/db=db');
    w.rows.set('qa', sandboxRow('qa', { services: [{ service: 'account', route: 'sandbox', hostPort: 42001 }, { service: 'db', route: 'sandbox', hostPort: 42002 }] }));
    const source = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject: w.loadProject, maxAgeMs: 0 });
    expect(source.sandbox('qa')?.routes.map((r) => r.service)).toEqual(['account']);
    expect(source.sandbox('qa')?.services).toEqual({ account: { route: 'sandbox', hostPort: 42001 }, db: { route: 'sandbox' } });
    source.close();
  });

  it('re-reads a table older than its maximum age', () => {
    const w = world();
    w.rows.set('qa', sandboxRow('qa'));
    const source = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject: w.loadProject, maxAgeMs: 0 });
    source.sandbox('qa');
    source.sandbox('qa');
    expect(w.reads()).toBe(2);
    expect(w.loads()).toBe(1); // the project file did not change: not parsed again
    w.writeProject('/account=account\n/payment=payment');
    expect(source.sandbox('qa')?.routes.map((r) => r.prefix)).toEqual(['/account', '/payment']);
    expect(w.loads()).toBe(2);
  });

  it('re-reads a compose project when a compose file, its .env or its folder changes, not only branchbox.yaml', () => {
    const w = world();
    w.rows.set('qa', sandboxRow('qa'));
    const dir = dirname(w.file);
    const compose = join(dir, 'compose.yaml');
    let version = 100;
    const write = (f: string, text: string) => {
      writeFileSync(f, text);
      const t = new Date(Date.UTC(2026, 0, 1, 0, 0, ++version));
      utimesSync(f, t, t);
    };
    write(compose, '/account=account');
    let loads = 0;
    // branchbox.yaml names compose.yaml, whose lines are the routes.
    const loadProject = (): ProjectRoutes => {
      loads++;
      const routes = readFileSync(compose, 'utf8').trim().split('\n').map((line) => ({ prefix: line.split('=')[0]!, service: line.split('=')[1]! }));
      const services = { account: { http: true }, payment: { http: true } } as unknown as ProjectRoutes['services'];
      return { name: 'shop', file: w.file, routes, baseline: {}, services, source: { kind: 'compose', files: [compose, w.file] } };
    };
    const source = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject, maxAgeMs: 0 });
    expect(source.sandbox('qa')?.routes.map((r) => r.prefix)).toEqual(['/account']);
    source.sandbox('qa');
    expect(loads).toBe(1);
    write(compose, '/account=account\n/payment=payment');
    expect(source.sandbox('qa')?.routes.map((r) => r.prefix)).toEqual(['/account', '/payment']);
    expect(loads).toBe(2);
    write(join(dir, '.env'), 'PORT=1');
    source.sandbox('qa');
    expect(loads).toBe(3);
    writeFileSync(join(dir, 'compose.override.yaml'), ''); // a file added beside: the folder changed
    const t = new Date(Date.UTC(2026, 0, 1, 0, 0, ++version));
    utimesSync(dir, t, t);
    source.sandbox('qa');
    expect(loads).toBe(4);
    source.sandbox('qa');
    expect(loads).toBe(4);
  });

  it('keeps the last good routes while branchbox.yaml is broken, and says why when there are none', () => {
    const w = world();
    w.rows.set('qa', sandboxRow('qa'));
    const source = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject: w.loadProject, maxAgeMs: 0 });
    expect(source.sandbox('qa')?.routes).toEqual([{ prefix: '/account', service: 'account' }]);
    w.writeProject('BROKEN');
    expect(source.sandbox('qa')?.routes).toEqual([{ prefix: '/account', service: 'account' }]);
    expect(source.project('/repo').problem).toContain('broken on purpose');
    const fresh = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject: w.loadProject, maxAgeMs: 0 });
    expect(fresh.sandbox('qa')).toMatchObject({ routes: [], problem: expect.stringContaining('broken on purpose') });
  });

  it('routes a sandbox that is not active to baseline, and an unknown one to nothing', () => {
    const w = world();
    w.rows.set('qa', sandboxRow('qa', { state: 'suspended' }));
    const source = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject: w.loadProject });
    expect(source.sandbox('qa')?.inactive).toBe('sandbox qa is suspended');
    expect(source.sandbox('nope')).toBeUndefined();
  });

  it("gives the shared gateway the project of the most recently deployed sandbox", () => {
    const w = world();
    const source = new SandboxRouteSource({ sandboxes: w.sandboxes, loadProject: w.loadProject, maxAgeMs: 0 });
    expect(source.baseline()).toEqual({ unavailable: expect.stringContaining('no project is known yet') });
    w.rows.set('old', sandboxRow('old', { repoPath: '/old', lastDeployAt: '2026-01-01T00:00:00.000Z' }));
    w.rows.set('new', sandboxRow('new', { repoPath: '/new', lastDeployAt: '2026-02-01T00:00:00.000Z' }));
    expect(source.baseline()).toMatchObject({ project: 'project at /new', routes: [{ prefix: '/account', service: 'account' }] });
  });
});
