import { describe, expect, it } from 'vitest';
import type { ContainerModel, ContainerModelEvents } from '../../../daemon/src/docker/container-model';
import type { UserContainerActions } from '../../../daemon/src/docker/scoped-docker';
import type { DockerEngine } from '../../../daemon/src/docker/engine';
import { TypedEmitter } from '../../../daemon/src/docker/typed-emitter';
import type { DockerEvent } from '../../../daemon/src/docker/types';
import { dockerHandlers } from '../../../daemon/src/methods/docker';
import type { RequestContext } from '../../../daemon/src/rpc/handlers';
import { nullLogger } from '../../../daemon/src/runtime/log';

/** Stands in for the container model: the test emits its events. */
class FakeModel extends TypedEmitter<ContainerModelEvents> {
  fire<K extends keyof ContainerModelEvents & string>(event: K, ...args: ContainerModelEvents[K]): void {
    this.emit(event, ...args);
  }
}

/** A subscription that accepts `room` items before asking to slow down, and drains when told. */
function fakeSubscription(room: number) {
  const items: unknown[] = [];
  const controller = new AbortController();
  let drained: (() => void) | undefined;
  return {
    items,
    sub: {
      id: 'sub-1',
      signal: controller.signal,
      push: (item: unknown) => {
        items.push(item);
        return items.length < room;
      },
      waitForDrain: () => new Promise<void>((r) => (drained = r)),
    },
    drain: async () => {
      room = Infinity;
      drained?.();
      await Promise.resolve();
    },
    cancel: () => controller.abort(),
  };
}

const event = (n: number, type: DockerEvent['type'] = 'container'): DockerEvent => ({
  type,
  action: 'start',
  id: `c${n}`,
  time: new Date(0).toISOString(),
});

function subscribe(model: FakeModel, fake: ReturnType<typeof fakeSubscription>, types?: DockerEvent['type'][]) {
  const handlers = dockerHandlers({ engine: {} as DockerEngine, model: model as unknown as ContainerModel, containers: {} as UserContainerActions });
  const ctx = {
    signal: new AbortController().signal,
    log: nullLogger,
    session: { subscribe: () => fake.sub },
  } as unknown as RequestContext;
  return handlers['events/subscribe']({ types }, ctx);
}

describe('events/subscribe', () => {
  it('forwards the kinds asked for, and a resync item after the model resyncs', async () => {
    const model = new FakeModel();
    const fake = fakeSubscription(Infinity);
    expect(await subscribe(model, fake, ['container'])).toEqual({ subscription: 'sub-1' });
    model.fire('event', event(1));
    model.fire('event', event(2, 'image'));
    model.fire('resync', 'Connected to the Docker engine at unix:///x');
    expect(fake.items).toEqual([event(1), { type: 'resync', reason: 'Connected to the Docker engine at unix:///x' }]);
  });

  it('stops queueing for a client that reads too slowly, then tells it to refetch once it caught up', async () => {
    const model = new FakeModel();
    const fake = fakeSubscription(3);
    await subscribe(model, fake);
    for (let i = 1; i <= 10; i++) model.fire('event', event(i));
    expect(fake.items).toEqual([event(1), event(2), event(3)]); // the rest dropped, not buffered

    await fake.drain();
    expect(fake.items.at(-1)).toEqual({
      type: 'resync',
      reason: 'Events were dropped because the client read too slowly.',
    });
    model.fire('event', event(11));
    expect(fake.items.at(-1)).toEqual(event(11));
  });

  it('stops listening to the model when the subscription ends', async () => {
    const model = new FakeModel();
    const fake = fakeSubscription(Infinity);
    await subscribe(model, fake);
    fake.cancel();
    model.fire('event', event(1));
    expect(fake.items).toEqual([]);
  });
});
