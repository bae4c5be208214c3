/**
 * The container model against the real engine: a full list on start, then every change
 * followed through the one event stream (create, start, health, die, stop, destroy), and
 * `list()` filters by label, state and sandbox answered from the cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerModel } from '../../../daemon/src/docker/container-model';
import { DockerEngine } from '../../../daemon/src/docker/engine';
import type { DockerClient, DockerEvent } from '../../../daemon/src/docker/types';
import { docker as fixtureDocker, testRun } from '../../helpers/docker-fixtures';
import { SLEEPER } from './fixtures';

const run = testRun('bbmodel');
const mine = `branchbox.test=${run.runId}`;
const engine = new DockerEngine();
let docker: DockerClient;
const models: ContainerModel[] = [];

beforeAll(async () => {
  expect((await engine.start()).available).toBe(true);
  docker = engine.client();
});
afterAll(async () => {
  for (const m of models) m.close();
  engine.stop();
  await run.cleanup();
});

function newModel(): ContainerModel {
  const model = new ContainerModel(engine);
  models.push(model);
  return model;
}

const names = (list: { name: string }[]) => list.map((c) => c.name).sort();

describe('container model', () => {
  it('lists what was there before it started, filtered by label, state and sandbox', async () => {
    const n = (s: string) => `${run.runId}-${s}`;
    await run.createContainer({
      name: n('a'),
      Cmd: SLEEPER,
      Labels: { 'branchbox.sandbox': n('sb1'), 'branchbox.service': 'api' },
    });
    await run.createContainer({
      name: n('b'),
      Cmd: SLEEPER,
      start: false,
      Labels: { 'branchbox.sandbox': n('sb1'), 'branchbox.service': 'web' },
    });
    await run.createContainer({
      name: n('c'),
      Cmd: SLEEPER,
      Labels: { 'branchbox.sandbox': n('sb2'), 'branchbox.service': 'web' },
    });
    const d = await run.createContainer({ name: n('d'), Cmd: ['true'], start: false });
    await d.start();
    await d.wait();

    const model = newModel();
    expect(names(await model.list({ label: [mine] }))).toEqual([n('a'), n('c')]);
    expect(names(await model.list({ all: true, label: [mine] }))).toEqual([n('a'), n('b'), n('c'), n('d')]);
    expect(names(await model.list({ state: ['created'], label: [mine] }))).toEqual([n('b')]);
    expect(names(await model.list({ state: ['exited', 'created'], label: [mine] }))).toEqual([n('b'), n('d')]);
    expect(names(await model.list({ sandbox: n('sb1') }))).toEqual([n('a'), n('b')]);
    expect(names(await model.list({ all: true, label: [mine, 'branchbox.service=web'] }))).toEqual([n('b'), n('c')]);
    expect(names(await model.list({ all: true, label: [mine, 'branchbox.service'] }))).toEqual([
      n('a'),
      n('b'),
      n('c'),
    ]);

    const [exited] = await model.list({ state: ['exited'], label: [mine] });
    expect(exited).toMatchObject({ state: 'exited', exitCode: 0, image: 'branchbox/busybox:1' });
    expect(exited?.status).toMatch(/^Exited \(0\) /);
    const [a] = await model.list({ sandbox: n('sb1'), state: ['running'] });
    expect(a).toMatchObject({ name: n('a'), sandbox: n('sb1'), service: 'api', state: 'running' });

    // Newest first, like docker ps.
    const all = await model.list({ all: true, label: [mine] });
    expect(all.map((c) => c.created)).toEqual([...all.map((c) => c.created)].sort().reverse());
  });

  it('follows create, start, health_status, die, stop and destroy through the event stream', async () => {
    const model = newModel();
    await model.list(); // in sync
    const name = `${run.runId}-health`;
    const seen: DockerEvent[] = [];
    const off = model.on('event', (e) => {
      if (e.type === 'container' && e.name === name) seen.push(e);
    });
    const on = (action: string, accept: (e: DockerEvent) => boolean = () => true) =>
      model
        .next('event', (e) => e.type === 'container' && e.name === name && e.action === action && accept(e))
        .then(([e]) => e);

    const created = on('create');
    const container = await run.createContainer({
      name,
      Cmd: SLEEPER,
      start: false,
      Labels: { 'branchbox.sandbox': `${run.runId}-hs` },
      Healthcheck: {
        Test: ['CMD-SHELL', 'true'],
        Interval: 100_000_000,
        Timeout: 2_000_000_000,
        Retries: 1,
        StartPeriod: 0,
      },
    });
    const createEvent = await created;
    expect(createEvent).toMatchObject({ id: container.id, labels: { 'branchbox.sandbox': `${run.runId}-hs` } });
    expect(createEvent.container).toMatchObject({ id: container.id, state: 'created' });
    expect((await model.list({ sandbox: `${run.runId}-hs` })).map((c) => c.state)).toEqual(['created']);

    const started = on('start');
    const healthy = on('health_status', (e) => e.health === 'healthy');
    await docker.containers.start(container.id);
    expect((await started).container?.state).toBe('running');
    const healthEvent = await healthy;
    expect(healthEvent.container).toMatchObject({ state: 'running', health: 'healthy' });
    const [listed] = await model.list({ sandbox: `${run.runId}-hs` });
    expect(listed).toMatchObject({ state: 'running', health: 'healthy' });
    expect(listed?.status).toMatch(/^Up .* \(healthy\)$/);

    const died = on('die');
    const stopped = on('stop');
    await docker.containers.stop(container.id, { timeoutSeconds: 5 });
    expect(await died).toMatchObject({ exitCode: 0 });
    expect((await stopped).container).toMatchObject({ state: 'exited', exitCode: 0 });
    expect((await model.list({ sandbox: `${run.runId}-hs` })).map((c) => c.state)).toEqual(['exited']);

    const destroyed = on('destroy');
    await docker.containers.remove(container.id);
    const destroyEvent = await destroyed;
    expect(destroyEvent.container).toBeUndefined();
    expect(destroyEvent.labels).toMatchObject({ 'branchbox.sandbox': `${run.runId}-hs` });
    expect(await model.list({ sandbox: `${run.runId}-hs` })).toEqual([]);
    off();

    // Events of one container arrive in the order the engine wrote them.
    const order = seen.map((e) => e.action).filter((a) => ['create', 'start', 'die', 'stop', 'destroy'].includes(a));
    expect(order).toEqual(['create', 'start', 'die', 'stop', 'destroy']);
  });

  it('re-emits network and volume events', async () => {
    const model = newModel();
    await model.list();
    const name = `${run.runId}-evnet`;
    const created = model.next('event', (e) => e.type === 'network' && e.action === 'create' && e.name === name);
    const net = await fixtureDocker.createNetwork({ Name: name, Labels: run.labels() });
    expect((await created)[0]).toMatchObject({ type: 'network', action: 'create', id: net.id, name });
  });
});
