/** {@link VolumeClient} over dockerode. */
import type Docker from 'dockerode';
import { LABELS } from '../labels';
import type { LabelSelector, VolumeClient, VolumeSummary } from '../types';
import { isoOrUndefined } from './container-mapping';
import { engineCall } from './engine-error';

export class DockerodeVolumeClient implements VolumeClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
  ) {}

  list(opts: { label?: LabelSelector } = {}): Promise<VolumeSummary[]> {
    return engineCall({ action: 'list', kind: 'volume', endpoint: this.endpoint }, async () => {
      const { Volumes } = await this.docker.listVolumes(
        opts.label?.length ? { filters: JSON.stringify({ label: opts.label }) } : {},
      );
      return (Volumes ?? []).map((v): VolumeSummary => {
        const labels = v.Labels ?? {};
        const sandbox = labels[LABELS.sandbox];
        const created = isoOrUndefined((v as { CreatedAt?: string }).CreatedAt);
        return {
          name: v.Name,
          driver: v.Driver,
          mountpoint: v.Mountpoint,
          scope: v.Scope,
          labels,
          ...(created ? { created } : {}),
          ...(sandbox ? { sandbox } : {}),
        };
      });
    });
  }
}
