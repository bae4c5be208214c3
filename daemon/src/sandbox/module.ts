/**
 * Assembles the sandbox side of the daemon (for the composition root): the stores over the
 * state database, the port allocator, the environment with its secret box, Docker access
 * for sandbox networks and named volumes' data (snapshots' under `<stateDir>/snapshots/`) — and, once the deploy pipeline is built from those, the handlers.
 */
import type { ScopedDocker } from '../docker/scoped-docker';
import type { Logger } from '../runtime/log';
import type { Redactor } from '../runtime/redactor';
import type { Store } from '../state/store';
import { auditHandlers } from '../methods/audit';
import { sandboxHandlers, type SandboxView } from '../methods/sandbox';
import { loadProject } from '../project/load';
import { loadProjectOffThread } from '../project/off-thread';
import type { DeployControl } from './deploy-control';
import { EnvironmentStore } from './environment';
import { PortAllocator, type PortPurpose, type PortRange } from './ports';
import { SandboxDocker } from './sandbox-docker';
import { SandboxService } from './sandbox-service';
import { SandboxStore } from './sandbox-store';
import { SecretBox } from './secrets';
import { SnapshotFiles } from './snapshot-files';
import { SnapshotStore } from './snapshots';
import { TemplateStore } from './templates';
import { VolumeData } from './volume-data';

export interface SandboxModuleOptions {
  readonly store: Store;
  readonly stateDir: string;
  readonly redactor: Redactor;
  readonly log: Logger;
  /** The daemon's label-scoped Docker client: sandbox networks are created with its labels, sandbox/delete removes only its objects. */
  readonly docker: ScopedDocker;
  readonly portRanges?: Partial<Record<PortPurpose, PortRange>>;
}

export interface SandboxModule {
  readonly sandboxes: SandboxStore;
  readonly ports: PortAllocator;
  readonly environments: EnvironmentStore;
  readonly templates: TemplateStore;
  readonly snapshots: SnapshotStore;
  readonly docker: SandboxDocker;
  readonly volumes: VolumeData;
  readonly snapshotFiles: SnapshotFiles;
  readonly loadProject: typeof loadProject;
  /**
   * The handlers of project/*, sandbox/*, env/*, template/*, snapshot/* and audit/list;
   * `view` completes each sandbox they answer with (its health, from the lifecycle module).
   */
  handlers(deps: { deploys?: DeployControl; view?: SandboxView }): ReturnType<typeof sandboxHandlers> & ReturnType<typeof auditHandlers>;
}

export function openSandboxModule(opts: SandboxModuleOptions): SandboxModule {
  const sandboxes = new SandboxStore(opts.store);
  const ports = new PortAllocator(opts.store, { ranges: opts.portRanges, onChange: (name) => sandboxes.changed(name) });
  const secretBox = new SecretBox(opts.stateDir);
  secretBox.protectKeyFile();
  const environments = new EnvironmentStore(opts.store, secretBox, opts.redactor);
  const secrets = environments.publishSecrets();
  if (secrets) opts.log.debug('Registered stored secrets for masking', { count: secrets });
  // A deleted sandbox's entries go with its row: its secrets become retired values.
  sandboxes.onChange((event) => {
    if (event.kind === 'deleted') environments.publishSecrets();
  });
  const templates = new TemplateStore(opts.store);
  const snapshots = new SnapshotStore(opts.store);
  const docker = new SandboxDocker(opts.docker);
  const volumes = new VolumeData(opts.docker);
  const snapshotFiles = new SnapshotFiles(opts.stateDir);
  const module = { sandboxes, ports, environments, templates, snapshots, docker, volumes, snapshotFiles, loadProject };
  return {
    ...module,
    handlers: ({ deploys, view }) => {
      const service = new SandboxService({
        ...module,
        ...(deploys ? { deploys } : {}),
        log: opts.log,
        redact: (text) => opts.redactor.redactText(text),
      });
      return {
        ...sandboxHandlers({ ...module, service, readProject: loadProjectOffThread, ...(view ? { view } : {}) }),
        ...auditHandlers({ store: opts.store }),
      };
    },
  };
}

