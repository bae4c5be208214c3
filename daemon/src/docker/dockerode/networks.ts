/** {@link NetworkClient} over dockerode. */
import type Docker from 'dockerode';
import { LABELS } from '../labels';
import type { LabelSelector, NetworkClient, NetworkSummary } from '../types';
import { isoOrUndefined } from './container-mapping';
import { engineCall } from './engine-error';

export class DockerodeNetworkClient implements NetworkClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
  ) {}

  list(opts: { label?: LabelSelector } = {}): Promise<NetworkSummary[]> {
    return engineCall({ action: 'list', kind: 'network', endpoint: this.endpoint }, async () => {
      const networks = await this.docker.listNetworks(
        opts.label?.length ? { filters: JSON.stringify({ label: opts.label }) } : {},
      );
      return networks.map((n): NetworkSummary => {
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
      });
    });
  }
}
