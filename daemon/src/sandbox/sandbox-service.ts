/**
 * The life of a sandbox: create (empty or from a template), update, delete (cancel its
 * deployments, remove its containers, network and named volumes, release its ports, forget
 * it — and when a step fails, calling again finishes the job), clone, snapshot and restore,
 * each carrying the data of the named volumes (`volume-data.ts`) before anything is deployed;
 * a create or clone whose data cannot be put in place is undone. Deployments go
 * through the injected {@link DeployControl}; a deployment that fails is reported, it never
 * undoes the sandbox.
 */
import { join } from 'node:path';
import type { Project, Resources, TemplateSpec } from '../../../schemas/src/project';
import type { DeployOutcome, Sandbox, SnapshotSummary, TtlPolicy } from '../../../schemas/src/sandbox';
import { isRpcError, RpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import type { DeployControl } from './deploy-control';
import type { EnvironmentStore } from './environment';
import { validateSandboxName, validateSnapshotName } from './names';
import type { PortAllocator } from './ports';
import type { SandboxDockerObjects } from './sandbox-docker';
import type { SandboxStore } from './sandbox-store';
import type { SnapshotFiles } from './snapshot-files';
import { summarize, type Snapshot, type SnapshotService, type SnapshotStore, type SnapshotVolume } from './snapshots';
import type { TemplateStore } from './templates';
import type { VolumeDataOps } from './volume-data';
import { clientRequester } from '../deploy/requesters';

export interface SandboxServiceDeps {
  readonly sandboxes: SandboxStore;
  readonly ports: PortAllocator;
  readonly environments: EnvironmentStore;
  readonly templates: TemplateStore;
  readonly snapshots: SnapshotStore;
  readonly docker: SandboxDockerObjects;
  /** The data of the sandboxes' named volumes. */
  readonly volumes: VolumeDataOps;
  readonly snapshotFiles: SnapshotFiles;
  readonly loadProject: (path: string) => Project;
  /** The deploy pipeline; without it, deployments a request would start are reported as skipped. */
  readonly deploys?: DeployControl;
  readonly log?: Logger;
  /** Masks secrets in texts that leave the daemon (deployment diagnoses). */
  readonly redact?: (text: string) => string;
}

/** Who asks: the owner of what they create, and the requester of the deployments. */
export interface Requester {
  readonly osUser: string;
  readonly client?: string;
}

export interface CreateRequest {
  readonly name: string;
  readonly repoPath?: string;
  readonly fromTemplate?: string;
  readonly ttl?: TtlPolicy;
  readonly resources?: Resources;
  readonly owner?: string;
  /** A snapshot whose volume data seeds the sandbox's volumes. */
  readonly fromSnapshot?: string;
  readonly wait?: boolean;
}

export interface DeleteResult {
  readonly containers: number;
  readonly networks: number;
  readonly ports: number;
  /** The named volumes removed, by name. */
  readonly volumes: string[];
}

export interface SandboxWithDeploys {
  readonly sandbox: Sandbox;
  readonly deployments: DeployOutcome[];
}

/** A service to deploy into a sandbox, at a branch and/or exact commit. */
interface DeployTarget {
  readonly service: string;
  readonly branch?: string;
  readonly commit?: string;
}

export class SandboxService {
  private readonly log: Logger;
  private readonly redact: (text: string) => string;

  constructor(private readonly deps: SandboxServiceDeps) {
    this.log = deps.log ?? nullLogger;
    this.redact = deps.redact ?? ((t) => t);
  }

  async create(req: CreateRequest, by: Requester): Promise<SandboxWithDeploys> {
    validateSandboxName(req.name);
    this.requireFree(req.name);
    const project = req.repoPath !== undefined ? this.deps.loadProject(req.repoPath) : undefined;
    const template =
      req.fromTemplate !== undefined ? this.deps.templates.require(req.fromTemplate, project) : undefined;
    const ttl =
      req.ttl ??
      (template?.spec.ttl ? { idle: template.spec.ttl, ...(template.spec.ttlFrom ? { from: template.spec.ttlFrom } : {}) } : undefined);
    const resources = req.resources ?? template?.spec.resources;
    const seed = req.fromSnapshot !== undefined ? this.deps.snapshots.require(req.fromSnapshot) : undefined;
    await this.createBare(
      {
        name: req.name,
        owner: req.owner ?? by.osUser,
        ...(project ? { project: project.name, repoPath: project.root } : {}),
        ...(template ? { template: template.name } : {}),
        ...(ttl ? { ttl } : {}),
        ...(resources ? { resources } : {}),
      },
      by,
    );
    if (seed) await this.undoneOnFailure(req.name, () => this.fillFromSnapshot(req.name, seed));
    if (!template) return { sandbox: this.deps.sandboxes.require(req.name), deployments: [] };

    this.applyTemplate(req.name, template.spec, project);
    const targets = Object.entries(template.spec.services).map(([service, t]) => ({ service, ...t }));
    const deployments = await this.deploy(req.name, project?.root, targets, req.wait ?? true, by);
    return { sandbox: this.deps.sandboxes.require(req.name), deployments };
  }

  update(name: string, patch: { ttl?: TtlPolicy | null; resources?: Resources | null; owner?: string }): Sandbox {
    const sandbox = this.deps.sandboxes.require(name);
    if (sandbox.state === 'deleting')
      throw new RpcError('Conflict', `Sandbox "${name}" is being deleted; finish with sandbox/delete.`, {
        sandbox: name,
      });
    return this.deps.sandboxes.update(name, patch);
  }

  /**
   * Deletes the sandbox. It is marked `deleting` first; its rows go last, so a failure on
   * the way leaves it listed and a second call resumes. A sandbox without rows whose Docker
   * objects remain (a crash during create) is cleaned up too.
   */
  async delete(name: string): Promise<DeleteResult> {
    const { sandboxes, docker, ports, volumes } = this.deps;
    const sandbox = sandboxes.get(name);
    if (!sandbox) {
      // Without an engine there is nothing to look for: the sandbox simply does not exist.
      const left = await docker.remaining(name).catch(() => ({ containers: 0, networks: 0 }));
      const leftVolumes = await volumes.list(name).catch(() => []);
      if (left.containers === 0 && left.networks === 0 && leftVolumes.length === 0) {
        throw new RpcError('SandboxNotFound', `No sandbox "${name}". sandbox/list shows the existing ones.`, {
          sandbox: name,
        });
      }
      this.log.warn('Removing Docker objects left by a sandbox that no longer exists', { sandbox: name, ...left, volumes: leftVolumes.length });
      const removed = await docker.removeAll(name);
      return { ...removed, ports: ports.releaseSandbox(name), volumes: await volumes.removeAll(name) };
    }
    if (sandbox.state !== 'deleting') sandboxes.update(name, { state: 'deleting' });
    this.log.info(`Deleting sandbox ${name}`, { sandbox: name });
    try {
      await this.deps.deploys?.stopSandbox(name);
      const removed = { ...(await docker.removeAll(name)), volumes: await volumes.removeAll(name) };
      let released = 0;
      this.deps.sandboxes.transaction(() => {
        released = ports.releaseSandbox(name);
        sandboxes.remove(name);
      });
      this.log.info(`Deleted sandbox ${name}`, { sandbox: name, ...removed, ports: released });
      return { ...removed, ports: released };
    } catch (e) {
      this.log.warn(`Failed to delete sandbox ${name}; it stays "deleting" and sandbox/delete finishes the job`, {
        sandbox: name,
        error: isRpcError(e) ? e.message : String(e),
      });
      throw e;
    }
  }

  /** A new sandbox with the source's branches and commits, environment, routes and settings, on new ports. */
  async clone(name: string, newName: string, wait: boolean, by: Requester): Promise<SandboxWithDeploys> {
    const source = this.deps.sandboxes.require(name);
    validateSandboxName(newName);
    this.requireFree(newName);
    await this.createBare(
      {
        name: newName,
        owner: by.osUser,
        ...pick(source, ['project', 'repoPath', 'template', 'ttl', 'resources']),
      },
      by,
    );
    this.deps.environments.replaceStored(newName, this.deps.environments.stored(name));
    for (const s of source.services) this.deps.sandboxes.setRoute(newName, s.service, s.route, s.routeUrl);
    const targets = source.services
      .filter((s) => s.commit !== undefined || s.branch !== undefined)
      .map((s) => ({ service: s.service, ...pick(s, ['branch', 'commit']) }));
    await this.undoneOnFailure(newName, async () => {
      for (const v of await this.deps.volumes.list(name)) await this.deps.volumes.copy(name, newName, v.name);
    });
    const deployments = await this.deploy(newName, source.repoPath, targets, wait, by);
    return { sandbox: this.deps.sandboxes.require(newName), deployments };
  }

  /** Freezes the sandbox's exact commits, routes, settings, environment and its named volumes' data. */
  async snapshot(name: string, snapshot: string): Promise<SnapshotSummary> {
    const sandbox = this.deps.sandboxes.require(name);
    validateSnapshotName(snapshot);
    if (this.deps.snapshots.get(snapshot))
      throw new RpcError('NameTaken', `A snapshot named "${snapshot}" already exists; delete it first or pick another name.`, {
        snapshot,
      });
    const services: SnapshotService[] = sandbox.services.map((s) => ({
      service: s.service,
      route: s.route,
      ...pick(s, ['routeUrl', 'branch', 'commit']),
    }));
    const files = this.deps.snapshotFiles;
    const dir = await files.prepare(snapshot);
    try {
      const volumes: SnapshotVolume[] = [];
      for (const v of await this.deps.volumes.list(name)) {
        const bytes = await this.deps.volumes.capture(name, v.name, join(dir, `${v.name}.tar`));
        volumes.push({ name: v.name, bytes });
      }
      const saved = this.deps.snapshots.save(snapshot, {
        version: 1,
        sandbox: name,
        ...pick(sandbox, ['project', 'repoPath', 'template', 'ttl', 'resources']),
        services,
        env: this.deps.environments.stored(name),
        volumes,
      });
      try {
        await files.commit(dir, snapshot);
      } catch (e) {
        this.deps.snapshots.delete(snapshot);
        throw e;
      }
      this.log.info(`Saved snapshot ${snapshot} of sandbox ${name}`, {
        sandbox: name,
        snapshot,
        services: services.length,
        volumes: volumes.map((v) => `${v.name} (${v.bytes} bytes)`),
      });
      return summarize(saved);
    } catch (e) {
      await files.remove(dir);
      throw e;
    }
  }

  /** Deletes a snapshot: its row, then its volume data. */
  async deleteSnapshot(snapshot: string): Promise<void> {
    this.deps.snapshots.delete(snapshot);
    await this.deps.snapshotFiles.remove(snapshot);
  }

  /**
   * Recreates a snapshot into `into` (default: the sandbox it was taken of): an existing
   * sandbox gets its environment and routes replaced and its commits redeployed; a missing one
   * is created first.
   */
  async restore(
    snapshotName: string,
    into: string | undefined,
    wait: boolean,
    by: Requester,
  ): Promise<SandboxWithDeploys> {
    const snap = this.deps.snapshots.require(snapshotName);
    const target = into ?? snap.sandbox;
    validateSandboxName(target);
    const existing = this.deps.sandboxes.get(target);
    if (existing?.state === 'deleting') {
      throw new RpcError(
        'Conflict',
        `Sandbox "${target}" is being deleted; finish with sandbox/delete, then restore.`,
        { sandbox: target },
      );
    }
    if (existing) {
      const replaced = [...new Set([...(snap.volumes ?? []).map((v) => v.name), ...(await this.deps.volumes.list(target)).map((v) => v.name)])];
      const users = await this.deps.volumes.users(target, replaced);
      if (users.size) {
        const list = [...users].map(([v, cs]) => `${v} (${cs.join(', ')})`).join(', ');
        throw new RpcError(
          'Conflict',
          `Cannot restore the volumes of sandbox "${target}": its containers use them: ${list}. Delete the sandbox first (its snapshots are kept), or restore into a new sandbox.`,
          { sandbox: target, volumes: Object.fromEntries(users) },
        );
      }
      await this.fillFromSnapshot(target, snap, replaced);
    } else {
      await this.createBare(
        { name: target, owner: by.osUser, ...pick(snap, ['project', 'repoPath', 'template', 'ttl', 'resources']) },
        by,
      );
      await this.undoneOnFailure(target, () => this.fillFromSnapshot(target, snap));
    }
    this.deps.environments.replaceStored(target, snap.env);
    for (const s of snap.services) this.deps.sandboxes.setRoute(target, s.service, s.route, s.routeUrl);
    const targets = snap.services
      .filter((s) => s.commit !== undefined)
      .map((s) => ({ service: s.service, ...pick(s, ['branch', 'commit']) }));
    const repoPath = snap.repoPath ?? existing?.repoPath;
    const deployments = await this.deploy(target, repoPath, targets, wait, by);
    this.log.info(`Restored snapshot ${snapshotName} into sandbox ${target}`, {
      snapshot: snapshotName,
      sandbox: target,
      created: !existing,
    });
    return { sandbox: this.deps.sandboxes.require(target), deployments };
  }

  /** The sandbox's named volumes. @throws RpcError SandboxNotFound */
  async volumes(name: string): Promise<{ volumes: { name: string; dockerName: string }[] }> {
    this.deps.sandboxes.require(name);
    return { volumes: await this.deps.volumes.list(name) };
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Makes the sandbox's volumes afresh from the snapshot's data: each it holds, and each of
   * `alsoEmpty` it does not (empty).
   */
  private async fillFromSnapshot(sandbox: string, snap: Snapshot, alsoEmpty: readonly string[] = []): Promise<void> {
    const held = snap.volumes ?? [];
    const started = Date.now();
    for (const v of held) await this.deps.volumes.fill(sandbox, v.name, this.deps.snapshotFiles.volumeFile(snap.name, v.name));
    for (const v of alsoEmpty) if (!held.some((h) => h.name === v)) await this.deps.volumes.fill(sandbox, v, undefined);
    if (held.length)
      this.log.info(`Filled ${held.length} volume(s) of sandbox ${sandbox} from snapshot ${snap.name}`, {
        sandbox,
        snapshot: snap.name,
        bytes: held.reduce((n, v) => n + v.bytes, 0),
        ms: Date.now() - started,
      });
  }

  /** Runs `work` on a sandbox just created; if it fails, the sandbox is deleted again and the error rethrown. */
  private async undoneOnFailure(sandbox: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      this.log.warn(`Could not put the volume data of sandbox ${sandbox} in place; removing the sandbox`, {
        sandbox,
        error: isRpcError(e) ? e.message : String(e),
      });
      await this.delete(sandbox).catch((undo: unknown) =>
        this.log.warn(`Could not remove sandbox ${sandbox}; sandbox/delete finishes the job`, {
          sandbox,
          error: isRpcError(undo) ? undo.message : String(undo),
        }),
      );
      throw e;
    }
  }

  private requireFree(name: string): void {
    if (this.deps.sandboxes.get(name))
      throw new RpcError('NameTaken', `A sandbox named "${name}" already exists.`, { sandbox: name });
  }

  /** Inserts the row, then creates the network; if the network cannot be made, the row goes again. */
  private async createBare(row: Parameters<SandboxStore['insert']>[0], by: Requester): Promise<void> {
    this.deps.sandboxes.insert(row);
    try {
      await this.deps.docker.ensureNetwork(row.name);
    } catch (e) {
      this.deps.sandboxes.remove(row.name);
      throw e;
    }
    this.log.info(`Created sandbox ${row.name}`, {
      sandbox: row.name,
      owner: row.owner,
      client: by.client,
      template: row.template,
    });
  }

  /** Routes and environment of a template: its services to the sandbox, the rest to baseline. */
  private applyTemplate(name: string, spec: TemplateSpec, project: Project | undefined): void {
    const baseline = project?.baseline ?? {};
    const services = new Set([
      ...Object.keys(project?.services ?? {}),
      ...Object.keys(baseline),
      ...Object.keys(spec.services),
      ...Object.keys(spec.routes ?? {}),
    ]);
    for (const service of [...services].sort()) {
      const explicit = spec.routes?.[service];
      if (explicit)
        this.deps.sandboxes.setRoute(
          name,
          service,
          explicit.kind,
          explicit.url ?? (explicit.kind === 'baseline' ? baseline[service] : undefined),
        );
      else if (spec.services[service]) this.deps.sandboxes.setRoute(name, service, 'sandbox');
      else if (baseline[service]) this.deps.sandboxes.setRoute(name, service, 'baseline', baseline[service]);
    }
    for (const [key, value] of Object.entries(spec.env ?? {}))
      this.deps.environments.set(name, undefined, key, value, false);
  }

  /**
   * Starts one deployment per target (grouped by branch and commit) and, with `wait`, waits
   * for them all. A deployment that cannot start or fails is reported, never thrown.
   */
  private async deploy(
    sandbox: string,
    repoPath: string | undefined,
    targets: readonly DeployTarget[],
    wait: boolean,
    by: Requester,
  ): Promise<DeployOutcome[]> {
    if (targets.length === 0) return [];
    const skipped = (t: DeployTarget, diagnosis: string): DeployOutcome => ({
      ...describeTarget(t),
      status: 'skipped',
      diagnosis,
    });
    const deploys = this.deps.deploys;
    if (!deploys) return targets.map((t) => skipped(t, 'The deploy pipeline is not available in this daemon.'));
    if (repoPath === undefined)
      return targets.map((t) => skipped(t, 'The sandbox has no repository (create it with repoPath).'));

    const groups = new Map<string, DeployTarget[]>();
    for (const t of targets) {
      const key = `${t.branch ?? ''}\u0000${t.commit ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), t]);
    }
    const outcomes: DeployOutcome[] = [];
    const waits: Promise<void>[] = [];
    for (const group of groups.values()) {
      const { branch, commit } = group[0]!;
      let started: { id: string; service: string }[];
      try {
        started = deploys.start({
          repoPath,
          sandbox,
          services: group.map((t) => t.service),
          ...(branch !== undefined ? { ref: branch } : {}),
          ...(commit !== undefined ? { commit } : {}),
          ...(by.client !== undefined ? { requestedBy: clientRequester(by.client)! } : {}),
        }).deployments;
      } catch (e) {
        const reason = this.redact(isRpcError(e) ? e.message : String(e));
        outcomes.push(...group.map((t) => skipped(t, reason)));
        continue;
      }
      for (const d of started) {
        const target = group.find((t) => t.service === d.service) ?? { service: d.service, branch, commit };
        const outcome: { -readonly [K in keyof DeployOutcome]: DeployOutcome[K] } = {
          ...describeTarget(target),
          deploymentId: d.id,
          status: 'started',
        };
        outcomes.push(outcome);
        if (!wait) continue;
        waits.push(
          deploys.waitFinal(d.id).then(
            (final) => {
              outcome.status = final.status;
              if (final.commit) outcome.commit = final.commit;
              if (final.diagnosis) outcome.diagnosis = this.redact(final.diagnosis);
            },
            (e: unknown) => {
              outcome.status = 'unknown';
              outcome.diagnosis = this.redact(`Lost track of the deployment: ${isRpcError(e) ? e.message : String(e)}`);
            },
          ),
        );
      }
    }
    await Promise.all(waits);
    return outcomes;
  }
}

function describeTarget(t: DeployTarget): Pick<DeployOutcome, 'service' | 'branch' | 'commit'> {
  return {
    service: t.service,
    ...(t.branch !== undefined ? { branch: t.branch } : {}),
    ...(t.commit !== undefined ? { commit: t.commit } : {}),
  };
}

/** The listed fields of `from` that are defined. */
function pick<T extends object, K extends keyof T>(
  from: T,
  keys: readonly K[],
): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key] as Exclude<T[K], undefined>;
  return out;
}
