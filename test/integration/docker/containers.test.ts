/**
 * The container client against the real engine: lifecycle, the refusal to remove a running
 * container, inspect details, and clear errors for unknown ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerModel } from '../../../daemon/src/docker/container-model';
import { DockerEngine } from '../../../daemon/src/docker/engine';
import type { DockerClient } from '../../../daemon/src/docker/types';
import { docker as fixtureDocker, testRun } from '../../helpers/docker-fixtures';
import { SLEEPER, rpcErrorOf } from './fixtures';

const run = testRun('bbcont');
const engine = new DockerEngine();
let model: ContainerModel;
let docker: DockerClient;

beforeAll(async () => {
  expect(await engine.start()).toMatchObject({ available: true });
  docker = engine.client();
  model = new ContainerModel(engine);
});
afterAll(async () => {
  model?.close();
  engine.stop();
  await run.cleanup();
});

describe('container lifecycle through the Docker client', () => {
  it('starts, stops, restarts and removes a container, each change seen by the engine', async () => {
    const created = await run.createContainer({ Cmd: SLEEPER, start: false, name: `${run.runId}-life` });
    const id = created.id;
    expect((await docker.containers.summary(id)).state).toBe('created');

    const started = model.next('event', (e) => e.id === id && e.action === 'start');
    await docker.containers.start(id);
    await started;
    const running = await docker.containers.summary(id);
    expect(running).toMatchObject({ state: 'running', name: `${run.runId}-life`, image: 'branchbox/busybox:1' });
    expect(running.status).toMatch(/^Up /);
    await docker.containers.start(id); // starting a running container is not an error

    await docker.containers.stop(id, { timeoutSeconds: 5 });
    const stopped = await docker.containers.summary(id);
    expect(stopped).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(stopped.status).toMatch(/^Exited \(0\) /);
    await docker.containers.stop(id); // stopping a stopped container is not an error

    const restarted = model.next('event', (e) => e.id === id && e.action === 'restart');
    await docker.containers.restart(id, { timeoutSeconds: 5 });
    await restarted;
    expect((await docker.containers.summary(id)).state).toBe('running');

    const refused = await rpcErrorOf(docker.containers.remove(id));
    expect(refused).toMatchObject({ errorName: 'ContainerRunning', code: 1103 });
    expect(refused.message).toContain('stop it first or pass force');
    expect((await docker.containers.summary(id)).state).toBe('running');

    await docker.containers.remove(id, { force: true });
    expect((await rpcErrorOf(docker.containers.summary(id))).errorName).toBe('ContainerNotFound');
  });

  it('inspects a container: ports, env, mounts, networks, labels, sandbox', async () => {
    const volume = `${run.runId}-data`;
    await fixtureDocker.createVolume({ Name: volume, Labels: run.labels() });
    const c = await run.createContainer({
      Cmd: SLEEPER,
      name: `${run.runId}-inspect`,
      Env: ['LOG_LEVEL=debug', 'API_TOKEN=s3cr3t'],
      Labels: { 'branchbox.sandbox': `${run.runId}-sb`, 'branchbox.service': 'web' },
      ExposedPorts: { '8080/tcp': {}, '9090/udp': {} },
      HostConfig: {
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Mounts: [{ Type: 'volume', Source: volume, Target: '/data' }],
      },
    });
    const details = await docker.containers.inspect(c.id);
    expect(details).toMatchObject({
      id: c.id,
      name: `${run.runId}-inspect`,
      state: 'running',
      sandbox: `${run.runId}-sb`,
      service: 'web',
      command: SLEEPER,
      tty: false,
      restartCount: 0,
      oomKilled: false,
    });
    expect(details.env).toEqual(expect.arrayContaining(['LOG_LEVEL=debug', 'API_TOKEN=s3cr3t']));
    const published = details.ports.find((p) => p.container === 8080);
    expect(published).toMatchObject({ protocol: 'tcp', hostIp: '127.0.0.1' });
    expect(published?.host).toBeGreaterThan(0);
    expect(details.ports.find((p) => p.container === 9090)).toEqual({ container: 9090, protocol: 'udp' });
    expect(details.mounts).toEqual([
      { type: 'volume', name: volume, source: expect.stringContaining(volume), destination: '/data', readOnly: false },
    ]);
    expect(details.networks.map((n) => n.name)).toContain('bridge');
    expect(Date.parse(details.created)).toBeLessThanOrEqual(Date.now());
    expect(details.startedAt).toBeDefined();
    expect(details.finishedAt).toBeUndefined();
  });

  it('lists networks and volumes, filtered by label', async () => {
    const label = `${run.runId}-nv`;
    await fixtureDocker.createNetwork({ Name: `${run.runId}-net`, Labels: run.labels({ 'branchbox.sandbox': label }) });
    await fixtureDocker.createVolume({ Name: `${run.runId}-vol`, Labels: run.labels({ 'branchbox.sandbox': label }) });
    const networks = await docker.networks.list({ label: [`branchbox.sandbox=${label}`] });
    expect(networks).toEqual([
      expect.objectContaining({ name: `${run.runId}-net`, driver: 'bridge', scope: 'local', sandbox: label }),
    ]);
    const volumes = await docker.volumes.list({ label: [`branchbox.sandbox=${label}`] });
    expect(volumes).toEqual([expect.objectContaining({ name: `${run.runId}-vol`, driver: 'local', sandbox: label })]);
    expect((await docker.networks.list()).map((n) => n.name)).toContain('bridge');
  });

  it('answers ContainerNotFound for an unknown id, on every operation', async () => {
    const unknown = `${run.runId}-does-not-exist`;
    for (const call of [
      () => docker.containers.inspect(unknown),
      () => docker.containers.start(unknown),
      () => docker.containers.stop(unknown),
      () => docker.containers.restart(unknown),
      () => docker.containers.remove(unknown, { force: true }),
    ]) {
      const e = await rpcErrorOf(call());
      expect(e).toMatchObject({ errorName: 'ContainerNotFound', code: 1002, message: `No container "${unknown}"` });
    }
  });
});
