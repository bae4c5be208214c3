/** {@link SystemClient} over dockerode. */
import type Docker from 'dockerode';
import type { Cancellable, EngineVersion, SystemClient } from '../types';
import { engineCall } from './engine-error';

/** dockerode's `ping` takes an `abortSignal`, which @types/dockerode does not declare. */
interface AbortablePing {
  ping(opts: { abortSignal?: AbortSignal }): Promise<unknown>;
}

export class DockerodeSystemClient implements SystemClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
  ) {}

  ping(opts: Cancellable = {}): Promise<void> {
    return engineCall({ action: 'ping the engine', endpoint: this.endpoint }, async () => {
      await (this.docker as unknown as AbortablePing).ping(opts.signal ? { abortSignal: opts.signal } : {});
    });
  }

  version(): Promise<EngineVersion> {
    return engineCall({ action: 'ask the engine its version', endpoint: this.endpoint }, async () => {
      const v = await this.docker.version();
      return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
    });
  }

  time(): Promise<number> {
    return engineCall({ action: "read the engine's clock", endpoint: this.endpoint }, async () => {
      const info = (await this.docker.info()) as { SystemTime?: unknown };
      const ms = typeof info.SystemTime === 'string' ? Date.parse(info.SystemTime.replace(/(\.\d{3})\d+/, '$1')) : NaN;
      return Number.isNaN(ms) ? Date.now() : ms;
    });
  }
}
