/**
 * What the sandbox lifecycle asks of Docker — the containers of a sandbox; stop, start,
 * restart, inspect; this instance's containers, networks, volumes and images; remove — behind one
 * narrow interface ({@link LifecycleDocker}) so the logic is testable with a fake.
 * {@link lifecycleDockerOf} implements it over the daemon's one label-scoped client
 * (`docker/scoped-docker.ts`): everything listed is this instance's, and nothing is stopped,
 * started or removed unless its labels say it is.
 */
import { LABELS } from '../docker/labels';
import type { OwnerScope, ScopedDocker } from '../docker/scoped-docker';
import type { ImageNode } from './image-footprint';

export interface SandboxContainer {
  readonly id: string;
  readonly name: string;
  /** Docker's state: running, exited, created, restarting... */
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ManagedContainer extends SandboxContainer {
  /** The first host port it publishes. */
  readonly hostPort?: number;
}

export interface ManagedNetwork {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A named volume (a compose project's, per sandbox). */
export interface ManagedVolume {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ManagedImage {
  readonly id: string;
  /** `repository:tag` references; empty for an untagged image. */
  readonly tags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface ContainerHealthState {
  readonly id: string;
  readonly state: string;
  readonly running: boolean;
  /** Docker's own health-check status when the image declares one. */
  readonly health?: string;
  /** Docker's restart count (restart policy). */
  readonly restartCount: number;
  readonly exitCode: number;
  readonly oomKilled: boolean;
}

export interface LifecycleDocker {
  /** Containers (any state) labelled `branchbox.managed=true`, `branchbox.sandbox=<sandbox>` and this daemon's instance. */
  sandboxContainers(sandbox: string): Promise<SandboxContainer[]>;
  /**
   * Stops the container (SIGTERM, then SIGKILL after `timeoutS`); a stopped one is left as is.
   * Like every action below, refused (`Conflict`) unless the container is this instance's and
   * of `scope`'s sandbox/service.
   */
  stop(id: string, timeoutS: number, scope?: OwnerScope): Promise<void>;
  /** Starts the container; a running one is left as is. */
  start(id: string, scope?: OwnerScope): Promise<void>;
  restart(id: string, timeoutS: number, scope?: OwnerScope): Promise<void>;
  /** The container's state, or undefined when it is gone. */
  inspect(id: string): Promise<ContainerHealthState | undefined>;
  /** This instance's containers (any state) labelled with a sandbox and every selector (`key` or `key=value`). */
  managedContainers(selectors: readonly string[]): Promise<ManagedContainer[]>;
  /** This instance's networks labelled with a sandbox and every selector. */
  managedNetworks(selectors: readonly string[]): Promise<ManagedNetwork[]>;
  /** This instance's volumes labelled with a sandbox and every selector. */
  managedVolumes(selectors: readonly string[]): Promise<ManagedVolume[]>;
  /** This instance's images carrying every selector, except base images (`branchbox.base=true`). */
  managedImages(selectors: readonly string[]): Promise<ManagedImage[]>;
  /** Every image on the engine, intermediate ones included: the graph image sizes are computed on. */
  imageGraph(): Promise<ImageNode[]>;
  /** The ids of the images used by some container (any state, any labels). */
  imagesInUse(): Promise<Set<string>>;
  /**
   * Removes the image (each of its tags), never forced: one a container uses answers `in-use`
   * and is left; one already gone is not an error.
   */
  removeImage(image: ManagedImage): Promise<'removed' | 'in-use'>;
  /** Removes the container whatever its state; one already gone is not an error. */
  removeContainer(id: string): Promise<void>;
  /** Removes the network; one already gone is not an error. */
  removeNetwork(id: string): Promise<void>;
  /** Removes the volume (refused by the engine while a container mounts it); one already gone is not an error. */
  removeVolume(name: string): Promise<void>;
}

/** The lifecycle's Docker over the one label-scoped client. */
export function lifecycleDockerOf(docker: ScopedDocker): LifecycleDocker {
  return {
    sandboxContainers: async (sandbox) =>
      (await docker.containers([`${LABELS.sandbox}=${sandbox}`])).map((c) => ({ id: c.id, name: c.name, state: c.state, labels: c.labels })),
    stop: (id, timeoutS, scope) => docker.stop(id, timeoutS, scope),
    start: (id, scope) => docker.start(id, scope),
    restart: (id, timeoutS, scope) => docker.restart(id, timeoutS, scope),
    inspect: async (id) => {
      const c = await docker.inspectContainer(id);
      if (!c) return undefined;
      return {
        id: c.id,
        state: c.state,
        running: c.state === 'running' || c.state === 'paused' || c.state === 'restarting',
        ...(c.health ? { health: c.health } : {}),
        restartCount: c.restartCount,
        exitCode: c.exitCode ?? 0,
        oomKilled: c.oomKilled,
      };
    },
    managedContainers: async (selectors) =>
      (await docker.containers([LABELS.sandbox, ...selectors])).map((c) => {
        const published = c.ports.find((p) => p.host !== undefined && p.host > 0);
        return { id: c.id, name: c.name, state: c.state, labels: c.labels, ...(published ? { hostPort: published.host } : {}) };
      }),
    managedNetworks: async (selectors) => (await docker.networks([LABELS.sandbox, ...selectors])).map((n) => ({ id: n.id, name: n.name, labels: n.labels })),
    managedVolumes: async (selectors) => (await docker.volumes([LABELS.sandbox, ...selectors])).map((v) => ({ name: v.name, labels: v.labels })),
    managedImages: async (selectors) => (await docker.images(selectors)).map((i) => ({ id: i.id, tags: i.tags, labels: i.labels })),
    imageGraph: async () =>
      (await docker.allImages()).map((i) => ({ id: i.id, size: i.size, labels: i.labels, ...(i.parentId ? { parentId: i.parentId } : {}) })),
    imagesInUse: () => docker.imagesInUse(),
    removeImage: (image) => docker.removeImage(image.tags[0] ?? image.id),
    removeContainer: (id) => docker.removeContainer(id),
    removeNetwork: (id) => docker.removeNetwork(id),
    removeVolume: (name) => docker.removeVolume(name),
  };
}
