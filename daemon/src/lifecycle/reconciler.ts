/**
 * Rebuilds the picture from labels (labels, not names, are the truth), at start, whenever the
 * engine reconnects, and every `intervalMs`:
 *
 * - a serving container recorded for a service that no longer exists in Docker (removed
 *   behind the daemon's back) is forgotten: the service is no longer served (the gateway sends
 *   it to the baseline) and the port its deployment held is released;
 * - a labelled container of a known sandbox whose deployment is `running` but not recorded as
 *   serving (the record was lost) is adopted;
 * - labelled containers and networks that belong to no sandbox — or, for containers, to no
 *   deployment this daemon knows and serve nothing — are removed once they have been seen for
 *   `graceMs` (logged); deployments' own leftovers are the deploy pipeline's reaper's; named
 *   volumes likewise, only those of sandboxes that do not exist (an existing sandbox's
 *   volumes are its data: kept whatever runs, suspended or not);
 * - images this daemon built that the image retention (`image-reaper.ts`) does not keep are
 *   removed once seen for `graceMs`; their figures are measured every round for
 *   `system/info`, and `reclaimImages` removes the reclaimable ones at once;
 * - ports held for sandboxes that no longer exist are released.
 *
 * Scope: only objects carrying every one of the daemon's labels — its `branchbox.instance`
 * (one per state directory) and the `--label` extras (e.g. `branchbox.test=<run>`) — are
 * looked at, so daemons of different state directories sharing the engine never reap each
 * other's objects (and the Docker client refuses to remove anything else anyway). A
 * suspended sandbox's containers are stopped on purpose: they are kept like running ones.
 *
 * The reconciler reads deployments and ports through their stores (`DeploymentStore`,
 * `PortAllocator`), never their tables.
 */
import type { ImageRetention } from '../../../schemas/src/images';
import type { Sandbox } from '../../../schemas/src/sandbox';
import { isServing, type DeploymentStore } from '../deploy/deployment-store';
import { LABELS } from '../docker/labels';
import { isRpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import type { PortAllocator } from '../sandbox/ports';
import type { SandboxStore } from '../sandbox/sandbox-store';
import { ImageReaper, type ImageReclaim, type RetentionDeployments } from './image-reaper';
import type { LifecycleDocker, ManagedContainer, ManagedNetwork, ManagedVolume } from './lifecycle-docker';
import { PeriodicRound } from './periodic';

export const DEFAULT_RECONCILE_INTERVAL_MS = 60_000;
export const DEFAULT_ORPHAN_GRACE_MS = 5 * 60_000;

/** What the reconciler reads of the deployments. */
export type ReconcilerDeployments = Pick<DeploymentStore, 'row' | 'inFlight'> & RetentionDeployments;

export interface ReconcilerOptions {
  readonly deployments: ReconcilerDeployments;
  readonly sandboxes: SandboxStore;
  readonly ports: PortAllocator;
  readonly docker: LifecycleDocker;
  /** The daemon's labels (its instance label and the --label extras): only objects carrying all of them are touched. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  readonly graceMs?: number;
  /** How many of its newest images each service of an existing sandbox keeps (`image-reaper.ts`). */
  readonly keepImagesPerService?: number;
  readonly intervalMs?: number;
  readonly log?: Logger;
  readonly now?: () => number;
}

export interface ReconcileReport {
  readonly adopted: string[];
  readonly vanished: string[];
  readonly removedContainers: string[];
  readonly removedNetworks: string[];
  readonly removedVolumes: string[];
  /** Tags (or ids, for untagged ones) of the images removed. */
  readonly removedImages: string[];
  readonly releasedPorts: number;
  /** Orphans seen but still within their grace period. */
  readonly pending: number;
}

type Report = { -readonly [K in keyof ReconcileReport]: ReconcileReport[K] };

/** What one round sees: this daemon's labelled objects and its sandboxes. */
interface Round {
  readonly containers: readonly ManagedContainer[];
  readonly networks: readonly ManagedNetwork[];
  readonly volumes: readonly ManagedVolume[];
  readonly sandboxes: ReadonlyMap<string, Sandbox>;
  /** Orphans seen this round (the others' grace periods start over). */
  readonly seen: Set<string>;
  readonly report: Report;
}

export class Reconciler {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly selectors: string[];
  /** Orphan object id → when it was first seen. */
  private readonly firstSeen = new Map<string, number>();
  private readonly rounds: PeriodicRound;
  private readonly images: ImageReaper;

  constructor(private readonly opts: ReconcilerOptions) {
    this.log = opts.log ?? nullLogger;
    this.now = opts.now ?? Date.now;
    this.selectors = Object.entries(opts.extraLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    this.images = new ImageReaper({ ...opts, log: this.log, now: this.now });
    this.rounds = new PeriodicRound(
      () => this.reconcile(),
      opts.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
      (e) => this.log.warn('Reconciliation failed', { error: isRpcError(e) ? e.message : String(e) }),
    );
  }

  /** Reconciles now and then every `intervalMs`. */
  start(): void {
    this.rounds.start();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }

  /** Runs a round unless one is running (engine reconnect, timer). */
  trigger(): void {
    this.rounds.trigger();
  }

  /** One round: each step below, in this order. */
  async reconcile(): Promise<ReconcileReport> {
    const round = await this.look();
    const serving = await this.checkServing(round);
    await this.adoptOrReapContainers(round, serving);
    await this.reapNetworks(round);
    await this.reapVolumes(round);
    await this.reapImages(round);
    this.forgetUnseenOrphans(round);
    this.releaseOrphanPorts(round);
    this.logChanges(round.report);
    return round.report;
  }

  /** The figures of the last look at this daemon's built images (`system/info`); undefined before the first round. */
  imageRetention(): ImageRetention | undefined {
    return this.images.retention();
  }

  /**
   * Removes now, with no grace period, every built image the retention does not keep —
   * nothing while a build runs. With `dryRun`, answers what it would remove.
   */
  reclaimImages(options: { dryRun?: boolean } = {}): Promise<ImageReclaim> {
    return this.images.reclaim(options);
  }

  /** This daemon's labelled containers, networks and volumes, and its sandboxes. */
  private async look(): Promise<Round> {
    const containers = await this.opts.docker.managedContainers(this.selectors);
    const networks = await this.opts.docker.managedNetworks(this.selectors);
    const volumes = await this.opts.docker.managedVolumes(this.selectors);
    return {
      containers,
      networks,
      volumes,
      sandboxes: new Map(this.opts.sandboxes.list().map((s) => [s.name, s])),
      seen: new Set(),
      report: { adopted: [], vanished: [], removedContainers: [], removedNetworks: [], removedVolumes: [], removedImages: [], releasedPorts: 0, pending: 0 },
    };
  }

  /**
   * Each recorded serving container: kept when it exists (in any state), else replaced by the
   * container of the service's running deployment if there is one (adopted), else forgotten
   * with its port. Answers the ids of the containers serving.
   */
  private async checkServing(round: Round): Promise<Set<string>> {
    const byId = new Set(round.containers.map((c) => c.id));
    const serving = new Set<string>();
    for (const sandbox of round.sandboxes.values()) {
      if (sandbox.state === 'deleting') continue;
      for (const s of sandbox.services) {
        if (s.containerId === undefined) continue;
        if (byId.has(s.containerId) || (await this.stillExists(s.containerId))) {
          serving.add(s.containerId);
          continue;
        }
        if (this.opts.deployments.inFlight(sandbox.name, s.service) > 0) continue;
        const adoptable = round.containers.find(
          (c) =>
            c.labels[LABELS.sandbox] === sandbox.name &&
            c.labels[LABELS.service] === s.service &&
            isServing(this.opts.deployments.row(c.labels[LABELS.deployment] ?? '')?.status),
        );
        if (adoptable) {
          this.adopt(sandbox.name, s.service, adoptable);
          serving.add(adoptable.id);
          round.report.adopted.push(adoptable.name);
          continue;
        }
        this.forgetVanished(sandbox.name, s.service, s.containerId, s.deploymentId);
        round.report.vanished.push(`${sandbox.name}/${s.service}`);
      }
    }
    return serving;
  }

  /** The service's container was removed behind the daemon's back: it is no longer served, its deployment's port goes. */
  private forgetVanished(sandbox: string, service: string, containerId: string, deploymentId: string | undefined): void {
    this.opts.sandboxes.transaction(() => {
      if (deploymentId !== undefined) for (const port of this.opts.ports.heldByDeployment(deploymentId)) this.opts.ports.release(port);
      this.opts.sandboxes.clearServing(sandbox, service);
    });
    this.log.warn(`The container of ${sandbox}/${service} (${containerId.slice(0, 12)}) was removed outside Branchbox; the service is no longer served`, {
      sandbox,
      service,
      deployment: deploymentId,
    });
  }

  /**
   * Labelled containers nobody accounts for: a running deployment's, not recorded as serving,
   * is adopted; the rest of a known deployment's is the deploy reaper's; one of no sandbox or
   * no deployment is removed after the grace period.
   */
  private async adoptOrReapContainers(round: Round, serving: ReadonlySet<string>): Promise<void> {
    for (const c of round.containers) {
      if (serving.has(c.id)) continue;
      const sandboxName = c.labels[LABELS.sandbox]!;
      const sandbox = round.sandboxes.get(sandboxName);
      if (sandbox?.state === 'deleting') continue; // sandbox/delete's job
      const deployment = this.opts.deployments.row(c.labels[LABELS.deployment] ?? '');
      if (sandbox && deployment) {
        const row = sandbox.services.find((s) => s.service === c.labels[LABELS.service]);
        if (isServing(deployment.status) && row && row.containerId === undefined && this.opts.deployments.inFlight(sandboxName, row.service) === 0) {
          this.adopt(sandboxName, row.service, c);
          round.report.adopted.push(c.name);
        }
        continue;
      }
      if (!this.expired(c.id, round)) continue;
      await this.opts.docker.removeContainer(c.id);
      round.report.removedContainers.push(c.name);
      this.log.warn(`Removed container ${c.name}: labelled for ${sandbox ? `sandbox ${sandboxName} but no deployment of it` : `sandbox ${sandboxName}, which does not exist`}`, {
        container: c.id.slice(0, 12),
        sandbox: sandboxName,
      });
    }
  }

  /** Networks of sandboxes that do not exist, once nothing of theirs is attached, after the grace period. */
  private async reapNetworks(round: Round): Promise<void> {
    const removed = new Set(round.report.removedContainers);
    for (const n of round.networks) {
      const sandbox = n.labels[LABELS.sandbox]!;
      if (round.sandboxes.has(sandbox)) continue;
      if (round.containers.some((c) => c.labels[LABELS.sandbox] === sandbox && !removed.has(c.name))) continue;
      if (!this.expired(n.id, round)) continue;
      try {
        await this.opts.docker.removeNetwork(n.id);
        round.report.removedNetworks.push(n.name);
        this.log.warn(`Removed network ${n.name}: labelled for sandbox ${sandbox}, which does not exist`);
      } catch (e) {
        this.log.warn(`Could not remove network ${n.name}`, { error: isRpcError(e) ? e.message : String(e) });
      }
    }
  }

  /** Volumes of sandboxes that do not exist, once no container of theirs is left, after the grace period. */
  private async reapVolumes(round: Round): Promise<void> {
    const removed = new Set(round.report.removedContainers);
    for (const v of round.volumes) {
      const sandbox = v.labels[LABELS.sandbox]!;
      if (round.sandboxes.has(sandbox)) continue;
      if (round.containers.some((c) => c.labels[LABELS.sandbox] === sandbox && !removed.has(c.name))) continue;
      if (!this.expired(`volume:${v.name}`, round)) continue;
      try {
        await this.opts.docker.removeVolume(v.name);
        round.report.removedVolumes.push(v.name);
        this.log.warn(`Removed volume ${v.name}: labelled for sandbox ${sandbox}, which does not exist`);
      } catch (e) {
        this.log.warn(`Could not remove volume ${v.name}`, { error: isRpcError(e) ? e.message : String(e) });
      }
    }
  }

  /** Built images the retention does not keep, once seen for the grace period (`image-reaper.ts`). */
  private reapImages(round: Round): Promise<void> {
    return this.images.reap({ sandboxes: round.sandboxes, expired: (id) => this.expired(id, round), removedImages: round.report.removedImages });
  }

  /** Orphans not seen this round: their grace period starts over when they are seen again. */
  private forgetUnseenOrphans(round: Round): void {
    for (const id of [...this.firstSeen.keys()]) if (!round.seen.has(id)) this.firstSeen.delete(id);
  }

  /** Ports held for sandboxes that do not exist. */
  private releaseOrphanPorts(round: Round): void {
    const existing = new Set(this.opts.sandboxes.list().map((s) => s.name));
    for (const sandbox of this.opts.ports.sandboxesHolding()) {
      if (existing.has(sandbox)) continue;
      const n = this.opts.ports.releaseSandbox(sandbox);
      round.report.releasedPorts += n;
      this.log.info(`Released ${n} port(s) held for sandbox ${sandbox}, which does not exist`, { sandbox });
    }
  }

  private logChanges(report: ReconcileReport): void {
    if (report.adopted.length || report.vanished.length || report.removedContainers.length || report.removedNetworks.length || report.removedVolumes.length || report.removedImages.length || report.releasedPorts) {
      this.log.info('Reconciled with Docker', { ...report });
    }
  }

  /** Whether the orphan has been seen for the grace period (it is recorded as seen now). */
  private expired(id: string, round: Round): boolean {
    round.seen.add(id);
    const first = this.firstSeen.get(id) ?? this.now();
    this.firstSeen.set(id, first);
    if (this.now() - first >= (this.opts.graceMs ?? DEFAULT_ORPHAN_GRACE_MS)) {
      this.firstSeen.delete(id);
      return true;
    }
    round.report.pending++;
    return false;
  }

  /** A container outside this daemon's scope (other labels) may still exist: ask. */
  private async stillExists(id: string): Promise<boolean> {
    return (await this.opts.docker.inspect(id)) !== undefined;
  }

  private adopt(sandbox: string, service: string, c: ManagedContainer): void {
    const deploymentId = c.labels[LABELS.deployment]!;
    const deployment = this.opts.deployments.row(deploymentId);
    this.opts.sandboxes.recordServing(sandbox, service, {
      deploymentId,
      branch: deployment?.ref ?? null,
      commit: c.labels[LABELS.commit] ?? deployment?.commit ?? null,
      containerId: c.id,
      hostPort: c.hostPort ?? null,
    });
    this.log.info(`Adopted container ${c.name} as the one serving ${sandbox}/${service}`, { deployment: deploymentId });
  }
}
