/**
 * Puts the gateways into the daemon: the route source over the SandboxStore and the project
 * files, the shared gateway, a gateway for every existing sandbox, and from then on one more
 * for each sandbox created and one less for each deleted (followed through the store's
 * change events). `stop()` takes it all down.
 */
import type { PortLease } from '../../../schemas/src/sandbox';
import type { Logger } from '../runtime/log';
import { DEFAULT_SHARED_GATEWAY_PORT, Gateways, type GatewayPorts } from './gateways';
import type { ReverseProxyOptions } from './proxy';
import { SandboxRouteSource, type ProjectLoader, type SandboxReader } from './route-source';

/** The part of the PortAllocator the gateways use. */
export interface GatewayPortAllocator {
  allocate(req: { sandbox: string; purpose: 'gateway' }): number;
  release(port: number): void;
  heldBy(sandbox: string): PortLease[];
}

export interface GatewaySetup {
  readonly sandboxes: SandboxReader;
  readonly ports: GatewayPortAllocator;
  readonly loadProject: ProjectLoader;
  readonly log: Logger;
  /** See {@link sharedGatewayPort}. */
  readonly sharedPort?: number | null;
  readonly sharedPortFallback?: boolean;
  readonly proxy?: ReverseProxyOptions;
}

export interface RunningGateways {
  readonly gateways: Gateways;
  readonly source: SandboxRouteSource;
  stop(): Promise<void>;
}

/** Gateway ports from the allocator: the sandbox's recorded gateway port, or a new one. */
export function allocatorPorts(allocator: GatewayPortAllocator): GatewayPorts {
  return {
    portFor: (sandbox) =>
      allocator.heldBy(sandbox).find((lease) => lease.purpose === 'gateway')?.port ?? allocator.allocate({ sandbox, purpose: 'gateway' }),
    replace: (sandbox, taken) => {
      allocator.release(taken);
      return allocator.allocate({ sandbox, purpose: 'gateway' });
    },
  };
}


export async function startGateways(setup: GatewaySetup): Promise<RunningGateways> {
  const source = new SandboxRouteSource({ sandboxes: setup.sandboxes, loadProject: setup.loadProject, log: setup.log });
  const gateways = new Gateways({
    source,
    log: setup.log,
    ports: allocatorPorts(setup.ports),
    sharedPort: setup.sharedPort === undefined ? DEFAULT_SHARED_GATEWAY_PORT : setup.sharedPort,
    sharedPortFallback: setup.sharedPortFallback ?? setup.sharedPort === undefined,
    ...(setup.proxy ? { proxy: setup.proxy } : {}),
  });
  const opening = (name: string) =>
    gateways.open(name).catch((e: unknown) => setup.log.error('Cannot start sandbox gateway', { sandbox: name, error: (e as Error).message }));
  const closing = async (name: string) => {
    await gateways.close(name);
    // A sandbox deleted by sandbox/delete had its ports released already; one removed otherwise
    // (its creation failed half-way) may still hold the gateway port taken for it.
    if (setup.sandboxes.get(name)) return;
    for (const lease of setup.ports.heldBy(name)) if (lease.purpose === 'gateway') setup.ports.release(lease.port);
  };
  const stopFollowing = setup.sandboxes.onChange((event) => {
    if (event.kind === 'created') void opening(event.name);
    else if (event.kind === 'deleted') {
      closing(event.name).catch((e: unknown) => setup.log.warn('Cannot stop sandbox gateway', { sandbox: event.name, error: (e as Error).message }));
    }
  });
  try {
    await gateways.start(setup.sandboxes.list().filter((s) => s.state !== 'deleting').map((s) => s.name));
  } catch (e) {
    stopFollowing();
    source.close();
    await gateways.stop();
    throw e;
  }
  return {
    gateways,
    source,
    stop: async () => {
      stopFollowing();
      source.close();
      await gateways.stop();
    },
  };
}
