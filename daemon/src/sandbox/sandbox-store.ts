/**
 * Sandboxes in the state database: the `sandboxes` row, one `sandbox_services` row per service
 * that is routed or served, and (read-only here) the ports the sandbox holds. Every change,
 * whoever makes it (this module's owner or the deploy pipeline through
 * {@link SandboxStore.recordServing}), is announced to `onChange` listeners once the current
 * synchronous work (and so its transaction) is over.
 */
import type { Resources, RouteKind } from '../../../schemas/src/project';
import type {
  PortLease,
  Sandbox,
  SandboxEvent,
  SandboxServiceView,
  SandboxState,
  TtlPolicy,
} from '../../../schemas/src/sandbox';
import { RpcError } from '../rpc/errors';
import type { Store } from '../state/store';
import { FollowStore } from './follow-store';
import { networkName } from './names';

export type { Sandbox, SandboxEvent, SandboxState };

/** What the deploy pipeline records when a deployment switches over. */
export interface ServingRecord {
  readonly deploymentId: string;
  readonly branch?: string | null;
  readonly commit?: string | null;
  readonly containerId?: string | null;
  readonly hostPort?: number | null;
  /** Every published port of the container (SandboxServiceView.ports). */
  readonly ports?: readonly { readonly container: number; readonly protocol: 'tcp' | 'udp'; readonly hostPort: number; readonly published?: number }[];
  /** A job that ran to completion. */
  readonly job?: boolean;
  /** Deployed with uncommitted changes of the working tree (includeUncommitted): how many files of its context differ from the commit. */
  readonly workingTree?: { readonly changedFiles: number };
}

export interface NewSandbox {
  readonly name: string;
  readonly owner: string;
  readonly project?: string;
  readonly repoPath?: string;
  readonly template?: string;
  readonly ttl?: TtlPolicy;
  readonly resources?: Resources;
}

export interface SandboxPatch {
  readonly owner?: string;
  readonly ttl?: TtlPolicy | null;
  readonly resources?: Resources | null;
  readonly state?: SandboxState;
}

interface SandboxRow {
  name: string;
  project: string | null;
  repo_path: string | null;
  state: SandboxState;
  owner: string;
  template: string | null;
  ttl_policy: string | null;
  resources: string | null;
  created_at: string;
  updated_at: string;
  last_deploy_at: string | null;
}

interface ServiceRow {
  sandbox: string;
  service: string;
  route: RouteKind;
  route_url: string | null;
  branch: string | null;
  commit_sha: string | null;
  container_id: string | null;
  host_port: number | null;
  deployment_id: string | null;
  ports: string | null;
  job: number;
  wt_changed_files: number | null;
  wt_since: string | null;
  wt_updated_at: string | null;
}

interface PortRow {
  port: number;
  sandbox: string;
  service: string | null;
  purpose: 'service' | 'gateway';
  deployment_id: string | null;
  allocated_at: string;
}

type Listener = (event: SandboxEvent) => void;

export class SandboxStore {
  private readonly listeners = new Set<Listener>();
  private pending: { kind: SandboxEvent['kind']; name: string }[] = [];
  private readonly sql;
  /** Which sandboxes follow their branches (`Sandbox.follow`); its changes are this store's. */
  readonly follows: FollowStore;

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.follows = new FollowStore(store, (name) => this.changed(name), now);
    const db = store.db;
    this.sql = {
      get: db.prepare<[string], SandboxRow>('SELECT * FROM sandboxes WHERE name = ?'),
      list: db.prepare<[], SandboxRow>('SELECT * FROM sandboxes ORDER BY name'),
      services: db.prepare<[string], ServiceRow>('SELECT * FROM sandbox_services WHERE sandbox = ? ORDER BY service'),
      ports: db.prepare<[string], PortRow>('SELECT * FROM ports WHERE sandbox = ? ORDER BY port'),
      insert: db.prepare(
        `INSERT INTO sandboxes (name, project, repo_path, state, owner, template, ttl_policy, resources, created_at, updated_at)
         VALUES (@name, @project, @repo_path, 'active', @owner, @template, @ttl_policy, @resources, @now, @now)`,
      ),
      touch: db.prepare<[string, string]>('UPDATE sandboxes SET updated_at = ? WHERE name = ?'),
      adopt: db.prepare<[string, string, string, string]>(
        'UPDATE sandboxes SET repo_path = ?, project = ?, updated_at = ? WHERE name = ? AND repo_path IS NULL',
      ),
      remove: db.prepare<[string]>('DELETE FROM sandboxes WHERE name = ?'),
      upsertRoute: db.prepare(
        `INSERT INTO sandbox_services (sandbox, service, route, route_url) VALUES (@sandbox, @service, @route, @url)
         ON CONFLICT (sandbox, service) DO UPDATE SET route = excluded.route, route_url = excluded.route_url`,
      ),
      // A deployment with uncommitted changes on the commit the service already ran changes of
      // (a watch's rebuild) keeps `wt_since`: the service has run the working tree since then.
      recordServing: db.prepare(
        `INSERT INTO sandbox_services (sandbox, service, branch, commit_sha, container_id, host_port, deployment_id, ports, job,
           wt_changed_files, wt_since, wt_updated_at)
         VALUES (@sandbox, @service, @branch, @commit, @containerId, @hostPort, @deploymentId, @ports, @job, @wtChanged, @wtAt, @wtAt)
         ON CONFLICT (sandbox, service) DO UPDATE SET
           wt_since = CASE WHEN excluded.wt_changed_files IS NULL THEN NULL
             WHEN sandbox_services.wt_since IS NOT NULL AND sandbox_services.commit_sha IS excluded.commit_sha THEN sandbox_services.wt_since
             ELSE excluded.wt_since END,
           wt_changed_files = excluded.wt_changed_files, wt_updated_at = excluded.wt_updated_at,
           branch = excluded.branch, commit_sha = excluded.commit_sha,
           container_id = excluded.container_id, host_port = excluded.host_port, deployment_id = excluded.deployment_id,
           ports = excluded.ports, job = excluded.job`,
      ),
      markWorkingTree: db.prepare<{ sandbox: string; service: string; deployment: string; changed: number | null; now: string }>(
        `UPDATE sandbox_services SET wt_changed_files = @changed,
           wt_since = CASE WHEN @changed IS NULL THEN NULL ELSE COALESCE(wt_since, @now) END,
           wt_updated_at = CASE WHEN @changed IS NULL THEN NULL ELSE @now END
         WHERE sandbox = @sandbox AND service = @service AND deployment_id = @deployment
           AND NOT (wt_changed_files IS NULL AND @changed IS NULL)`,
      ),
      lastDeploy: db.prepare<[string, string, string]>(
        'UPDATE sandboxes SET last_deploy_at = ?, updated_at = ? WHERE name = ?',
      ),
      clearServing: db.prepare<[string, string]>(
        `UPDATE sandbox_services SET branch = NULL, commit_sha = NULL, container_id = NULL, host_port = NULL, deployment_id = NULL,
           ports = NULL, job = 0, wt_changed_files = NULL, wt_since = NULL, wt_updated_at = NULL
         WHERE sandbox = ? AND service = ?`,
      ),
    };
  }

  get(name: string): Sandbox | undefined {
    const row = this.sql.get.get(name);
    return row && this.view(row);
  }

  /** @throws RpcError SandboxNotFound */
  require(name: string): Sandbox {
    const sandbox = this.get(name);
    if (!sandbox) throw notFound(name);
    return sandbox;
  }

  list(): Sandbox[] {
    return this.sql.list.all().map((row) => this.view(row));
  }

  /** Inserts a new active sandbox. @throws RpcError NameTaken */
  insert(sandbox: NewSandbox): Sandbox {
    try {
      this.sql.insert.run({
        name: sandbox.name,
        project: sandbox.project ?? null,
        repo_path: sandbox.repoPath ?? null,
        owner: sandbox.owner,
        template: sandbox.template ?? null,
        ttl_policy: sandbox.ttl ? JSON.stringify(sandbox.ttl) : null,
        resources: sandbox.resources ? JSON.stringify(sandbox.resources) : null,
        now: this.now().toISOString(),
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new RpcError('NameTaken', `A sandbox named "${sandbox.name}" already exists.`, { sandbox: sandbox.name });
      }
      throw e;
    }
    this.announce('created', sandbox.name);
    return this.require(sandbox.name);
  }

  /** Changes fields of a sandbox. @throws RpcError SandboxNotFound */
  update(name: string, patch: SandboxPatch): Sandbox {
    const sets: string[] = ['updated_at = @now'];
    const values: Record<string, unknown> = { name, now: this.now().toISOString() };
    if (patch.owner !== undefined) {
      sets.push('owner = @owner');
      values.owner = patch.owner;
    }
    if (patch.state !== undefined) {
      sets.push('state = @state');
      values.state = patch.state;
    }
    if (patch.ttl !== undefined) {
      sets.push('ttl_policy = @ttl');
      values.ttl = patch.ttl === null ? null : JSON.stringify(patch.ttl);
    }
    if (patch.resources !== undefined) {
      sets.push('resources = @resources');
      values.resources = patch.resources === null ? null : JSON.stringify(patch.resources);
    }
    if (this.store.db.prepare(`UPDATE sandboxes SET ${sets.join(', ')} WHERE name = @name`).run(values).changes === 0) throw notFound(name);
    this.announce('updated', name);
    return this.require(name);
  }

  /**
   * A sandbox created without a repository belongs to the first one deployed into it: its
   * project's routes, clones and snapshots follow that repository from then on. A sandbox that
   * has one keeps it.
   */
  adoptRepository(name: string, repoPath: string, project: string): void {
    if (this.sql.adopt.run(repoPath, project, this.now().toISOString(), name).changes) this.announce('updated', name);
  }

  /** Sets where a service of the sandbox is routed (creating its row). */
  setRoute(sandbox: string, service: string, route: RouteKind, url?: string): void {
    this.requireRowFor(sandbox);
    this.store.transaction(() => {
      this.sql.upsertRoute.run({ sandbox, service, route, url: url ?? null });
      this.sql.touch.run(this.now().toISOString(), sandbox);
    });
    this.announce('updated', sandbox);
  }

  /**
   * The deploy pipeline's switch-over: `service` of `sandbox` is now served by this
   * deployment. Call it inside the same transaction as the deployment's own status update.
   */
  recordServing(sandbox: string, service: string, serving: ServingRecord): void {
    const now = this.now().toISOString();
    this.requireRowFor(sandbox);
    this.store.transaction(() => {
      this.sql.recordServing.run({
        sandbox,
        service,
        branch: serving.branch ?? null,
        commit: serving.commit ?? null,
        containerId: serving.containerId ?? null,
        hostPort: serving.hostPort ?? null,
        deploymentId: serving.deploymentId,
        ports: serving.ports?.length ? JSON.stringify(serving.ports) : null,
        job: serving.job ? 1 : 0,
        wtChanged: serving.workingTree?.changedFiles ? serving.workingTree.changedFiles : null,
        wtAt: serving.workingTree?.changedFiles ? now : null,
      });
      this.sql.lastDeploy.run(now, now, sandbox);
    });
    this.announce('updated', sandbox);
  }

  /**
   * A watch measured the working tree after syncing it into the container of `deployment`:
   * `changedFiles` files of the service's context differ from its commit (0 clears the
   * marker). Nothing changes when another deployment serves the service by now (it switched
   * over meanwhile: its own record decides), nor when there is no marker to clear. Answers
   * whether the row changed (and so was announced).
   */
  markWorkingTree(sandbox: string, service: string, deployment: string, changedFiles: number): boolean {
    if (!Number.isInteger(changedFiles) || changedFiles < 0) throw new RangeError(`changedFiles must be an integer >= 0, not ${changedFiles}`);
    const changed = changedFiles === 0 ? null : changedFiles;
    const done = this.sql.markWorkingTree.run({ sandbox, service, deployment, changed, now: this.now().toISOString() }).changes > 0;
    if (done) this.announce('updated', sandbox);
    return done;
  }

  /** Nothing serves `service` in `sandbox` any more (its container was removed). Its route stays. */
  clearServing(sandbox: string, service: string): void {
    this.store.transaction(() => {
      this.sql.clearServing.run(sandbox, service);
      this.sql.touch.run(this.now().toISOString(), sandbox);
    });
    this.announce('updated', sandbox);
  }

  /** Deletes the sandbox's rows (services and environment cascade). Ports are the allocator's. */
  remove(name: string): void {
    if (this.sql.remove.run(name).changes > 0) this.announce('deleted', name);
  }

  /** Runs `fn` in one transaction of the state database (see Store.transaction). */
  transaction<T>(fn: () => T): T {
    return this.store.transaction(fn);
  }

  /** Announces that something about `name` changed (e.g. its ports). */
  changed(name: string): void {
    if (this.sql.get.get(name)) this.announce('updated', name);
  }

  /** Calls `listener` for every change; returns the function that stops it. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private requireRowFor(name: string): void {
    if (!this.sql.get.get(name))
      throw new RpcError('SandboxNotFound', `No sandbox "${name}": it was deleted.`, { sandbox: name });
  }

  private announce(kind: SandboxEvent['kind'], name: string): void {
    if (this.listeners.size === 0) return;
    const last = [...this.pending].reverse().find((e) => e.name === name);
    if (kind === 'updated' && last && last.kind !== 'deleted') return;
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push({ kind, name });
  }

  private flush(): void {
    const events = this.pending;
    this.pending = [];
    for (const { kind, name } of events) {
      let event: SandboxEvent;
      if (kind === 'deleted') event = { kind, name };
      else {
        const sandbox = this.get(name);
        if (!sandbox) continue;
        event = { kind, name, sandbox };
      }
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A listener's failure is its own; the others still hear about the change.
        }
      }
    }
  }

  private view(row: SandboxRow): Sandbox {
    return {
      name: row.name,
      state: row.state,
      owner: row.owner,
      ...(row.project !== null ? { project: row.project } : {}),
      ...(row.repo_path !== null ? { repoPath: row.repo_path } : {}),
      ...(row.template !== null ? { template: row.template } : {}),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      ...(row.last_deploy_at !== null ? { lastDeployAt: row.last_deploy_at } : {}),
      ...(row.ttl_policy !== null ? { ttl: JSON.parse(row.ttl_policy) as TtlPolicy } : {}),
      ...(row.resources !== null ? { resources: JSON.parse(row.resources) as Resources } : {}),
      network: networkName(row.name),
      services: this.sql.services.all(row.name).map(serviceView),
      ports: this.sql.ports.all(row.name).map(portView),
      ...withFollow(this.follows.get(row.name)),
    };
  }
}

const withFollow = (follow: Sandbox['follow']) => (follow ? { follow } : {});

function notFound(name: string): RpcError {
  return new RpcError('SandboxNotFound', `No sandbox "${name}". sandbox/list shows the existing ones.`, { sandbox: name });
}

function serviceView(row: ServiceRow): SandboxServiceView {
  return {
    service: row.service,
    route: row.route,
    ...(row.route_url !== null ? { routeUrl: row.route_url } : {}),
    ...(row.branch !== null ? { branch: row.branch } : {}),
    ...(row.commit_sha !== null ? { commit: row.commit_sha } : {}),
    ...(row.container_id !== null ? { containerId: row.container_id } : {}),
    ...(row.host_port !== null ? { hostPort: row.host_port, url: `http://127.0.0.1:${row.host_port}` } : {}),
    ...(row.deployment_id !== null ? { deploymentId: row.deployment_id } : {}),
    ...(row.ports !== null ? { ports: JSON.parse(row.ports) as SandboxServiceView['ports'] } : {}),
    ...(row.job === 1 ? { job: true } : {}),
    // The three columns are written together: a count always has its times.
    ...(row.wt_changed_files !== null
      ? { workingTree: { changedFiles: row.wt_changed_files, since: row.wt_since as string, updatedAt: row.wt_updated_at as string } }
      : {}),
  };
}

function portView(row: PortRow): PortLease {
  return {
    port: row.port,
    ...(row.service !== null ? { service: row.service } : {}),
    purpose: row.purpose,
    ...(row.deployment_id !== null ? { deploymentId: row.deployment_id } : {}),
    allocatedAt: row.allocated_at,
  };
}
