/**
 * How a sandbox container is confined: by default every capability dropped (a web service on
 * any port needs none: the engine lets unprivileged processes bind ports below 1024 inside a
 * container), no-new-privileges, and a pids limit; it runs as its image's user. A service's
 * `security:` in branchbox.yaml changes what it names. Privileged containers are never made.
 *
 * The pids limit counts processes and threads: 512 leaves room for a runtime's thread pools
 * and worker processes (a JVM or a Node server with workers runs a few dozen to a couple of
 * hundred), and stops a fork bomb long before it exhausts the host's pids, which every
 * other sandbox and the host itself share.
 */
import { DEFAULT_PIDS_LIMIT } from '../../../schemas/src/project';
import type { ContainerSecurity } from './deploy-docker';
import type { DeployServiceConfig } from './types';

/** The container's confinement: the defaults, with what the service's branchbox.yaml changes. */
export function containerSecurity(overrides: DeployServiceConfig['security'] = {}): ContainerSecurity {
  return {
    noNewPrivileges: overrides.noNewPrivileges ?? true,
    capDrop: ['ALL'],
    capAdd: [...(overrides.capAdd ?? [])],
    pidsLimit: overrides.pidsLimit ?? DEFAULT_PIDS_LIMIT,
    ...(overrides.user !== undefined ? { user: overrides.user } : {}),
  };
}

/** Whether a container `User` (`name`, `uid`, `name:group`…; empty for the image default) is root. */
export function isRoot(user: string | undefined): boolean {
  const name = (user ?? '').split(':')[0]!.trim();
  return name === '' || name === 'root' || name === '0';
}

/**
 * The deployment log's warning when the container runs as root, or undefined. `imageUser` is
 * the image's USER (`Config.User`), used unless the service sets `security.user`.
 */
export function rootWarning(service: string, security: ContainerSecurity, imageUser: string | undefined): string | undefined {
  const user = security.user ?? imageUser;
  if (!isRoot(user)) return undefined;
  const why = security.user !== undefined ? `security.user is ${security.user}` : user ? `the image's USER is ${user}` : 'the image sets no USER';
  const caps = security.capAdd.length ? `it has only the capabilities security.capAdd gives back (${security.capAdd.join(', ')})` : 'it has no capabilities all the same';
  return `Warning: service ${service} runs as root in its container (${why}): set USER in the Dockerfile or security.user in branchbox.yaml; ${caps}`;
}
