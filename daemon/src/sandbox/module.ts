/**
 * Assembles the sandbox side of the daemon (for the composition root): the stores over the
 * state database, the port allocator, the environment with its secret box, Docker access
 * for sandbox networks — and, once the deploy pipeline is built from those, the handlers.
 */
import type Docker from 'dockerode';
import type { Logger, Redactor } from '../runtime/log';
import type { Store } from '../state/store';
import { auditHandlers } from '../methods/audit';
import { sandboxHandlers } from '../methods/sandbox';
import { loadProject } from '../project/load';
import type { DeployControl } from './deploy-control';
import { EnvironmentStore } from './environment';
import { PortAllocator, type PortPurpose, type PortRange } from './ports';
import { SandboxDocker } from './sandbox-docker';
import { SandboxService } from './sandbox-service';
import { SandboxStore } from './sandbox-store';
import { SecretBox } from './secrets';
import { SnapshotStore } from './snapshots';
import { TemplateStore } from './templates';

export interface SandboxModuleOptions {
  readonly store: Store;
  readonly stateDir: string;
  readonly redactor: Redactor;
  readonly log: Logger;
  /** The connected engine's dockerode (throws DockerUnavailable when there is none). */
  readonly docker: () => Docker;
  /** Labels added to every Docker object created for sandboxes. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  readonly portRanges?: Partial<Record<PortPurpose, PortRange>>;
}

export interface SandboxModule {
  readonly sandboxes: SandboxStore;
  readonly ports: PortAllocator;
  readonly environments: EnvironmentStore;
  readonly templates: TemplateStore;
  readonly snapshots: SnapshotStore;
  readonly docker: SandboxDocker;
  readonly loadProject: typeof loadProject;
  /** The handlers of project/*, sandbox/*, env/*, template/*, snapshot/* and audit/list. */
  handlers(deps: { deploys?: DeployControl }): ReturnType<typeof sandboxHandlers> & ReturnType<typeof auditHandlers>;
}

export function openSandboxModule(opts: SandboxModuleOptions): SandboxModule {
  const sandboxes = new SandboxStore(opts.store);
  const ports = new PortAllocator(opts.store, { ranges: opts.portRanges, onChange: (name) => sandboxes.changed(name) });
  const environments = new EnvironmentStore(opts.store, new SecretBox(opts.stateDir), opts.redactor);
  const secrets = environments.registerAll();
  if (secrets) opts.log.debug('Registered stored secrets for masking', { count: secrets });
  const templates = new TemplateStore(opts.store);
  const snapshots = new SnapshotStore(opts.store);
  const docker = new SandboxDocker({ docker: opts.docker, extraLabels: opts.extraLabels });
  const module = { sandboxes, ports, environments, templates, snapshots, docker, loadProject };
  return {
    ...module,
    handlers: ({ deploys }) => {
      const service = new SandboxService({
        ...module,
        ...(deploys ? { deploys } : {}),
        log: opts.log,
        redact: (text) => opts.redactor.redactText(text),
      });
      return { ...sandboxHandlers({ ...module, service }), ...auditHandlers({ store: opts.store }) };
    },
  };
}

/**
 * Port ranges from the environment: BRANCHBOX_SERVICE_PORTS and BRANCHBOX_GATEWAY_PORTS, each
 * `from-to` (e.g. `42000-42999`). @throws Error naming the variable when one is malformed.
 */
export function portRangesFromEnv(env: NodeJS.ProcessEnv): Partial<Record<PortPurpose, PortRange>> {
  const ranges: Partial<Record<PortPurpose, PortRange>> = {};
  for (const [purpose, variable] of [
    ['service', 'BRANCHBOX_SERVICE_PORTS'],
    ['gateway', 'BRANCHBOX_GATEWAY_PORTS'],
  ] as const) {
    const text = env[variable];
    if (text === undefined || text === '') continue;
    const match = /^(\d+)-(\d+)$/.exec(text.trim());
    if (!match || Number(match[1]) < 1 || Number(match[2]) > 65535 || Number(match[1]) > Number(match[2])) {
      throw new Error(`${variable}="${text}" is not a port range: write from-to, e.g. 42000-42999`);
    }
    ranges[purpose] = { from: Number(match[1]), to: Number(match[2]) };
  }
  return ranges;
}

/** `k=v,k2=v2` (env BRANCHBOX_EXTRA_LABELS) → labels; entries without "=" are ignored. */
export function parseLabelList(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of (text ?? '').split(',')) {
    const eq = entry.indexOf('=');
    if (eq > 0) labels[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return labels;
}
