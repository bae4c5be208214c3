/**
 * A LifecycleDocker with no containers, networks, volumes or images, whose actions do nothing:
 * each lifecycle unit test overrides the calls it watches (start, stop, inspect…).
 */
import type { LifecycleDocker } from '../../../daemon/src/lifecycle/lifecycle-docker';

export function fakeLifecycleDocker(overrides: Partial<LifecycleDocker> = {}): LifecycleDocker {
  return {
    sandboxContainers: () => Promise.resolve([]),
    stop: () => Promise.resolve(),
    start: () => Promise.resolve(),
    restart: () => Promise.resolve(),
    inspect: (id) => Promise.resolve({ id, state: 'running', running: true, restartCount: 0, exitCode: 0, oomKilled: false }),
    managedContainers: () => Promise.resolve([]),
    managedNetworks: () => Promise.resolve([]),
    removeContainer: () => Promise.resolve(),
    removeNetwork: () => Promise.resolve(),
    managedVolumes: () => Promise.resolve([]),
    removeVolume: () => Promise.resolve(),
    managedImages: () => Promise.resolve([]),
    imagesInUse: () => Promise.resolve(new Set()),
    imageGraph: () => Promise.resolve([]),
    removeImage: () => Promise.resolve('removed'),
    ...overrides,
  };
}
