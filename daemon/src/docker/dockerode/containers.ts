/** {@link ContainerClient} over dockerode. */
import type Docker from 'dockerode';
import type { ContainerClient, ContainerDetails, ContainerSummary, Cancellable, LabelSelector } from '../types';
import { detailsFromInspect, summaryFromInspect, summaryFromListEntry } from './container-mapping';
import { engineCall, type EngineTarget } from './engine-error';

export class DockerodeContainerClient implements ContainerClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
    private readonly now: () => number = Date.now,
  ) {}

  list(opts: { all?: boolean; label?: LabelSelector } = {}): Promise<ContainerSummary[]> {
    return engineCall(this.target('list'), async () => {
      const entries = await this.docker.listContainers({
        all: opts.all ?? false,
        ...(opts.label?.length ? { filters: JSON.stringify({ label: opts.label }) } : {}),
      });
      return entries.map(summaryFromListEntry);
    });
  }

  inspect(id: string): Promise<ContainerDetails> {
    return engineCall(this.target('inspect', id), async () =>
      detailsFromInspect(await this.docker.getContainer(id).inspect(), this.now()),
    );
  }

  /** The summary of one container, straight from the engine (the container model refreshes with it). */
  summary(id: string): Promise<ContainerSummary> {
    return engineCall(this.target('inspect', id), async () =>
      summaryFromInspect(await this.docker.getContainer(id).inspect(), this.now()),
    );
  }

  start(id: string): Promise<void> {
    return engineCall(this.target('start', id), () => ignoreNotModified(this.docker.getContainer(id).start()));
  }

  stop(id: string, opts: { timeoutSeconds?: number } & Cancellable = {}): Promise<void> {
    return engineCall(this.target('stop', id), () =>
      ignoreNotModified(this.docker.getContainer(id).stop({ ...timeout(opts.timeoutSeconds), ...signal(opts.signal) })),
    );
  }

  restart(id: string, opts: { timeoutSeconds?: number } & Cancellable = {}): Promise<void> {
    return engineCall(this.target('restart', id), async () => {
      await this.docker.getContainer(id).restart({ ...timeout(opts.timeoutSeconds), ...signal(opts.signal) });
    });
  }

  remove(id: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return engineCall(this.target('remove', id), async () => {
      await this.docker.getContainer(id).remove({ force: opts.force ?? false, v: opts.volumes ?? false });
    });
  }

  private target(action: string, ref?: string): EngineTarget {
    return { action, kind: 'container', endpoint: this.endpoint, ...(ref !== undefined ? { ref } : {}) };
  }
}

/** Start and stop answer 304 when there is nothing to do; that is success, as for the docker CLI. */
async function ignoreNotModified(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 304) throw e;
  }
}

const timeout = (seconds: number | undefined) => (seconds === undefined ? {} : { t: seconds });
const signal = (s: AbortSignal | undefined) => (s ? { abortSignal: s } : {});
