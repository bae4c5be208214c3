/** {@link NetworkClient} over dockerode. */
import type Docker from 'dockerode';
import { LABELS } from '../labels';
import type { LabelSelector, NetworkClient, NetworkDetails, NetworkSummary } from '../types';
import { isoOrUndefined } from './container-mapping';
import { engineCall, type EngineTarget } from './engine-error';

export class DockerodeNetworkClient implements NetworkClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
  ) {}

  list(opts: { label?: LabelSelector } = {}): Promise<NetworkSummary[]> {
    return engineCall(this.target('list'), async () => {
      const networks = await this.docker.listNetworks(
        opts.label?.length ? { filters: JSON.stringify({ label: opts.label }) } : {},
      );
      return networks.map(summaryOf);
    });
  }

  inspect(ref: string): Promise<NetworkDetails> {
    return engineCall(this.target('inspect', ref), async () => {
      const n = (await this.docker.getNetwork(ref).inspect()) as Docker.NetworkInspectInfo;
      return { ...summaryOf(n), containers: Object.keys(n.Containers ?? {}) };
    });
  }

  create(spec: { name: string; labels: Readonly<Record<string, string>> }): Promise<string> {
    return engineCall(this.target('create', spec.name), async () => {
      const network = await this.docker.createNetwork({ Name: spec.name, Driver: 'bridge', CheckDuplicate: true, Labels: { ...spec.labels } });
      return network.id;
    });
  }

  connect(network: string, container: string, opts: { aliases?: readonly string[] } = {}): Promise<void> {
    return engineCall(this.target('connect a container to', network), async () => {
      await this.docker.getNetwork(network).connect({
        Container: container,
        ...(opts.aliases?.length ? { EndpointConfig: { Aliases: [...opts.aliases] } } : {}),
      });
    });
  }

  disconnect(network: string, container: string, opts: { force?: boolean } = {}): Promise<void> {
    return engineCall(this.target('disconnect a container from', network), async () => {
      await this.docker.getNetwork(network).disconnect({ Container: container, Force: opts.force ?? false });
    });
  }

  remove(id: string): Promise<void> {
    return engineCall(this.target('remove', id), async () => {
      await this.docker.getNetwork(id).remove();
    });
  }

  private target(action: string, ref?: string): EngineTarget {
    return { action, kind: 'network', endpoint: this.endpoint, ...(ref !== undefined ? { ref } : {}) };
  }
}

function summaryOf(n: Docker.NetworkInspectInfo): NetworkSummary {
  const labels = n.Labels ?? {};
  const sandbox = labels[LABELS.sandbox];
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    scope: n.Scope,
    internal: n.Internal ?? false,
    attachable: n.Attachable ?? false,
    labels,
    created: isoOrUndefined(n.Created) ?? new Date(0).toISOString(),
    ...(sandbox ? { sandbox } : {}),
  };
}
