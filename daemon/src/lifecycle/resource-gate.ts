/**
 * Resource gating of deployments, checked before `deploy/start` queues anything:
 *
 * - per container: a service whose branchbox.yaml resources exceed the sandbox's own
 *   `resources` (its per-container limits) is refused;
 * - per sandbox: the CPUs and memory of every container the sandbox would run after the
 *   deploy (the services it serves and is not redeploying, plus the requested ones, each at
 *   its branchbox.yaml limits) must stay within `--sandbox-cpus` / `--sandbox-memory`;
 * - host: the host's used memory plus the memory the deploy adds must stay below
 *   `--host-memory-threshold` of the total (os.totalmem/os.freemem).
 *
 * A service without a limit is never taken for one that costs nothing: with a per-sandbox
 * limit of a resource, every service the sandbox would run must declare that resource (the
 * sum of unlimited containers is unknowable), or the deploy is refused naming it; for the
 * host memory estimate it counts as {@link UNLIMITED_MEMORY_ESTIMATE}. The error is
 * `ResourceLimit`, naming the service, the numbers and the limit to change.
 */
import { totalmem, freemem } from 'node:os';
import type { Project, Resources } from '../../../schemas/src/project';
import { RpcError } from '../rpc/errors';
import type { SandboxStore } from '../sandbox/sandbox-store';

export interface ResourceLimits {
  /** The most CPUs (in 1e-9 units) one sandbox's containers may add up to. */
  readonly sandboxNanoCpus?: number;
  /** The most memory one sandbox's containers may add up to. */
  readonly sandboxMemoryBytes?: number;
  /** The fraction of host memory (0..1] a deploy may not push the host's use above. */
  readonly hostMemoryThreshold?: number;
}

export interface ResourceGateOptions {
  readonly sandboxes: SandboxStore;
  readonly loadProject: (repoPath: string) => Pick<Project, 'services'>;
  readonly limits: ResourceLimits;
  readonly host?: { totalmem(): number; freemem(): number };
}

export interface DeployAsk {
  readonly repoPath: string;
  readonly sandbox: string;
  readonly services: readonly string[];
}

/** What a container without resources.memory is counted as in the host memory estimate. */
export const UNLIMITED_MEMORY_ESTIMATE = 256 * 2 ** 20;

const cpus = (nano: number) => `${+(nano / 1e9).toFixed(2)} CPU${nano === 1e9 ? '' : 's'}`;
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

export class ResourceGate {
  private readonly host;

  constructor(private readonly opts: ResourceGateOptions) {
    this.host = opts.host ?? { totalmem, freemem };
  }

  /** @throws RpcError ResourceLimit */
  check(ask: DeployAsk): void {
    const sandbox = this.opts.sandboxes.get(ask.sandbox);
    if (!sandbox) return; // the pipeline answers SandboxNotFound
    const limits = this.opts.limits;
    let project: Pick<Project, 'services'>;
    try {
      project = this.opts.loadProject(ask.repoPath);
    } catch {
      return; // the pipeline answers ConfigInvalid / FileNotFound
    }
    const asked = ask.services.map((service) => ({ service, r: project.services[service]?.resources ?? {} }));

    for (const { service, r } of asked) this.checkContainer(ask.sandbox, service, r, sandbox.resources);

    const kept = sandbox.services
      .filter((s) => s.containerId !== undefined && !ask.services.includes(s.service))
      .map((s) => ({ service: s.service, r: this.servingResources(sandbox.repoPath ?? ask.repoPath, s.service, project) }));
    const all = [...kept, ...asked];
    const sum = (key: keyof Resources) => all.reduce((n, s) => n + (s.r[key] ?? 0), 0);
    const detail = (key: keyof Resources, fmt: (n: number) => string) =>
      all.filter((s) => s.r[key]).map((s) => `${s.service} ${fmt(s.r[key]!)}`).join(' + ');
    const what = `Deploying ${ask.services.join(', ')} into sandbox ${ask.sandbox}`;

    const unlimited = (key: keyof Resources, limit: number | undefined, fmt: (n: number) => string, field: string, flag: string) => {
      const free = limit === undefined ? undefined : all.find((s) => s.r[key] === undefined);
      if (!free) return;
      throw new RpcError(
        'ResourceLimit',
        `${what}: service ${free.service} sets no resources.${field}, so the sandbox limit of ${fmt(limit!)} cannot be kept; set resources.${field} in branchbox.yaml or unset ${flag}.`,
        { sandbox: ask.sandbox, service: free.service, resource: key === 'nanoCpus' ? 'cpus' : 'memory', limit: limit! },
      );
    };
    unlimited('nanoCpus', limits.sandboxNanoCpus, cpus, 'cpus', '--sandbox-cpus');
    unlimited('memoryBytes', limits.sandboxMemoryBytes, mib, 'memory', '--sandbox-memory');

    if (limits.sandboxNanoCpus !== undefined && sum('nanoCpus') > limits.sandboxNanoCpus) {
      throw new RpcError(
        'ResourceLimit',
        `${what} would use ${cpus(sum('nanoCpus'))} (${detail('nanoCpus', cpus)}), above the sandbox limit of ${cpus(limits.sandboxNanoCpus)}; lower resources.cpus in branchbox.yaml or raise --sandbox-cpus.`,
        { sandbox: ask.sandbox, resource: 'cpus', requested: sum('nanoCpus'), limit: limits.sandboxNanoCpus },
      );
    }
    if (limits.sandboxMemoryBytes !== undefined && sum('memoryBytes') > limits.sandboxMemoryBytes) {
      throw new RpcError(
        'ResourceLimit',
        `${what} would use ${mib(sum('memoryBytes'))} of memory (${detail('memoryBytes', mib)}), above the sandbox limit of ${mib(limits.sandboxMemoryBytes)}; lower resources.memory in branchbox.yaml or raise --sandbox-memory.`,
        { sandbox: ask.sandbox, resource: 'memory', requested: sum('memoryBytes'), limit: limits.sandboxMemoryBytes },
      );
    }
    if (limits.hostMemoryThreshold !== undefined) {
      const total = this.host.totalmem();
      const used = total - this.host.freemem();
      const adds = asked.reduce((n, s) => n + (s.r.memoryBytes ?? UNLIMITED_MEMORY_ESTIMATE), 0);
      if ((used + adds) / total > limits.hostMemoryThreshold) {
        const each = asked
          .map((s) => (s.r.memoryBytes !== undefined ? `${s.service} ${mib(s.r.memoryBytes)}` : `${s.service}, which sets no resources.memory: counted as ${mib(UNLIMITED_MEMORY_ESTIMATE)}`))
          .join(' + ');
        throw new RpcError(
          'ResourceLimit',
          `${what} would bring host memory use to ${mib(used + adds)} of ${mib(total)} (${Math.round(((used + adds) / total) * 100)}%), above the threshold of ${Math.round(limits.hostMemoryThreshold * 100)}% (it adds ${each}); suspend or delete sandboxes, or raise --host-memory-threshold.`,
          { sandbox: ask.sandbox, resource: 'host-memory', requested: used + adds, limit: Math.floor(total * limits.hostMemoryThreshold) },
        );
      }
    }
  }

  private checkContainer(sandbox: string, service: string, r: Resources, limit: Resources | undefined): void {
    if (!limit) return;
    if (limit.nanoCpus !== undefined && (r.nanoCpus === undefined || r.nanoCpus > limit.nanoCpus)) {
      throw new RpcError(
        'ResourceLimit',
        `Service ${service} asks for ${r.nanoCpus === undefined ? 'unlimited CPU' : cpus(r.nanoCpus)}, above the limit of sandbox ${sandbox} per container (${cpus(limit.nanoCpus)}); set resources.cpus in branchbox.yaml or change the sandbox's resources (sandbox/update).`,
        { sandbox, service, resource: 'cpus', limit: limit.nanoCpus },
      );
    }
    if (limit.memoryBytes !== undefined && (r.memoryBytes === undefined || r.memoryBytes > limit.memoryBytes)) {
      throw new RpcError(
        'ResourceLimit',
        `Service ${service} asks for ${r.memoryBytes === undefined ? 'unlimited memory' : mib(r.memoryBytes)}, above the limit of sandbox ${sandbox} per container (${mib(limit.memoryBytes)}); set resources.memory in branchbox.yaml or change the sandbox's resources (sandbox/update).`,
        { sandbox, service, resource: 'memory', limit: limit.memoryBytes },
      );
    }
  }

  private servingResources(repoPath: string, service: string, fallback: Pick<Project, 'services'>): Resources {
    try {
      return this.opts.loadProject(repoPath).services[service]?.resources ?? {};
    } catch {
      return fallback.services[service]?.resources ?? {};
    }
  }
}
