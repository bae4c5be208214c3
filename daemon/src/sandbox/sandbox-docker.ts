/**
 * The Docker objects of a sandbox, found by label (labels, not names, are the truth): its
 * network `sandbox-{name}`, created labelled so deployments can attach to it, and — at
 * delete — every container and network labelled `branchbox.sandbox=<name>` and this daemon's
 * `branchbox.instance`, removed whatever state they are in. Objects of a sandbox of the same
 * name of another daemon (another state directory) on the engine are never touched.
 */
import type Docker from 'dockerode';
import { engineCall, engineError } from '../docker/dockerode/engine-error';
import { LABELS } from '../docker/labels';
import { RpcError } from '../rpc/errors';
import { networkName } from './names';

export interface RemovedObjects {
  readonly containers: number;
  readonly networks: number;
}

export interface SandboxDockerOptions {
  /** The dockerode instance of the connected engine (throws DockerUnavailable when there is none). */
  readonly docker: () => Docker;
  /** Labels added to everything created (e.g. `branchbox.test=<run>` in tests), besides Branchbox's own. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** The daemon's instance id: put on everything created, and only objects carrying it are removed. */
  readonly instance: string;
}

/** What the sandbox lifecycle needs from Docker (tests pass a fake). */
export interface SandboxDockerObjects {
  ensureNetwork(sandbox: string): Promise<string>;
  removeAll(sandbox: string): Promise<RemovedObjects>;
  remaining(sandbox: string): Promise<RemovedObjects>;
}

export class SandboxDocker implements SandboxDockerObjects {
  constructor(private readonly opts: SandboxDockerOptions) {}

  /** The labels of every Docker object of the sandbox (and of one of its services). */
  labels(sandbox: string, service?: string): Record<string, string> {
    return {
      ...this.opts.extraLabels,
      [LABELS.managed]: 'true',
      [LABELS.instance]: this.opts.instance,
      [LABELS.sandbox]: sandbox,
      ...(service !== undefined ? { [LABELS.service]: service } : {}),
    };
  }

  /** Creates the sandbox's network, or adopts it when one labelled for this sandbox and this daemon exists. */
  async ensureNetwork(sandbox: string): Promise<string> {
    const name = networkName(sandbox);
    const existing = await this.networksNamed(name);
    const ours = existing.find((n) => n.Labels?.[LABELS.sandbox] === sandbox && n.Labels?.[LABELS.instance] === this.opts.instance);
    if (ours) return ours.Id;
    if (existing.length) {
      throw new RpcError(
        'Conflict',
        `A Docker network "${name}" exists that this daemon did not create (another Branchbox daemon's, or not Branchbox's); remove or rename it first.`,
        { network: name },
      );
    }
    const network = await engineCall({ action: 'create', kind: 'network', ref: name }, () =>
      this.opts
        .docker()
        .createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: this.labels(sandbox) }),
    );
    return network.id;
  }

  /** Removes every container and network labelled with the sandbox and this daemon's instance. */
  async removeAll(sandbox: string): Promise<RemovedObjects> {
    const docker = this.opts.docker();
    const filters = this.filters(sandbox);
    const containers = await engineCall({ action: 'list', kind: 'container' }, () =>
      docker.listContainers({ all: true, filters }),
    );
    await Promise.all(
      containers.map((c) =>
        ignoreGone(() => docker.getContainer(c.Id).remove({ force: true, v: true }), {
          action: 'remove',
          kind: 'container',
          ref: c.Names?.[0] ?? c.Id,
        }),
      ),
    );
    const networks = await engineCall({ action: 'list', kind: 'network' }, () => docker.listNetworks({ filters }));
    for (const n of networks) await this.removeNetwork(docker, n.Id, n.Name);

    const left = await this.remaining(sandbox);
    if (left.containers || left.networks) {
      throw new RpcError(
        'DockerError',
        `Sandbox "${sandbox}" still has ${left.containers} container(s) and ${left.networks} network(s) after removal; run sandbox/delete again.`,
        { ...left },
      );
    }
    return { containers: containers.length, networks: networks.length };
  }

  /** How many containers and networks labelled with the sandbox and this daemon's instance exist. */
  async remaining(sandbox: string): Promise<RemovedObjects> {
    const docker = this.opts.docker();
    const filters = this.filters(sandbox);
    const [containers, networks] = await Promise.all([
      engineCall({ action: 'list', kind: 'container' }, () => docker.listContainers({ all: true, filters })),
      engineCall({ action: 'list', kind: 'network' }, () => docker.listNetworks({ filters })),
    ]);
    return { containers: containers.length, networks: networks.length };
  }

  /** Docker's label filter for the objects of the sandbox that this daemon created. */
  private filters(sandbox: string): string {
    return JSON.stringify({ label: [`${LABELS.sandbox}=${sandbox}`, `${LABELS.instance}=${this.opts.instance}`] });
  }

  /** Disconnects whatever is still attached (a container of another sandbox cannot be), then removes. */
  private async removeNetwork(docker: Docker, id: string, name: string): Promise<void> {
    const network = docker.getNetwork(id);
    const target = { action: 'remove', kind: 'network', ref: name } as const;
    const info = await ignoreGone(() => network.inspect() as Promise<{ Containers?: Record<string, unknown> }>, target);
    for (const containerId of Object.keys(info?.Containers ?? {})) {
      await ignoreGone(() => network.disconnect({ Container: containerId, Force: true }), target);
    }
    await ignoreGone(() => network.remove(), target);
  }

  private async networksNamed(name: string): Promise<Docker.NetworkInspectInfo[]> {
    const docker = this.opts.docker();
    const found = await engineCall({ action: 'list', kind: 'network' }, () =>
      docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }),
    );
    return found.filter((n) => n.Name === name); // the name filter matches substrings
  }
}

/** Runs an engine call whose object may already be gone (404), which counts as done. */
async function ignoreGone<T>(call: () => Promise<T>, what: Parameters<typeof engineError>[1]): Promise<T | undefined> {
  try {
    return await call();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    // "removal of container ... is already in progress": someone else is finishing the job.
    if ((e as { statusCode?: number }).statusCode === 409 && /already in progress/i.test(String((e as Error).message)))
      return undefined;
    throw engineError(e, what);
  }
}
