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
 *   `graceMs` (logged); deployments' own leftovers are the deploy pipeline's reaper's;
 * - images built by deployments (labelled `branchbox.managed`, never base images) that no
 *   deployment of an existing sandbox references, no deployment in flight may still use, and no
 *   container uses, are removed once seen for `graceMs` — never forced;
 * - ports held for sandboxes that no longer exist are released.
 *
 * Scope: only objects carrying every one of the daemon's labels — its `branchbox.instance`
 * (one per state directory) and the `--label` extras (e.g. `branchbox.test=<run>`) — are
 * looked at, so daemons of different state directories sharing the engine never reap each
 * other's objects.
 */
import { LABELS } from '../docker/labels';
import { isRpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import type { PortAllocator } from '../sandbox/ports';
import type { SandboxStore } from '../sandbox/sandbox-store';
import type { Store } from '../state/store';
import type { LifecycleDocker, ManagedContainer, ManagedImage } from './lifecycle-docker';
import { PeriodicRound } from './periodic';

export const DEFAULT_RECONCILE_INTERVAL_MS = 60_000;
export const DEFAULT_ORPHAN_GRACE_MS = 5 * 60_000;
const NON_FINAL = ['queued', 'preparing', 'building', 'starting', 'health-checking'];
const NON_FINAL_SQL = NON_FINAL.map((s) => `'${s}'`).join(', ');

export interface ReconcilerOptions {
  readonly store: Store;
  readonly sandboxes: SandboxStore;
  readonly ports: PortAllocator;
  readonly docker: LifecycleDocker;
  /** The daemon's labels (its instance label and the --label extras): only objects carrying all of them are touched. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  readonly graceMs?: number;
  readonly intervalMs?: number;
  readonly log?: Logger;
  readonly now?: () => number;
}

export interface ReconcileReport {
  readonly adopted: string[];
  readonly vanished: string[];
  readonly removedContainers: string[];
  readonly removedNetworks: string[];
  /** Tags (or ids, for untagged ones) of the images removed. */
  readonly removedImages: string[];
  readonly releasedPorts: number;
  /** Orphans seen but still within their grace period. */
  readonly pending: number;
}

export class Reconciler {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly selectors: string[];
  /** Orphan object id → when it was first seen. */
  private readonly firstSeen = new Map<string, number>();
  private readonly sql;
  private readonly rounds: PeriodicRound;

  constructor(private readonly opts: ReconcilerOptions) {
    this.log = opts.log ?? nullLogger;
    this.now = opts.now ?? Date.now;
    this.selectors = Object.entries(opts.extraLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    const db = opts.store.db;
    this.sql = {
      deployment: db.prepare<[string], { status: string; commit_sha: string | null; ref: string | null }>(
        'SELECT status, commit_sha, ref FROM deployments WHERE id = ?',
      ),
      inFlight: db.prepare<[string, string], { n: number }>(
        `SELECT count(*) AS n FROM deployments WHERE sandbox = ? AND service = ? AND status IN (${NON_FINAL_SQL})`,
      ),
      // Deployments of sandboxes that exist, and those in flight (whose sandbox may be on its way out).
      referencedImages: db.prepare<[], { image: string }>(
        `SELECT DISTINCT image FROM deployments WHERE image IS NOT NULL AND (sandbox IN (SELECT name FROM sandboxes) OR status IN (${NON_FINAL_SQL}))`,
      ),
      // In flight and not yet decided on an image: it may be about to reuse any image of its service.
      undecidedServices: db.prepare<[], { service: string }>(
        `SELECT DISTINCT service FROM deployments WHERE image IS NULL AND status IN (${NON_FINAL_SQL})`,
      ),
      orphanPorts: db.prepare<[], { sandbox: string }>(
        'SELECT DISTINCT sandbox FROM ports WHERE sandbox NOT IN (SELECT name FROM sandboxes)',
      ),
      portOf: db.prepare<[string], { port: number }>('SELECT port FROM ports WHERE deployment_id = ?'),
    };
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

  async reconcile(): Promise<ReconcileReport> {
    const report = {
      adopted: [] as string[],
      vanished: [] as string[],
      removedContainers: [] as string[],
      removedNetworks: [] as string[],
      removedImages: [] as string[],
      releasedPorts: 0,
      pending: 0,
    };
    const containers = await this.opts.docker.managedContainers(this.selectors);
    const networks = await this.opts.docker.managedNetworks(this.selectors);
    const byId = new Map(containers.map((c) => [c.id, c]));
    const sandboxes = new Map(this.opts.sandboxes.list().map((s) => [s.name, s]));
    const seenOrphans = new Set<string>();

    // Recorded serving containers that are gone; services a running deployment's container could serve.
    const serving = new Set<string>();
    for (const sandbox of sandboxes.values()) {
      if (sandbox.state === 'deleting') continue;
      for (const s of sandbox.services) {
        if (s.containerId === undefined) continue;
        if (byId.has(s.containerId) || (await this.stillExists(s.containerId))) {
          serving.add(s.containerId);
          continue;
        }
        if ((this.sql.inFlight.get(sandbox.name, s.service)?.n ?? 0) > 0) continue;
        const adoptable = containers.find(
          (c) =>
            c.labels[LABELS.sandbox] === sandbox.name &&
            c.labels[LABELS.service] === s.service &&
            this.sql.deployment.get(c.labels[LABELS.deployment] ?? '')?.status === 'running',
        );
        if (adoptable) {
          this.adopt(sandbox.name, s.service, adoptable);
          serving.add(adoptable.id);
          report.adopted.push(adoptable.name);
          continue;
        }
        this.opts.sandboxes.transaction(() => {
          if (s.deploymentId !== undefined) for (const { port } of this.sql.portOf.all(s.deploymentId)) this.opts.ports.release(port);
          this.opts.sandboxes.clearServing(sandbox.name, s.service);
        });
        report.vanished.push(`${sandbox.name}/${s.service}`);
        this.log.warn(`The container of ${sandbox.name}/${s.service} (${s.containerId.slice(0, 12)}) was removed outside Branchbox; the service is no longer served`, {
          sandbox: sandbox.name,
          service: s.service,
          deployment: s.deploymentId,
        });
      }
    }

    // Labelled containers nobody accounts for.
    for (const c of containers) {
      if (serving.has(c.id)) continue;
      const sandboxName = c.labels[LABELS.sandbox]!;
      const sandbox = sandboxes.get(sandboxName);
      const deployment = this.sql.deployment.get(c.labels[LABELS.deployment] ?? '');
      if (sandbox?.state === 'deleting') continue; // sandbox/delete's job
      if (sandbox && deployment) {
        // Known deployment: a running one not recorded as serving is adopted; the rest is the deploy reaper's.
        const row = sandbox.services.find((s) => s.service === c.labels[LABELS.service]);
        if (deployment.status === 'running' && row && row.containerId === undefined && (this.sql.inFlight.get(sandboxName, row.service)?.n ?? 0) === 0) {
          this.adopt(sandboxName, row.service, c);
          report.adopted.push(c.name);
        }
        continue;
      }
      if (await this.expired(c.id, seenOrphans, report)) {
        await this.opts.docker.removeContainer(c.id);
        report.removedContainers.push(c.name);
        this.log.warn(`Removed container ${c.name}: labelled for ${sandbox ? `sandbox ${sandboxName} but no deployment of it` : `sandbox ${sandboxName}, which does not exist`}`, {
          container: c.id.slice(0, 12),
          sandbox: sandboxName,
        });
      }
    }

    // Networks of sandboxes that do not exist.
    const removedIds = new Set(report.removedContainers);
    for (const n of networks) {
      if (sandboxes.has(n.labels[LABELS.sandbox]!)) continue;
      const attached = containers.some((c) => c.labels[LABELS.sandbox] === n.labels[LABELS.sandbox] && !removedIds.has(c.name));
      if (attached) continue;
      if (await this.expired(n.id, seenOrphans, report)) {
        try {
          await this.opts.docker.removeNetwork(n.id);
          report.removedNetworks.push(n.name);
          this.log.warn(`Removed network ${n.name}: labelled for sandbox ${n.labels[LABELS.sandbox]}, which does not exist`);
        } catch (e) {
          this.log.warn(`Could not remove network ${n.name}`, { error: isRpcError(e) ? e.message : String(e) });
        }
      }
    }
    await this.reapImages(seenOrphans, report);
    for (const id of [...this.firstSeen.keys()]) if (!seenOrphans.has(id)) this.firstSeen.delete(id);

    // Ports of sandboxes that do not exist.
    for (const { sandbox } of this.sql.orphanPorts.all()) {
      const n = this.opts.ports.releaseSandbox(sandbox);
      report.releasedPorts += n;
      this.log.info(`Released ${n} port(s) held for sandbox ${sandbox}, which does not exist`, { sandbox });
    }

    if (report.adopted.length || report.vanished.length || report.removedContainers.length || report.removedNetworks.length || report.removedImages.length || report.releasedPorts) {
      this.log.info('Reconciled with Docker', { ...report });
    }
    return report;
  }

  /** Images built by deployments that nothing needs any more. */
  private async reapImages(seen: Set<string>, report: { removedImages: string[]; pending: number }): Promise<void> {
    const images = await this.opts.docker.managedImages(this.selectors);
    if (!images.length) return;
    const inUse = await this.opts.docker.imagesInUse();
    const needed = this.imagesNeeded();
    for (const image of images) {
      if (image.labels[LABELS.base] === 'true' || inUse.has(image.id) || needed(image)) continue;
      if (!(await this.expired(image.id, seen, report))) continue;
      // Asked again right before removal: a deployment may have started meanwhile.
      if (this.imagesNeeded()(image)) continue;
      const name = image.tags[0] ?? image.id.replace(/^sha256:/, '').slice(0, 12);
      try {
        if ((await this.opts.docker.removeImage(image)) === 'in-use') {
          this.log.debug(`Kept image ${name}: a container uses it`);
          continue;
        }
        report.removedImages.push(name);
        const { [LABELS.project]: project, [LABELS.service]: service, [LABELS.commit]: commit } = image.labels;
        this.log.warn(`Removed image ${name}${service ? ` (${project ?? '?'}/${service} at ${commit?.slice(0, 12) ?? '?'})` : ''}: no deployment of an existing sandbox uses it`, {
          image: image.id.replace(/^sha256:/, '').slice(0, 12),
        });
      } catch (e) {
        this.log.warn(`Could not remove image ${name}`, { error: isRpcError(e) ? e.message : String(e) });
      }
    }
  }

  /**
   * As the state database says now: whether a deployment of an existing sandbox, or one in
   * flight, references an image (by tag or id), or one in flight has yet to pick its image
   * and may reuse one of its service (of any service, for an image without the label).
   */
  private imagesNeeded(): (image: ManagedImage) => boolean {
    const referenced = new Set(this.sql.referencedImages.all().map((r) => r.image));
    const undecided = new Set(this.sql.undecidedServices.all().map((r) => r.service));
    return (image) => {
      if (image.tags.some((t) => referenced.has(t)) || referenced.has(image.id)) return true;
      const service = image.labels[LABELS.service];
      return service === undefined ? undecided.size > 0 : undecided.has(service);
    };
  }

  /** Whether the orphan has been seen for the grace period (it is recorded as seen now). */
  private async expired(id: string, seen: Set<string>, report: { pending: number }): Promise<boolean> {
    seen.add(id);
    const first = this.firstSeen.get(id) ?? this.now();
    this.firstSeen.set(id, first);
    if (this.now() - first >= (this.opts.graceMs ?? DEFAULT_ORPHAN_GRACE_MS)) {
      this.firstSeen.delete(id);
      return true;
    }
    report.pending++;
    return false;
  }

  /** A container outside this daemon's scope (other labels) may still exist: ask. */
  private async stillExists(id: string): Promise<boolean> {
    return (await this.opts.docker.inspect(id)) !== undefined;
  }

  private adopt(sandbox: string, service: string, c: ManagedContainer): void {
    const deploymentId = c.labels[LABELS.deployment]!;
    const deployment = this.sql.deployment.get(deploymentId);
    this.opts.sandboxes.recordServing(sandbox, service, {
      deploymentId,
      branch: deployment?.ref ?? null,
      commit: c.labels[LABELS.commit] ?? deployment?.commit_sha ?? null,
      containerId: c.id,
      hostPort: c.hostPort ?? null,
    });
    this.log.info(`Adopted container ${c.name} as the one serving ${sandbox}/${service}`, { deployment: deploymentId });
  }
}
