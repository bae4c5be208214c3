/**
 * What the sandbox lifecycle asks of Docker — the containers labelled for a sandbox, stop,
 * start, restart, inspect; every managed container, network and image, remove — behind one
 * interface ({@link LifecycleDocker}) so the logic is testable with a fake;
 * {@link DockerodeLifecycleDocker} implements it over dockerode, for one daemon instance (the
 * containers of a sandbox are those labelled with its `branchbox.instance`). Engine failures
 * are mapped by the Docker layer's `engineError`; a container already in the asked state (304)
 * is not an error.
 */
import type Docker from 'dockerode';
import { engineCall, engineError } from '../docker/dockerode/engine-error';
import { LABELS } from '../docker/labels';

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
  /** Stops the container (SIGTERM, then SIGKILL after `timeoutS`); a stopped one is left as is. */
  stop(id: string, timeoutS: number): Promise<void>;
  /** Starts the container; a running one is left as is. */
  start(id: string): Promise<void>;
  restart(id: string, timeoutS: number): Promise<void>;
  /** The container's state, or undefined when it is gone. */
  inspect(id: string): Promise<ContainerHealthState | undefined>;
  /** Containers (any state) labelled `branchbox.managed=true`, a sandbox, and every selector (`key` or `key=value`). */
  managedContainers(selectors: readonly string[]): Promise<ManagedContainer[]>;
  /** Networks labelled `branchbox.managed=true`, a sandbox, and every selector. */
  managedNetworks(selectors: readonly string[]): Promise<ManagedNetwork[]>;
  /** Images labelled `branchbox.managed=true` and every selector, except base images (`branchbox.base=true`). */
  managedImages(selectors: readonly string[]): Promise<ManagedImage[]>;
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
}

const status = (e: unknown) => (e as { statusCode?: number }).statusCode;
/** 404, or 409 "removal already in progress": someone else finishes the job. */
const gone = (e: unknown) => status(e) === 404 || (status(e) === 409 && /already in progress/i.test(String((e as Error).message)));

export class DockerodeLifecycleDocker implements LifecycleDocker {
  constructor(
    private readonly docker: () => Docker,
    /** The daemon's instance id (`branchbox.instance`). */
    private readonly instance: string,
  ) {}

  sandboxContainers(sandbox: string): Promise<SandboxContainer[]> {
    return engineCall({ action: 'list', kind: 'container' }, async () => {
      const filters = JSON.stringify({ label: [`${LABELS.managed}=true`, `${LABELS.sandbox}=${sandbox}`, `${LABELS.instance}=${this.instance}`] });
      const list = await this.docker().listContainers({ all: true, filters });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        state: c.State,
        labels: c.Labels ?? {},
      }));
    });
  }

  async stop(id: string, timeoutS: number): Promise<void> {
    try {
      await this.docker().getContainer(id).stop({ t: timeoutS });
    } catch (e) {
      if (status(e) === 304) return;
      throw engineError(e, { action: 'stop', kind: 'container', ref: id });
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker().getContainer(id).start();
    } catch (e) {
      if (status(e) === 304) return;
      throw engineError(e, { action: 'start', kind: 'container', ref: id });
    }
  }

  async restart(id: string, timeoutS: number): Promise<void> {
    try {
      await this.docker().getContainer(id).restart({ t: timeoutS });
    } catch (e) {
      throw engineError(e, { action: 'restart', kind: 'container', ref: id });
    }
  }

  managedContainers(selectors: readonly string[]): Promise<ManagedContainer[]> {
    return engineCall({ action: 'list', kind: 'container' }, async () => {
      const filters = JSON.stringify({ label: [`${LABELS.managed}=true`, LABELS.sandbox, ...selectors] });
      const list = await this.docker().listContainers({ all: true, filters });
      return list.map((c) => {
        const published = c.Ports?.find((p) => p.PublicPort !== undefined && p.PublicPort > 0);
        return {
          id: c.Id,
          name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
          state: c.State,
          labels: c.Labels ?? {},
          ...(published ? { hostPort: published.PublicPort } : {}),
        };
      });
    });
  }

  managedNetworks(selectors: readonly string[]): Promise<ManagedNetwork[]> {
    return engineCall({ action: 'list', kind: 'network' }, async () => {
      const filters = JSON.stringify({ label: [`${LABELS.managed}=true`, LABELS.sandbox, ...selectors] });
      const list = await this.docker().listNetworks({ filters });
      return list.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
    });
  }

  managedImages(selectors: readonly string[]): Promise<ManagedImage[]> {
    return engineCall({ action: 'list', kind: 'image' }, async () => {
      const filters = JSON.stringify({ label: [`${LABELS.managed}=true`, ...selectors] });
      const list = await this.docker().listImages({ filters });
      return list
        .filter((i) => i.Labels?.[LABELS.base] !== 'true')
        .map((i) => ({ id: i.Id, tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), labels: i.Labels ?? {} }));
    });
  }

  imagesInUse(): Promise<Set<string>> {
    return engineCall({ action: 'list', kind: 'container' }, async () => {
      const list = await this.docker().listContainers({ all: true });
      return new Set(list.map((c) => c.ImageID));
    });
  }

  async removeImage(image: ManagedImage): Promise<'removed' | 'in-use'> {
    // By tag: removing an image by id fails while it has several tags; the last tag removes it.
    for (const ref of image.tags.length ? image.tags : [image.id]) {
      try {
        await this.docker().getImage(ref).remove();
      } catch (e) {
        if (status(e) === 404) continue;
        if (status(e) === 409) return 'in-use';
        throw engineError(e, { action: 'remove', kind: 'image', ref });
      }
    }
    return 'removed';
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker().getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      if (gone(e)) return;
      throw engineError(e, { action: 'remove', kind: 'container', ref: id });
    }
  }

  async removeNetwork(id: string): Promise<void> {
    try {
      await this.docker().getNetwork(id).remove();
    } catch (e) {
      if (gone(e)) return;
      throw engineError(e, { action: 'remove', kind: 'network', ref: id });
    }
  }

  async inspect(id: string): Promise<ContainerHealthState | undefined> {
    try {
      const info = await this.docker().getContainer(id).inspect();
      return {
        id: info.Id,
        state: info.State.Status,
        running: info.State.Running,
        ...(info.State.Health?.Status ? { health: info.State.Health.Status } : {}),
        restartCount: info.RestartCount ?? 0,
        exitCode: info.State.ExitCode,
        oomKilled: info.State.OOMKilled,
      };
    } catch (e) {
      if (status(e) === 404) return undefined;
      throw engineError(e, { action: 'inspect', kind: 'container', ref: id });
    }
  }
}
