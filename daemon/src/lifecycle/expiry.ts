/**
 * Expiry of sandboxes by their TTL policy (`ttl: {idle, retain?, from?}`). A sandbox's idle
 * time counts from what `from` names ({@link activitySince}): by default (`activity`) the
 * latest of its creation, its last deployment and the last request through its gateway;
 * `created` its creation only; `deploy` its last deployment; `request` its last gateway
 * request. In every basis a resume starts the idle time afresh (an expired sandbox that is
 * resumed would otherwise expire again at once), `sandbox/extend` adds time to the deadline,
 * and while a deployment of it is in progress it does not expire. The gateways know the last
 * request in memory; each round writes it to the sandbox's expiry record (`request_at`), so
 * after a daemon restart it still counts, to within one round.
 *
 * Every `intervalMs` the reaper: warns (`sandbox/expiry` kind `warning`) once `warningMs`
 * before an active sandbox expires; at expiry suspends it into state `expired` (kind
 * `expired`); `retain` after expiring, deletes it (kind `deleted`). Each step is audited as
 * done by the daemon (`client: branchboxd`).
 */
import type { TtlBasis } from '../../../schemas/src/project';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { ExpiryNotice } from '../../../schemas/src/lifecycle-sandbox';
import { TypedEmitter } from '../docker/typed-emitter';
import { parseDuration } from '../project/units';
import type { AuditEntry } from '../rpc/dispatcher';
import { isRpcError, RpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import type { SandboxStore } from '../sandbox/sandbox-store';
import type { DeploymentStore } from '../deploy/deployment-store';
import type { Store } from '../state/store';
import { PeriodicRound } from './periodic';
import type { SandboxSuspension } from './suspension';

export const DEFAULT_EXPIRY_INTERVAL_MS = 30_000;
export const DEFAULT_EXPIRY_WARNING_MS = 60 * 60_000;

interface ExpiryRow {
  sandbox: string;
  extended_ms: number;
  activity_at: string | null;
  request_at: string | null;
  warned_at: string | null;
  expired_at: string | null;
}

export interface ExpiryDeadlines {
  /** When an active sandbox expires (absent without a TTL policy). */
  readonly expiresAt?: number;
  /** When an expired sandbox is deleted (absent without `retain`). */
  readonly deletesAt?: number;
}

type ExpiryRecord = { extendedMs: number; activityAt?: string; expiredAt?: string };

/**
 * When the sandbox's idle time began, by its policy's basis (pure): the activity `from`
 * names, or the last resume (`record.activityAt`) when that is later.
 */
export function activitySince(
  sandbox: Pick<Sandbox, 'ttl' | 'createdAt' | 'lastDeployAt'>,
  record: Pick<ExpiryRecord, 'activityAt'>,
  lastGatewayRequest: number | undefined,
): number {
  const created = Date.parse(sandbox.createdAt);
  const deployed = sandbox.lastDeployAt ? Date.parse(sandbox.lastDeployAt) : undefined;
  const since = {
    activity: () => Math.max(created, deployed ?? 0, lastGatewayRequest ?? 0),
    created: () => created,
    deploy: () => deployed ?? created,
    // (A request remembered from an earlier sandbox of the same name does not count.)
    request: () => Math.max(created, lastGatewayRequest ?? deployed ?? 0),
  }[sandbox.ttl?.from ?? 'activity']();
  return Math.max(since, record.activityAt ? Date.parse(record.activityAt) : 0);
}

/** The deadlines of a sandbox from its policy and activity (pure). */
export function deadlinesOf(
  sandbox: Pick<Sandbox, 'ttl' | 'createdAt' | 'lastDeployAt'>,
  record: ExpiryRecord,
  lastGatewayRequest: number | undefined,
): ExpiryDeadlines {
  if (!sandbox.ttl) return {};
  const expiresAt = activitySince(sandbox, record, lastGatewayRequest) + parseDuration(sandbox.ttl.idle) + record.extendedMs;
  if (!record.expiredAt || sandbox.ttl.retain === undefined) return { expiresAt };
  return { expiresAt, deletesAt: Date.parse(record.expiredAt) + parseDuration(sandbox.ttl.retain) + record.extendedMs };
}

export interface ExpiryReaperOptions {
  readonly store: Store;
  /** Whether a sandbox has deployments in flight (the deploy pipeline's store): they hold its expiry. */
  readonly deployments: Pick<DeploymentStore, 'inFlight'>;
  readonly sandboxes: SandboxStore;
  readonly suspension: SandboxSuspension;
  readonly deleteSandbox: (name: string) => Promise<unknown>;
  readonly lastGatewayRequest?: (sandbox: string) => number | undefined;
  readonly audit?: (entry: AuditEntry) => void;
  readonly intervalMs?: number;
  readonly warningMs?: number;
  readonly log?: Logger;
  readonly now?: () => number;
}

export class ExpiryReaper extends TypedEmitter<{ notice: [ExpiryNotice] }> {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sql;
  private readonly rounds: PeriodicRound;

  constructor(private readonly opts: ExpiryReaperOptions) {
    super();
    this.log = opts.log ?? nullLogger;
    this.now = opts.now ?? Date.now;
    const db = opts.store.db;
    this.sql = {
      get: db.prepare<[string], ExpiryRow>('SELECT * FROM sandbox_expiry WHERE sandbox = ?'),
      ensure: db.prepare<[string]>('INSERT INTO sandbox_expiry (sandbox) VALUES (?) ON CONFLICT (sandbox) DO NOTHING'),
      extend: db.prepare<[number, string]>('UPDATE sandbox_expiry SET extended_ms = extended_ms + ?, warned_at = NULL WHERE sandbox = ?'),
      warned: db.prepare<[string, string]>('UPDATE sandbox_expiry SET warned_at = ? WHERE sandbox = ?'),
      expired: db.prepare<[string, string]>('UPDATE sandbox_expiry SET expired_at = ?, extended_ms = 0 WHERE sandbox = ?'),
      requested: db.prepare<[string, string]>(
        'INSERT INTO sandbox_expiry (sandbox, request_at) VALUES (?, ?) ON CONFLICT (sandbox) DO UPDATE SET request_at = excluded.request_at',
      ),
      active: db.prepare<[string, string]>(
        'UPDATE sandbox_expiry SET activity_at = ?, expired_at = NULL, warned_at = NULL, extended_ms = 0 WHERE sandbox = ?',
      ),
    };
    this.rounds = new PeriodicRound(
      () => this.checkAll(),
      opts.intervalMs ?? DEFAULT_EXPIRY_INTERVAL_MS,
      (e) => this.log.warn('Expiry round failed', { error: String(e) }),
    );
  }

  start(): void {
    this.rounds.start();
  }

  async stop(): Promise<void> {
    await this.rounds.stop();
    this.recordRequests();
  }

  /** The sandbox's deadlines now (from its expiry record `row`, read when not given). */
  deadlines(sandbox: Sandbox, row: ExpiryRow | undefined = this.sql.get.get(sandbox.name)): ExpiryDeadlines {
    // The last gateway request: the gateways' (this run), else the one recorded (an earlier run).
    const live = this.opts.lastGatewayRequest?.(sandbox.name);
    const recorded = row?.request_at ? Date.parse(row.request_at) : undefined;
    const lastRequest = live === undefined ? recorded : Math.max(live, recorded ?? 0);
    return deadlinesOf(sandbox, recordOf(row), lastRequest);
  }

  /** Records the gateways' last request of each sandbox that has a newer one than recorded. */
  private recordRequests(): void {
    for (const { name } of this.opts.sandboxes.list()) {
      const live = this.opts.lastGatewayRequest?.(name);
      if (live === undefined) continue;
      const recorded = this.sql.get.get(name)?.request_at;
      if (recorded && Date.parse(recorded) >= live) continue;
      this.sql.requested.run(name, new Date(live).toISOString());
    }
  }

  /** Adds `by` to the sandbox's deadline (expiry when active, deletion when expired). */
  extend(name: string, by: string, requester: string): { sandbox: Sandbox; expiresAt?: string; deletesAt?: string } {
    const sandbox = this.opts.sandboxes.require(name);
    if (!sandbox.ttl)
      throw new RpcError('Conflict', `Sandbox "${name}" has no TTL policy; set one with sandbox/update.`, { sandbox: name });
    this.sql.ensure.run(name);
    this.sql.extend.run(parseDuration(by), name);
    this.opts.sandboxes.changed(name);
    const after = this.opts.sandboxes.require(name);
    const deadlines = iso(this.deadlines(after));
    this.log.info(`Extended sandbox ${name} by ${by}`, { sandbox: name, by: requester, ...deadlines });
    return { sandbox: after, ...(after.state === 'expired' ? { deletesAt: deadlines.deletesAt } : { expiresAt: deadlines.expiresAt }) };
  }

  /** A resume (or anything else that makes it active again) starts its idle time afresh. */
  activated(name: string): void {
    this.sql.ensure.run(name);
    this.sql.active.run(new Date(this.now()).toISOString(), name);
  }

  /** Runs one round now (also what the timer runs). */
  async checkAll(): Promise<void> {
    this.recordRequests();
    for (const sandbox of this.opts.sandboxes.list()) {
      if (!sandbox.ttl) continue;
      try {
        await this.check(sandbox);
      } catch (e) {
        this.log.warn(`Expiry of sandbox ${sandbox.name} failed: ${isRpcError(e) ? e.message : String(e)}`, { sandbox: sandbox.name });
      }
    }
  }

  private async check(sandbox: Sandbox): Promise<void> {
    const now = this.now();
    const name = sandbox.name;
    const record = this.sql.get.get(name);
    const { expiresAt, deletesAt } = this.deadlines(sandbox, record);
    if (sandbox.state === 'active' && expiresAt !== undefined) {
      // A deployment in progress is activity: the sandbox is not idle meanwhile.
      if (this.opts.deployments.inFlight(name) > 0) return;
      if (now >= expiresAt) {
        await this.opts.suspension.suspend(name, 'expired');
        this.sql.ensure.run(name);
        this.sql.expired.run(new Date(now).toISOString(), name);
        this.done(name, 'expired', `idle for ${sandbox.ttl!.idle}${basisNote(sandbox.ttl!.from)}`, this.deadlines(this.opts.sandboxes.require(name)));
      } else if (now >= expiresAt - (this.opts.warningMs ?? DEFAULT_EXPIRY_WARNING_MS) && !record?.warned_at) {
        this.sql.ensure.run(name);
        this.sql.warned.run(new Date(now).toISOString(), name);
        this.done(name, 'warning', `expires in ${Math.max(0, expiresAt - now)} ms unless extended`, { expiresAt });
      }
      return;
    }
    if (sandbox.state === 'expired' && !record?.expired_at) {
      // Expired without a record (e.g. the daemon stopped in between): retention counts from now.
      this.sql.ensure.run(name);
      this.sql.expired.run(new Date(now).toISOString(), name);
      return;
    }
    if (sandbox.state === 'expired' && deletesAt !== undefined && now >= deletesAt) {
      await this.opts.deleteSandbox(name);
      this.done(name, 'deleted', `retained ${sandbox.ttl!.retain ?? ''} after expiring`, {});
    }
  }

  private done(name: string, kind: ExpiryNotice['kind'], why: string, deadlines: ExpiryDeadlines): void {
    const method = { warning: 'sandbox/expiry-warning', expired: 'sandbox/expire', deleted: 'sandbox/expiry-delete' }[kind];
    this.log.info(`Sandbox ${name}: ${kind} (${why})`, { sandbox: name, ...iso(deadlines) });
    this.opts.audit?.({ client: 'branchboxd', osUser: 'branchboxd', method, target: `sandbox=${name}`, outcome: 'ok', detail: { reason: why, ...iso(deadlines) } });
    this.emit('notice', { sandbox: name, kind, reason: why, at: new Date(this.now()).toISOString(), ...iso(deadlines) });
  }
}

function recordOf(row: ExpiryRow | undefined): ExpiryRecord {
  return {
    extendedMs: row?.extended_ms ?? 0,
    ...(row?.activity_at ? { activityAt: row.activity_at } : {}),
    ...(row?.expired_at ? { expiredAt: row.expired_at } : {}),
  };
}

/** How the expiry reason names a basis other than the default. */
function basisNote(from: TtlBasis | undefined): string {
  return { activity: '', created: ' since creation', deploy: ' since the last deployment', request: ' since the last gateway request' }[
    from ?? 'activity'
  ];
}

function iso(d: ExpiryDeadlines): { expiresAt?: string; deletesAt?: string } {
  return {
    ...(d.expiresAt !== undefined ? { expiresAt: new Date(d.expiresAt).toISOString() } : {}),
    ...(d.deletesAt !== undefined ? { deletesAt: new Date(d.deletesAt).toISOString() } : {}),
  };
}
