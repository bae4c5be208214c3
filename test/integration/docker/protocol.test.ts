/**
 * The Docker methods through the protocol: a real branchboxd (dist/, results checked against
 * their schemas) talking to the real engine, driven by the typed client over WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import { failure, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun } from '../../helpers/docker-fixtures';
import { SLEEPER } from './fixtures';

const run = testRun('bbrpc');
let daemon: TestDaemon;
let client: TestClient;

type EventItem = StreamItem<'events/event'>;
type ContainerEvent = Exclude<EventItem, { type: 'resync' }>;

/** Every `events/event` item this client received, and a way to wait for one. */
const received: EventItem[] = [];
const waiters: { accept: (e: EventItem) => boolean; resolve: (e: EventItem) => void }[] = [];
function nextEvent(accept: (e: EventItem) => boolean): Promise<EventItem> {
  const seen = received.find(accept);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => waiters.push({ accept, resolve }));
}
const containerEvent = (name: string, action: string) =>
  nextEvent((e) => e.type === 'container' && e.name === name && e.action === action) as Promise<ContainerEvent>;

beforeAll(async () => {
  daemon = await startTestDaemon();
  client = await daemon.connect('docker-protocol-test');
  await client.subscribe('events/subscribe', { types: ['container'] }, 'events/event', {
    onItems: (items) => {
      for (const item of items) {
        received.push(item);
        for (const w of waiters.filter((w) => w.accept(item))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(item);
        }
      }
    },
  });
});
afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
});

describe('Docker over the protocol', () => {
  it('reports the engine in system/info', async () => {
    const info = await client.request('system/info');
    expect(info.docker).toMatchObject({
      available: true,
      endpoint: expect.stringMatching(/^unix:\/\//),
      apiVersion: expect.any(String),
    });
  });

  it('drives a container through its lifecycle, pushing each change as an event', async () => {
    const name = `${run.runId}-life`;
    const created = containerEvent(name, 'create');
    const c = await run.createContainer({
      name,
      Cmd: SLEEPER,
      start: false,
      Env: ['MODE=test', 'DB_PASSWORD=hunter2'],
    });
    expect((await created).container).toMatchObject({ id: c.id, state: 'created' });

    const list = await client.request('container/list', { all: true, label: [`branchbox.test=${run.runId}`] });
    expect(list.containers.map((x) => x.name)).toEqual([name]);

    const started = containerEvent(name, 'start');
    expect(await client.request('container/start', { id: name })).toBeNull();
    expect((await started).container?.state).toBe('running');
    expect(
      (await client.request('container/list', { label: [`branchbox.test=${run.runId}`] })).containers,
    ).toHaveLength(1);

    const details = await client.request('container/inspect', { id: c.id });
    expect(details.env).toEqual(expect.arrayContaining(['MODE=test', 'DB_PASSWORD=***']));
    expect(JSON.stringify(details)).not.toContain('hunter2');

    const refused = await failure(client.request('container/remove', { id: name }));
    expect(refused).toMatchObject({ code: 1103, errorName: 'ContainerRunning' });

    const stopped = containerEvent(name, 'stop');
    await client.request('container/stop', { id: name, timeout: 5 });
    expect((await stopped).container).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(
      (await client.request('container/list', { state: ['exited'], label: [`branchbox.test=${run.runId}`] }))
        .containers,
    ).toHaveLength(1);

    const destroyed = containerEvent(name, 'destroy');
    await client.request('container/remove', { id: name });
    await destroyed;
    expect(
      (await client.request('container/list', { all: true, label: [`branchbox.test=${run.runId}`] })).containers,
    ).toEqual([]);
  });

  it('answers clear errors for unknown ids and missing files', async () => {
    const unknown = await failure(client.request('container/inspect', { id: `${run.runId}-nope` }));
    expect(unknown).toMatchObject({
      code: 1002,
      errorName: 'ContainerNotFound',
      message: `No container "${run.runId}-nope"`,
    });
    const noImage = await failure(client.request('image/remove', { image: `${run.runId}/none:1` }));
    expect(noImage).toMatchObject({ code: 1003, errorName: 'ImageNotFound' });
    const noFile = await failure(client.request('image/load', { path: `/tmp/${run.runId}-missing.tar` }));
    expect(noFile).toMatchObject({ code: 1011, errorName: 'FileNotFound' });
    const invalid = await failure(client.request('container/list', { state: ['sleeping'] } as never));
    expect(invalid.code).toBe(-32602);
  });

  it('lists images, networks and volumes', async () => {
    const { images } = await client.request('image/list', {});
    expect(images.flatMap((i) => i.tags)).toContain('branchbox/busybox:1');
    const { networks } = await client.request('network/list', {});
    expect(networks.map((n) => n.name)).toContain('bridge');
    const { volumes } = await client.request('volume/list', { label: [`branchbox.test=${run.runId}`] });
    expect(volumes).toEqual([]);
  });
});
