/**
 * Switch-over, the last stage of a deployment (./deploy-run.ts): the new container, healthy,
 * takes the service over from the one serving it. Not cancellable: once it begins, it
 * completes or rolls back.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LABELS } from '../docker/labels';
import { deploymentContainerName, networkName, serviceAliases, servingContainerName } from '../sandbox/names';
import type { DeployContainerState, DeployDocker } from './deploy-docker';
import type { DeploymentRow } from './deployment-store';
import type { Prepared } from './build-stage';
import type { Created, RunContext, RunDeps } from './deploy-run';
import { releaseDeploymentPorts } from './container-runtime';
import { causeOf } from './diagnosis';

/**
 * The new container takes the service over: the container serving it now — the one the
 * sandbox's serving record names, and whatever else holds the serving name — is set aside
 * under its deployment's name; the new one takes the serving name and, on the sandbox network,
 * the service's aliases; the switch is recorded; the replaced containers are removed. Every
 * rename and removal is refused unless the container is this instance's, of this sandbox and
 * service. A failure before the record puts the replaced containers back.
 */
export async function switchOver(ctx: RunContext, deps: RunDeps, p: Prepared, created: Created): Promise<void> {
  const rec = ctx.recorder;
  const docker = deps.docker();
  const id = created.containerId!;
  const owner = { sandbox: ctx.sandbox, service: ctx.service };
  rec.beginStage('switch-over');
  try {
    const olds = await servingNow(ctx, deps, docker, id);
    const aside: DeployContainerState[] = [];
    // The new container gets the aliases (disconnect + connect, the slow part) while the old
    // ones are set aside (they keep their aliases meanwhile); then it takes the serving name.
    // Only calls on different containers run at once.
    const [setAside, attached] = await Promise.allSettled([
      (async () => {
        for (const old of olds) {
          await docker.renameContainer(old.id, asideName(ctx, old), owner);
          aside.push(old);
          rec.log('daemon', `Set the serving container ${old.id.slice(0, 12)} aside as ${asideName(ctx, old)}`);
        }
        if (aside[0]) deps.store.update(ctx.id, { previousContainer: aside[0].id });
      })(),
      docker.reattach(networkName(ctx.sandbox), id, serviceAliases(ctx.sandbox, ctx.service), owner),
    ]);
    try {
      const failure = [setAside, attached].find((r) => r.status === 'rejected');
      if (failure) throw failure.reason;
      await docker.renameContainer(id, servingContainerName(ctx.sandbox, ctx.service), owner);
    } catch (e) {
      await putBack(ctx, docker, id, aside);
      throw e;
    }
    rec.log('daemon', `Renamed container ${id.slice(0, 12)} to ${servingContainerName(ctx.sandbox, ctx.service)}, reachable in the sandbox as ${serviceAliases(ctx.sandbox, ctx.service).join(' and ')}`);
    const replaced = recordSwitch(ctx, deps, p, created);
    await Promise.all(
      olds.map(async (old) => {
        try {
          await docker.removeContainer(old.id, owner);
          rec.log('daemon', `Removed the previous container ${old.id.slice(0, 12)}`);
        } catch (e) {
          rec.log('daemon', `Could not remove the previous container ${old.id.slice(0, 12)}: ${causeOf(e)} (it is removed at the next daemon start)`);
        }
      }),
    );
    for (const row of replaced) rmSync(join(deps.sourcesDir, row.id), { recursive: true, force: true });
    rec.log(
      'daemon',
      created.job
        ? `The job ${ctx.service}@${p.commit.slice(0, 12)} completed: its exited container is kept as the service's, with its logs`
        : `Serving ${ctx.service}@${p.commit.slice(0, 12)}${created.hostPort !== undefined ? ` at http://127.0.0.1:${created.hostPort}` : ''}`,
    );
    for (const row of replaced) {
      deps.emit({ deployment: row.id, service: row.service, sandbox: row.sandbox, kind: 'status', status: 'superseded', t: deps.now().toISOString() });
    }
    rec.announce(created.job ? 'completed' : 'running');
  } catch (e) {
    // The stage row is still open unless the commit happened (then nothing throws after it).
    if (deps.store.openStage(ctx.id) === 'switch-over') rec.endStage('switch-over', 'failed');
    throw e;
  }
}

/**
 * The containers to replace: the one the serving record names (found by id, whatever its
 * name: containers of earlier versions are named `sandbox-{sandbox}-{service}`) and the one
 * holding the serving name, if another.
 */
async function servingNow(ctx: RunContext, deps: RunDeps, docker: DeployDocker, id: string): Promise<DeployContainerState[]> {
  const recorded = deps.sandboxes.get(ctx.sandbox)?.services.find((s) => s.service === ctx.service)?.containerId;
  const refs = [recorded, servingContainerName(ctx.sandbox, ctx.service)].filter((r): r is string => r !== undefined);
  const found: DeployContainerState[] = [];
  for (const c of await Promise.all(refs.map((ref) => docker.inspectContainer(ref)))) {
    if (c && c.id !== id && !found.some((f) => f.id === c.id)) found.push(c);
  }
  return found;
}

/** Where a replaced container waits for its removal: its deployment's name (its id's, without the label). */
function asideName(ctx: RunContext, old: DeployContainerState): string {
  return deploymentContainerName(ctx.sandbox, ctx.service, old.labels[LABELS.deployment] ?? old.id);
}

/** After a failed take-over: the new container gives the serving name back, the replaced ones get their names back. */
async function putBack(ctx: RunContext, docker: DeployDocker, id: string, aside: readonly DeployContainerState[]): Promise<void> {
  const owner = { sandbox: ctx.sandbox, service: ctx.service };
  await docker.renameContainer(id, deploymentContainerName(ctx.sandbox, ctx.service, ctx.id), owner).catch(() => undefined);
  for (const old of aside) await docker.renameContainer(old.id, old.name, owner).catch(() => undefined);
}

/**
 * Records the switch in one transaction: the service's other running deployments become
 * superseded (their ports released), the sandbox's serving record names the new container,
 * the deployment is running. Answers the superseded rows.
 */
function recordSwitch(ctx: RunContext, deps: RunDeps, p: Prepared, created: Created): DeploymentRow[] {
  const replaced: DeploymentRow[] = [];
  deps.store.transaction(() => {
    for (const row of deps.store.running(ctx.sandbox)) {
      if (row.service !== ctx.service || row.id === ctx.id) continue;
      deps.store.update(row.id, { status: 'superseded', supersededBy: ctx.id });
      releaseDeploymentPorts(deps.ports, row.id);
      replaced.push(row);
    }
    deps.sandboxes.recordServing(ctx.sandbox, ctx.service, {
      deploymentId: ctx.id,
      branch: p.ref,
      commit: p.commit,
      containerId: created.containerId!,
      hostPort: created.hostPort ?? null,
      ...(created.ports?.length ? { ports: created.ports } : {}),
      ...(created.job ? { job: true } : {}),
      // Without uncommitted changes (or none in its context) the marker goes: the service runs its commit.
      ...(p.changedFiles ? { workingTree: { changedFiles: p.changedFiles } } : {}),
    });
    ctx.recorder.endStage('switch-over', 'ok');
    // Recorded now (a crash from here on leaves the new container serving and the old one
    // to the reaper); announced once the old container is gone.
    ctx.recorder.status(created.job ? 'completed' : 'running', { containerName: servingContainerName(ctx.sandbox, ctx.service), finishedAt: deps.now().toISOString() }, { announce: false });
  });
  return replaced;
}
