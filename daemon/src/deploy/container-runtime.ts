/**
 * What a deployment's container gets besides its image, from the service's configuration:
 * its published ports — the primary `port` on the deployment's host port, every further
 * compose `ports` entry on a loopback port of its own, each a lease of the allocator held by
 * the deployment — and its mounts: a named volume is the sandbox's Docker volume
 * (`volumeName`), created with the sandbox's owner labels unless it exists (it outlives
 * redeploys and suspension); an anonymous one is the engine's; a bind mounts a path of the
 * deployed commit's export (which then stays while the deployment serves: `keepSource`).
 */
import { realpathSync } from 'node:fs';
import { volumeName } from '../../../schemas/src/docker-names';
import { containedRealPath } from './contained-path';
import type { DeployDocker, ResolvedMount } from './deploy-docker';
import type { DeployPorts, DeployServiceConfig, ServedPort } from './types';

/**
 * The container's published ports; allocates a loopback port for each published one but the
 * primary (`primaryHostPort`, allocated already). Call inside the store's transaction.
 */
export function publishedPorts(
  config: DeployServiceConfig,
  primaryHostPort: number | undefined,
  allocate: () => number,
): ServedPort[] {
  const out: ServedPort[] = [];
  const primary = config.port !== undefined && primaryHostPort !== undefined ? { container: config.port, hostPort: primaryHostPort } : undefined;
  let primaryListed = false;
  for (const p of config.ports ?? []) {
    if (out.some((o) => o.container === p.container && o.protocol === p.protocol)) continue;
    const isPrimary = primary !== undefined && p.container === primary.container && p.protocol === 'tcp';
    primaryListed ||= isPrimary;
    out.push({
      container: p.container,
      protocol: p.protocol,
      hostPort: isPrimary ? primary.hostPort : allocate(),
      ...(p.published !== undefined ? { published: p.published } : {}),
    });
  }
  if (primary && !primaryListed) out.unshift({ container: primary.container, protocol: 'tcp', hostPort: primary.hostPort });
  return out;
}

/** Releases every port the deployment holds. */
export function releaseDeploymentPorts(ports: DeployPorts, deploymentId: string): void {
  for (const port of ports.heldByDeployment(deploymentId)) ports.release(port);
}

/**
 * The service's mounts with their sources resolved (named volumes ensured); `binds` says
 * whether one mounts a path of the export.
 * @throws DeployCause when a bind's path does not exist or leads out of the repository.
 */
export async function resolveMounts(
  config: DeployServiceConfig,
  sandbox: string,
  exportDir: string,
  docker: DeployDocker,
): Promise<{ mounts: ResolvedMount[]; binds: boolean }> {
  const mounts: ResolvedMount[] = [];
  let binds = false;
  const realExport = realpathSync(exportDir);
  for (const v of config.volumes ?? []) {
    if (v.type === 'volume' && v.source !== undefined) {
      const name = volumeName(sandbox, v.source);
      await docker.ensureVolume(name, { sandbox });
      mounts.push({ type: 'volume', source: name, target: v.target, readOnly: v.readOnly });
    } else if (v.type === 'bind') {
      const source = containedRealPath({
        base: realExport,
        rel: v.source ?? '.',
        within: realExport,
        what: `the bind mount source "${v.source ?? '.'}" (for ${v.target})`,
        withinName: 'the repository',
      });
      binds = true;
      mounts.push({ type: 'bind', source, target: v.target, readOnly: v.readOnly });
    } else {
      mounts.push({ type: v.type, target: v.target, readOnly: v.readOnly });
    }
  }
  return { mounts, binds };
}
