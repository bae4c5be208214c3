/** {@link VolumeClient} over dockerode. */
import type Docker from 'dockerode';
import { LABELS } from '../labels';
import type { LabelSelector, VolumeClient, VolumeSummary } from '../types';
import { isoOrUndefined } from './container-mapping';
import { engineCall, type EngineTarget } from './engine-error';

export class DockerodeVolumeClient implements VolumeClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
  ) {}

  list(opts: { label?: LabelSelector } = {}): Promise<VolumeSummary[]> {
    return engineCall(this.target('list'), async () => {
      const { Volumes } = await this.docker.listVolumes(
        opts.label?.length ? { filters: JSON.stringify({ label: opts.label }) } : {},
      );
      return (Volumes ?? []).map(summaryOf);
    });
  }

  inspect(name: string): Promise<VolumeSummary> {
    return engineCall(this.target('inspect', name), async () =>
      summaryOf((await this.docker.getVolume(name).inspect()) as Docker.VolumeInspectInfo),
    );
  }

  create(spec: { name: string; labels: Readonly<Record<string, string>> }): Promise<VolumeSummary> {
    return engineCall(this.target('create', spec.name), async () => {
      await this.docker.createVolume({ Name: spec.name, Labels: { ...spec.labels } });
      return summaryOf((await this.docker.getVolume(spec.name).inspect()) as Docker.VolumeInspectInfo);
    });
  }

  remove(name: string): Promise<void> {
    return engineCall(this.target('remove', name), async () => {
      await this.docker.getVolume(name).remove();
    });
  }

  private target(action: string, ref?: string): EngineTarget {
    return { action, kind: 'volume', endpoint: this.endpoint, ...(ref !== undefined ? { ref } : {}) };
  }
}

function summaryOf(v: Docker.VolumeInspectInfo): VolumeSummary {
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
}
