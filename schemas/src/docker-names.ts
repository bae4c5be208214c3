/**
 * The Docker names of a sandbox's objects, one rule for the daemon and its clients. Sandbox
 * and service names are DNS labels (a-z, 0-9, `-`), so `_` separates them unambiguously:
 *
 * - network: `sandbox-{sandbox}`;
 * - the container serving a service: `sandbox-{sandbox}_{service}`;
 * - a deployment's container before it serves (and a replaced one set aside during a
 *   switch-over): `sandbox-{sandbox}_{service}_{first 8 hex digits of its deployment id}`.
 *
 * Inside a sandbox, services reach each other by network aliases, not container names: the
 * serving container answers on the sandbox network as `{service}` and as
 * `sandbox-{sandbox}-{service}` (the hostname of earlier versions, kept working).
 * - a named volume of a compose project: `sandbox-{sandbox}_{volume}` (one per sandbox).
 *
 * Names are for people; labels are the truth the daemon acts on.
 */

export const networkName = (sandbox: string): string => `sandbox-${sandbox}`;

export const servingContainerName = (sandbox: string, service: string): string => `sandbox-${sandbox}_${service}`;

/** The service `name` is the serving container of in `sandbox`, or undefined (a deployment's container before it serves, another sandbox's). */
export function servingServiceOf(sandbox: string, name: string): string | undefined {
  const prefix = servingContainerName(sandbox, '');
  const rest = name.startsWith(prefix) ? name.slice(prefix.length) : '';
  return rest !== '' && !rest.includes('_') ? rest : undefined;
}

export const deploymentContainerName = (sandbox: string, service: string, deploymentId: string): string =>
  `${servingContainerName(sandbox, service)}_${deploymentId.replace(/-/g, '').slice(0, 8)}`;

/** The hostnames the serving container of a service answers to on its sandbox's network. */
export const serviceAliases = (sandbox: string, service: string): string[] => [service, `sandbox-${sandbox}-${service}`];

/** The Docker volume holding the project volume `volume` (a compose `volumes` key) in `sandbox`. */
export const volumeName = (sandbox: string, volume: string): string => `sandbox-${sandbox}_${volume}`;
