/**
 * Dependency order (daemon/src/deploy/dependencies.ts): which services a request deploys
 * (profiles, added dependencies), in which order, cycles refused; and the wait of a dependant
 * on each condition, over a small in-memory source of deployments and serving containers.
 */
import { describe, expect, it } from 'vitest';
import {
  DependencyFailure,
  dependencyOrder,
  findCycle,
  judgeServing,
  selectServices,
  waitForDependencies,
  type DependencyDeployment,
  type DependencySource,
  type ServiceGraph,
  type ServingDependency,
} from '../../../daemon/src/deploy/dependencies';
import { RpcError } from '../../../daemon/src/rpc/errors';
import type { DependencyCondition } from '../../../schemas/src/project';

const on = (condition: DependencyCondition, required = true) => ({ condition, required, restart: false });

const app: ServiceGraph = {
  web: { dependsOn: { api: on('service_healthy') } },
  api: { dependsOn: { db: on('service_healthy'), migrate: on('service_completed_successfully'), cache: on('service_started') } },
  migrate: { job: true, dependsOn: { db: on('service_healthy') } },
  db: {},
  cache: {},
  admin: { profiles: ['tools'], dependsOn: { db: on('service_started') } },
  debug: { profiles: ['debug'] },
};

describe('order and selection', () => {
  it('puts every service after those it depends on, otherwise keeping the order given', () => {
    const order = dependencyOrder(app, ['web', 'api', 'migrate', 'db', 'cache']);
    expect(order).toEqual(['db', 'migrate', 'cache', 'api', 'web']);
    for (const [i, s] of order.entries()) for (const dep of Object.keys(app[s]!.dependsOn ?? {})) expect(order.indexOf(dep)).toBeLessThan(i);
  });

  it('refuses a cycle up front, naming its path (ConfigInvalid)', () => {
    const cyclic: ServiceGraph = { a: { dependsOn: { b: on('service_started') } }, b: { dependsOn: { c: on('service_started') } }, c: { dependsOn: { a: on('service_healthy') } } };
    expect(findCycle(cyclic)).toEqual(['a', 'b', 'c', 'a']);
    let error: unknown;
    try {
      dependencyOrder(cyclic, ['c'], '/repo/compose.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).errorName).toBe('ConfigInvalid');
    expect((error as RpcError).message).toBe('Dependency cycle between services: c → a → b → c (/repo/compose.yaml)');
    expect(findCycle(app)).toBeUndefined();
  });

  it('without services: every service outside a profile, plus those of the chosen profiles', () => {
    expect(selectServices(app, {}, () => false)).toEqual({ services: ['db', 'migrate', 'cache', 'api', 'web'], added: [] });
    expect(selectServices(app, { profiles: ['tools'] }, () => false).services).toEqual(['db', 'migrate', 'cache', 'api', 'web', 'admin']);
  });

  it('adds the dependencies the sandbox lacks, transitively, and says which', () => {
    expect(selectServices(app, { services: ['web'] }, () => false)).toEqual({ services: ['db', 'migrate', 'cache', 'api', 'web'], added: ['db', 'migrate', 'cache', 'api'] });
    // db serves already, migrate completed: only what is missing is added.
    const present = new Set(['db', 'migrate']);
    expect(selectServices(app, { services: ['api'] }, (s) => present.has(s))).toEqual({ services: ['cache', 'api'], added: ['cache'] });
    // A dependency in a profile not chosen is started all the same (compose `up admin`).
    expect(selectServices({ a: { dependsOn: { b: on('service_started') } }, b: { profiles: ['x'] } }, { services: ['a'] }, () => false).added).toEqual(['b']);
  });

  it('refuses a required dependency the project does not define, skips an optional one', () => {
    expect(() => selectServices({ a: { dependsOn: { ghost: on('service_started') } } }, { services: ['a'] }, () => false)).toThrow(
      'Service a depends on service ghost, which the project does not define',
    );
    expect(selectServices({ a: { dependsOn: { ghost: on('service_started', false) } } }, { services: ['a'] }, () => false).services).toEqual(['a']);
  });
});

/** Deployments and serving containers the test changes by hand. */
class FakeSource implements DependencySource {
  readonly records = new Map<string, DependencyDeployment>();
  readonly servingContainers = new Map<string, ServingDependency>();
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(private readonly ids: Record<string, string> = {}) {}

  deployment(service: string): string | undefined {
    return this.ids[service];
  }
  record(id: string): DependencyDeployment {
    return this.records.get(id)!;
  }
  watch(id: string, listener: () => void): () => void {
    if (!this.listeners.has(id)) this.listeners.set(id, new Set());
    this.listeners.get(id)!.add(listener);
    return () => this.listeners.get(id)!.delete(listener);
  }
  async serving(service: string): Promise<ServingDependency | undefined> {
    return this.servingContainers.get(service);
  }
  set(id: string, fields: Partial<DependencyDeployment>): void {
    this.records.set(id, { id, status: 'queued', started: false, ...this.records.get(id), ...fields });
    for (const l of this.listeners.get(id) ?? []) l();
  }
  watchers(id: string): number {
    return this.listeners.get(id)?.size ?? 0;
  }
}

/** Whether the promise settled by the time pending callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe('waiting for dependencies', () => {
  it('waits until each deployment reaches its condition, and logs what it waits for and when each is met', async () => {
    const source = new FakeSource({ db: 'd1', migrate: 'm1', cache: 'c1' });
    source.set('d1', { status: 'building' });
    source.set('m1', { status: 'queued' });
    source.set('c1', { status: 'building' });
    const lines: string[] = [];
    const waiting = waitForDependencies('api', app.api!.dependsOn!, source, new AbortController().signal, (l) => lines.push(l));
    expect(lines).toEqual(['Waiting for db (healthy), migrate (completed successfully), cache (started) before starting']);

    source.set('c1', { status: 'starting' });
    source.set('c1', { status: 'starting', started: true }); // its start stage ended: the container started
    expect(await settled(waiting)).toBe(false);
    expect(lines.at(-1)).toBe('cache is started');
    source.set('d1', { status: 'health-checking' });
    expect(await settled(waiting)).toBe(false);
    source.set('d1', { status: 'running' });
    expect(await settled(waiting)).toBe(false);
    expect(lines.at(-1)).toBe('db is healthy');
    source.set('m1', { status: 'starting', started: true });
    expect(await settled(waiting)).toBe(false);
    source.set('m1', { status: 'completed' as DependencyDeployment['status'] });
    await waiting;
    expect(lines.at(-1)).toBe('migrate is completed successfully');
    expect(source.watchers('d1') + source.watchers('m1') + source.watchers('c1')).toBe(0);
  });

  it('fails naming the dependency and its diagnosis', async () => {
    const source = new FakeSource({ db: 'd1' });
    source.set('d1', { status: 'health-checking' });
    const waiting = waitForDependencies('api', { db: on('service_healthy') }, source, new AbortController().signal, () => undefined);
    source.set('d1', { status: 'failed', diagnosis: 'health-check failed: pg_isready exited 2' });
    await expect(waiting).rejects.toThrow(new DependencyFailure('api waits for db: db unhealthy: health-check failed: pg_isready exited 2'));
  });

  it.each([
    [{ status: 'cancelled', diagnosis: 'build cancelled: by request' }, 'service_started', 'api waits for db: db was cancelled: build cancelled: by request'],
    [{ status: 'superseded', supersededBy: 'd2' }, 'service_healthy', 'api waits for db: db was superseded by deployment d2'],
    [{ status: 'running' }, 'service_completed_successfully', 'api waits for db: db keeps running: it is not a job that completes'],
    [{ status: 'failed', diagnosis: 'health-check failed: the container exited with code 3' }, 'service_completed_successfully', 'api waits for db: db did not complete successfully: health-check failed: the container exited with code 3'],
  ] as const)('fails when the dependency ends %o (%s)', async (end, condition, message) => {
    const source = new FakeSource({ db: 'd1' });
    source.set('d1', end as Partial<DependencyDeployment>);
    await expect(waitForDependencies('api', { db: on(condition) }, source, new AbortController().signal, () => undefined)).rejects.toThrow(message);
  });

  it('logs and skips an optional dependency that fails', async () => {
    const source = new FakeSource({ db: 'd1' });
    source.set('d1', { status: 'failed', diagnosis: 'build failed: no Dockerfile' });
    const lines: string[] = [];
    await waitForDependencies('api', { db: on('service_started', false) }, source, new AbortController().signal, (l) => lines.push(l));
    expect(lines.at(-1)).toBe('api waits for db: db did not start: build failed: no Dockerfile (an optional dependency: starting without it)');
  });

  it('reads the container serving a dependency the request does not deploy', async () => {
    const source = new FakeSource();
    source.servingContainers.set('db', { running: true, exitCode: 0, health: 'healthy' });
    source.servingContainers.set('migrate', { running: false, exitCode: 0 });
    await waitForDependencies('api', { db: on('service_healthy'), migrate: on('service_completed_successfully') }, source, new AbortController().signal, () => undefined);
    await expect(waitForDependencies('api', { cache: on('service_started') }, source, new AbortController().signal, () => undefined)).rejects.toThrow(
      'api waits for cache: cache is not deployed in the sandbox',
    );
    expect(judgeServing({ running: true, exitCode: 0, health: 'unhealthy' }, 'service_healthy')).toBe('unhealthy: its health check fails');
    expect(judgeServing({ running: true, exitCode: 0, health: 'starting' }, 'service_healthy')).toBe('wait');
    expect(judgeServing({ running: false, exitCode: 1 }, 'service_completed_successfully')).toBe('did not complete successfully: it exited with code 1');
  });

  it('ends with the abort reason when cancelled while waiting, and stops watching', async () => {
    const source = new FakeSource({ db: 'd1' });
    source.set('d1', { status: 'building' });
    const controller = new AbortController();
    const waiting = waitForDependencies('api', { db: on('service_healthy') }, source, controller.signal, () => undefined);
    expect(source.watchers('d1')).toBe(1);
    const reason = Object.assign(new Error('Cancelled by request'), { name: 'AbortError' });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(source.watchers('d1')).toBe(0);
  });
});
