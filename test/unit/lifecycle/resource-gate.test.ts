/**
 * Resource gating of deploys as pure logic: per container (the sandbox's resources), per
 * sandbox (services kept plus services deployed), host memory threshold (fake host).
 */
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../schemas/src/sandbox';
import { ResourceGate, type ResourceLimits } from '../../../daemon/src/lifecycle/resource-gate';
import type { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';

const MiB = 2 ** 20;
const project = {
  services: {
    account: { resources: { nanoCpus: 500_000_000, memoryBytes: 128 * MiB } },
    payment: { resources: { nanoCpus: 500_000_000, memoryBytes: 128 * MiB } },
    free: { resources: {} },
  },
} as never;

function sandbox(fields: Partial<Sandbox> = {}): Sandbox {
  return {
    name: 'qa',
    state: 'active',
    owner: 'me',
    repoPath: '/repo',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    network: 'sandbox-qa',
    services: [],
    ports: [],
    ...fields,
  };
}

function gate(s: Sandbox, limits: ResourceLimits, host = { total: 1000 * MiB, free: 500 * MiB }) {
  return new ResourceGate({
    sandboxes: { get: () => s } as unknown as SandboxStore,
    loadProject: () => project,
    limits,
    host: { totalmem: () => host.total, freemem: () => host.free },
  });
}

const ask = (services: string[]) => ({ repoPath: '/repo', sandbox: 'qa', services });
const serving = (service: string) => ({ service, route: 'sandbox' as const, containerId: `c-${service}`, hostPort: 1 });

describe('ResourceGate', () => {
  it('allows a deploy within every limit', () => {
    expect(() => gate(sandbox(), { sandboxMemoryBytes: 256 * MiB, sandboxNanoCpus: 1e9, hostMemoryThreshold: 0.9 }).check(ask(['account', 'payment']))).not.toThrow();
  });

  it('counts the services the sandbox keeps serving, not the ones redeployed', () => {
    const s = sandbox({ services: [serving('account'), serving('payment')] });
    expect(() => gate(s, { sandboxMemoryBytes: 256 * MiB }).check(ask(['account']))).not.toThrow();
    expect(() => gate(s, { sandboxMemoryBytes: 200 * MiB }).check(ask(['account']))).toThrow(
      /would use 256 MiB of memory \(payment 128 MiB \+ account 128 MiB\), above the sandbox limit of 200 MiB; .*--sandbox-memory/,
    );
    expect(() => gate(s, { sandboxNanoCpus: 0.75e9 }).check(ask(['account']))).toThrow(/would use 1 CPU .*above the sandbox limit of 0.75 CPUs/);
  });

  it("refuses a container above the sandbox's per-container resources, or unlimited when it has limits", () => {
    const s = sandbox({ resources: { memoryBytes: 64 * MiB } });
    expect(() => gate(s, {}).check(ask(['account']))).toThrow(/Service account asks for 128 MiB, above the limit of sandbox qa per container \(64 MiB\)/);
    expect(() => gate(s, {}).check(ask(['free']))).toThrow(/Service free asks for unlimited memory/);
  });

  it('refuses a deploy that would push host memory above the threshold', () => {
    const g = gate(sandbox(), { hostMemoryThreshold: 0.6 }, { total: 1000 * MiB, free: 450 * MiB });
    expect(() => g.check(ask(['account']))).toThrow(/would bring host memory use to 678 MiB of 1000 MiB \(68%\), above the threshold of 60%/);
    expect(() => gate(sandbox(), { hostMemoryThreshold: 0.9 }).check(ask(['free']))).not.toThrow();
  });

  it('does not take a service without limits for one that costs nothing', () => {
    // Deployed with a sandbox limit: refused, naming the service and what to set.
    expect(() => gate(sandbox(), { sandboxMemoryBytes: 1024 * MiB }).check(ask(['account', 'free']))).toThrow(
      /Deploying account, free into sandbox qa: service free sets no resources\.memory, so the sandbox limit of 1024 MiB cannot be kept; set resources\.memory in branchbox\.yaml or unset --sandbox-memory\./,
    );
    expect(() => gate(sandbox(), { sandboxNanoCpus: 4e9 }).check(ask(['free']))).toThrow(/service free sets no resources\.cpus/);
    // Kept serving without limits: the same.
    expect(() => gate(sandbox({ services: [serving('free')] }), { sandboxMemoryBytes: 1024 * MiB }).check(ask(['account']))).toThrow(/service free sets no resources\.memory/);
    // Host memory: it counts as a reservation of 256 MiB (500 used + 256 > 70% of 1000).
    const g = gate(sandbox(), { hostMemoryThreshold: 0.7 });
    expect(() => g.check(ask(['free']))).toThrow(/would bring host memory use to 756 MiB of 1000 MiB \(76%\), above the threshold of 70% \(it adds free, which sets no resources\.memory: counted as 256 MiB\)/);
    expect(() => g.check(ask(['account']))).not.toThrow();
  });

  it('answers with the ResourceLimit error (code 1403)', () => {
    expect(() => gate(sandbox(), { sandboxMemoryBytes: 1 }).check(ask(['account']))).toThrow(
      expect.objectContaining({ errorName: 'ResourceLimit', code: 1403, data: expect.objectContaining({ resource: 'memory' }) }),
    );
  });
});
