/**
 * What a daemon start does about deployments a previous process left behind (it was killed,
 * or crashed, mid-deploy):
 *
 * 1. `recoverInterrupted` (SQLite only): every deployment not in a final status becomes
 *    `failed` with "interrupted: the daemon stopped during <stage>", its open stage ends as
 *    `interrupted`, and the port it held is released — in one transaction.
 * 2. `reapOrphans` (Docker): every container of this instance labelled with a deployment of
 *    this state database that is not `running` is removed; a running deployment's container
 *    that an interrupted switch-over had set aside gets its serving name and its network
 *    aliases back; source folders of deployments that no longer need them are deleted.
 *    A `running` deployment keeps its container whatever the container's state: a suspended
 *    sandbox's are stopped on purpose.
 *
 * Only this instance's containers are listed (the label-scoped Docker client); this daemon's
 * own containers of deployments its database does not know (a wiped state directory) are the
 * reconciler's.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../runtime/log';
import { LABELS } from '../docker/labels';
import { networkName, serviceAliases, servingContainerName } from '../sandbox/names';
import type { DeployDocker, LabelledContainer } from './deploy-docker';
import { releaseDeploymentPorts } from './container-runtime';
import { isServing, type DeploymentRow, type DeploymentStore } from './deployment-store';
import type { DeployPorts, DeployStage, DeploymentStatus } from './types';

const STAGE_OF_STATUS: Partial<Record<DeploymentStatus, DeployStage>> = {
  preparing: 'prepare',
  building: 'build',
  starting: 'start',
  'health-checking': 'health-check',
};

export function recoverInterrupted(deps: { store: DeploymentStore; ports: DeployPorts; now: () => Date; log: Logger }): DeploymentRow[] {
  const rows = deps.store.nonFinal();
  for (const row of rows) {
    const at = deps.now();
    const open = deps.store.openStage(row.id);
    const stage = open ?? STAGE_OF_STATUS[row.status];
    const diagnosis = stage ? `interrupted: the daemon stopped during ${stage}` : 'interrupted: the daemon stopped while it was queued';
    deps.store.transaction(() => {
      if (open) deps.store.endStage(row.id, open, at, 'interrupted');
      if (row.hostPort !== null || row.ports !== null) {
        try {
          releaseDeploymentPorts(deps.ports, row.id);
        } catch (e) {
          deps.log.warn('Could not release the port of an interrupted deployment', { deployment: row.id, port: row.hostPort, error: e });
        }
      }
      deps.store.update(row.id, { status: 'failed', diagnosis, finishedAt: at.toISOString() });
      deps.store.appendLog(row.id, 'daemon', diagnosis, at);
    });
    deps.store.finishLog(row);
    deps.log.warn(`Deployment of ${row.service} into sandbox ${row.sandbox} was interrupted`, { deployment: row.id, stage: stage ?? 'queued' });
  }
  return rows;
}

export interface ReapReport {
  /** Names of the containers removed. */
  readonly removed: string[];
  /** Serving names given back to the containers of running deployments. */
  readonly restored: string[];
}

export async function reapOrphans(deps: {
  store: DeploymentStore;
  docker: DeployDocker;
  sourcesDir: string;
  log: Logger;
  /** Deployments running in this process are left alone. */
  isActive: (id: string) => boolean;
}): Promise<ReapReport> {
  const containers = await deps.docker.listContainers([`${LABELS.managed}=true`, LABELS.deployment]);
  const ids = [...new Set(containers.map((c) => c.labels[LABELS.deployment]!).filter(Boolean))];
  const rows = deps.store.statusesOf(ids);
  const removed: string[] = [];
  const restored: string[] = [];

  for (const c of containers) {
    const row = rows.get(c.labels[LABELS.deployment]!);
    if (!row || isServing(row.status) || deps.isActive(row.id)) continue;
    try {
      await deps.docker.removeContainer(c.id);
      removed.push(c.name);
      deps.log.info(`Removed container ${c.name} left by deployment ${row.id} (${row.status})`);
    } catch (e) {
      deps.log.warn(`Could not remove container ${c.name} left by deployment ${row.id}`, { error: (e as Error).message });
    }
  }

  for (const c of containers) {
    const row = rows.get(c.labels[LABELS.deployment]!);
    if (!row || !isServing(row.status)) continue;
    if (await restoreServing(deps, c, row)) restored.push(servingContainerName(row.sandbox, row.service));
  }

  removeStaleSources(deps);
  return { removed, restored };
}

/**
 * Gives a running deployment's container its serving identity back — the serving name and
 * the service's aliases on the sandbox network — when an interrupted switch-over left it
 * without (containers of earlier versions, named `sandbox-{sandbox}-{service}`, get them too,
 * so the old hostname keeps answering). Answers whether the name was given back.
 */
async function restoreServing(deps: { docker: DeployDocker; log: Logger }, c: LabelledContainer, row: DeploymentRow): Promise<boolean> {
  const name = servingContainerName(row.sandbox, row.service);
  const owner = { sandbox: row.sandbox, service: row.service };
  let renamed = false;
  try {
    if (c.name !== name && !(await deps.docker.inspectContainer(name))) {
      await deps.docker.renameContainer(c.id, name, owner);
      renamed = true;
      deps.log.info(`Gave container ${c.id.slice(0, 12)} of deployment ${row.id} its name ${name} back`);
    }
    const aliases = serviceAliases(row.sandbox, row.service);
    const state = await deps.docker.inspectContainer(c.id);
    const network = networkName(row.sandbox);
    const current = state?.aliases[network];
    if (state && current && !aliases.every((a) => current.includes(a))) {
      await deps.docker.reattach(network, c.id, aliases, owner);
      deps.log.info(`Gave container ${c.id.slice(0, 12)} of deployment ${row.id} the aliases ${aliases.join(', ')} on ${network}`);
    }
  } catch (e) {
    deps.log.warn(`Could not give container ${c.name} of deployment ${row.id} its serving name and aliases back`, { error: (e as Error).message });
  }
  return renamed;
}

/** Source folders are kept only for running deployments (command builds mount them) and active ones. */
function removeStaleSources(deps: { store: DeploymentStore; sourcesDir: string; isActive: (id: string) => boolean }): void {
  let entries: string[];
  try {
    entries = readdirSync(deps.sourcesDir);
  } catch {
    return;
  }
  const keep = new Set(deps.store.running().map((r) => r.id));
  for (const entry of entries) {
    if (keep.has(entry) || deps.isActive(entry)) continue;
    rmSync(join(deps.sourcesDir, entry), { recursive: true, force: true });
  }
}
