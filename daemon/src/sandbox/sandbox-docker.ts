/**
 * The Docker objects of a sandbox, found by label (labels, not names, are the truth): its
 * network `sandbox-{name}`, created labelled so deployments can attach to it, and — at
 * delete — every container and network labelled `branchbox.sandbox=<name>` and this daemon's
 * `branchbox.instance`, removed whatever state they are in. Everything goes through the one
 * label-scoped client (`docker/scoped-docker.ts`): objects of a sandbox of the same name of
 * another daemon (another state directory) are never touched, and a network of that name
 * that is not this sandbox's is a `Conflict` naming its owner.
 */
import { LABELS } from '../docker/labels';
import type { ScopedDocker } from '../docker/scoped-docker';
import { RpcError } from '../rpc/errors';
import { networkName } from './names';

export interface RemovedObjects {
  readonly containers: number;
  readonly networks: number;
}

/** What the sandbox lifecycle needs from Docker (tests pass a fake). */
export interface SandboxDockerObjects {
  ensureNetwork(sandbox: string): Promise<string>;
  removeAll(sandbox: string): Promise<RemovedObjects>;
  remaining(sandbox: string): Promise<RemovedObjects>;
}

export class SandboxDocker implements SandboxDockerObjects {
  constructor(private readonly docker: ScopedDocker) {}

  /**
   * Creates the sandbox's network, or adopts it when it exists labelled for this sandbox and
   * this daemon. @throws RpcError Conflict naming the owner of a network of that name that is not.
   */
  async ensureNetwork(sandbox: string): Promise<string> {
    const name = networkName(sandbox);
    const existing = await this.docker.inspectNetwork(name);
    if (existing && existing.name === name) {
      this.docker.ownership.check('use', { kind: 'network', id: existing.id, name, labels: existing.labels }, { sandbox });
      return existing.id;
    }
    return this.docker.createNetwork(name, { sandbox });
  }

  /** Removes every container and network labelled with the sandbox and this daemon's instance. */
  async removeAll(sandbox: string): Promise<RemovedObjects> {
    const selector = [`${LABELS.sandbox}=${sandbox}`];
    const containers = await this.docker.containers(selector);
    await Promise.all(containers.map((c) => this.docker.removeContainer(c.id, { sandbox })));
    const networks = await this.docker.networks(selector);
    for (const n of networks) await this.docker.removeNetwork(n.id, { sandbox });

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
    const selector = [`${LABELS.sandbox}=${sandbox}`];
    const [containers, networks] = await Promise.all([this.docker.containers(selector), this.docker.networks(selector)]);
    return { containers: containers.length, networks: networks.length };
  }
}
