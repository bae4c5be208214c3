/**
 * Assembles the sandbox lifecycle for the composition root: suspend/resume over the sandbox
 * store and Docker, and its handlers.
 */
import type Docker from 'dockerode';
import type { Project } from '../../../schemas/src/project';
import { sandboxLifecycleHandlers } from '../methods/sandbox-lifecycle';
import type { Logger } from '../runtime/log';
import type { SandboxStore } from '../sandbox/sandbox-store';
import { DockerodeLifecycleDocker } from './lifecycle-docker';
import { SandboxSuspension } from './suspension';

export interface LifecycleModuleOptions {
  readonly sandboxes: SandboxStore;
  /** The connected engine's dockerode (throws DockerUnavailable when there is none). */
  readonly docker: () => Docker;
  readonly loadProject: (repoPath: string) => Pick<Project, 'services'>;
  readonly cancelDeploys: (sandbox: string, reason: string) => Promise<void>;
  readonly log: Logger;
}

export interface LifecycleModule {
  readonly suspension: SandboxSuspension;
  readonly handlers: ReturnType<typeof sandboxLifecycleHandlers>;
  stop(): void;
}

export function openLifecycleModule(opts: LifecycleModuleOptions): LifecycleModule {
  const log = opts.log.child({ component: 'lifecycle' });
  const docker = new DockerodeLifecycleDocker(opts.docker);
  const suspension = new SandboxSuspension({
    sandboxes: opts.sandboxes,
    docker,
    cancelDeploys: opts.cancelDeploys,
    loadProject: opts.loadProject,
    log,
  });
  return {
    suspension,
    handlers: sandboxLifecycleHandlers({ suspension }),
    stop: () => undefined,
  };
}
