/**
 * Where a forward's new connection goes, read from the container model (this instance's
 * containers, their labels and published ports, kept current by the engine's events): the
 * loopback port the engine publishes `containerPort` on, for the container serving the service
 * in the sandbox. Read at each connection, so a redeploy's switch-over is followed at once.
 */
import { servingContainerName } from '../../../schemas/src/docker-names';
import type { ContainerModel } from '../docker/container-model';
import { LABELS } from '../docker/labels';
import type { ContainerSummary } from '../docker/types';
import type { Resolution } from './forward-listener';

export type TargetResolver = (sandbox: string, service: string, containerPort: number) => Promise<Resolution>;

export function servingTargets(model: Pick<ContainerModel, 'list'>, instance: string): TargetResolver {
  return async (sandbox, service, containerPort) => {
    let containers: ContainerSummary[];
    try {
      containers = await model.list({ sandbox, label: [`${LABELS.instance}=${instance}`, `${LABELS.service}=${service}`] });
    } catch (e) {
      return { reason: `the containers cannot be listed: ${(e as Error).message}` };
    }
    const serving = containers.find((c) => c.name === servingContainerName(sandbox, service));
    if (!serving) return { reason: `${service} is not deployed in sandbox ${sandbox}` };
    if (serving.state !== 'running') return { reason: `${service} in sandbox ${sandbox} is ${serving.state}` };
    const tcp = serving.ports.filter((p) => p.protocol === 'tcp' && p.host !== undefined);
    const port = tcp.find((p) => p.container === containerPort && p.hostIp !== '::') ?? tcp.find((p) => p.container === containerPort);
    if (!port?.host) {
      const published = [...new Set(tcp.map((p) => p.container))].sort((a, b) => a - b);
      return {
        reason: `${service} in sandbox ${sandbox} does not publish port ${containerPort}/tcp (published: ${published.join(', ') || 'none'})`,
      };
    }
    return { target: { sandbox, containerId: serving.id, hostPort: port.host } };
  };
}
