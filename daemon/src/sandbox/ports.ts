/**
 * Host ports for sandbox services and gateways: handed out from configurable ranges, checked
 * against what already listens on the host, recorded in the `ports` table (sandbox, service,
 * purpose, deployment, time) — whose primary key makes handing a port out twice impossible —
 * and released when their sandbox is deleted. Allocation is synchronous: the check and the
 * record happen in one step of the event loop.
 */
import type { PortLease } from '../../../schemas/src/sandbox';
import { RpcError } from '../rpc/errors';
import type { Store } from '../state/store';
import { hostPortCheck, type HostPortCheck } from './port-probe';

export type PortPurpose = 'service' | 'gateway';

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export const DEFAULT_PORT_RANGES: Readonly<Record<PortPurpose, PortRange>> = {
  service: { from: 42000, to: 42999 },
  gateway: { from: 41100, to: 41199 }, // above the shared gateway's (DEFAULT_SHARED_GATEWAY_PORT, flags.ts)
};

export interface PortRequest {
  readonly sandbox: string;
  readonly service?: string;
  readonly purpose: PortPurpose;
  readonly deploymentId?: string;
}

export interface PortAllocatorOptions {
  readonly ranges?: Partial<Record<PortPurpose, PortRange>>;
  /** How ports already taken on the host are found (tests replace it). */
  readonly hostCheck?: HostPortCheck;
  /** Told which sandbox's ports changed. */
  readonly onChange?: (sandbox: string) => void;
  readonly now?: () => Date;
  /**
   * Where in each range the search starts, as a fraction in [0, 1). Default random, so that
   * two daemons on one host (two users, or tests) rarely reach for the same port at once.
   */
  readonly start?: () => number;
}

export class PortAllocator {
  private readonly ranges: Readonly<Record<PortPurpose, PortRange>>;
  private readonly hostCheck: HostPortCheck;
  /** Where the next search starts, per purpose: it moves on past each port handed out, so released ports are reused last. */
  private readonly cursor: Record<PortPurpose, number>;
  private readonly sql;

  constructor(
    private readonly store: Store,
    private readonly opts: PortAllocatorOptions = {},
  ) {
    this.ranges = { ...DEFAULT_PORT_RANGES, ...opts.ranges };
    for (const [purpose, range] of Object.entries(this.ranges)) {
      if (
        !Number.isInteger(range.from) ||
        !Number.isInteger(range.to) ||
        range.from < 1 ||
        range.to > 65535 ||
        range.from > range.to
      ) {
        throw new Error(`Invalid ${purpose} port range ${range.from}-${range.to}`);
      }
    }
    this.hostCheck = opts.hostCheck ?? hostPortCheck();
    const start = opts.start ?? Math.random;
    const offset = (r: PortRange) => r.from + Math.min(r.to - r.from, Math.floor(start() * (r.to - r.from + 1)));
    this.cursor = { service: offset(this.ranges.service), gateway: offset(this.ranges.gateway) };
    const db = store.db;
    this.sql = {
      held: db.prepare<[number, number], { port: number }>('SELECT port FROM ports WHERE port BETWEEN ? AND ?'),
      insert: db.prepare(
        `INSERT INTO ports (port, sandbox, service, purpose, deployment_id, allocated_at)
         VALUES (@port, @sandbox, @service, @purpose, @deploymentId, @at)`,
      ),
      owner: db.prepare<[number], { sandbox: string }>('SELECT sandbox FROM ports WHERE port = ?'),
      release: db.prepare<[number]>('DELETE FROM ports WHERE port = ?'),
      bySandbox: db.prepare<
        [string],
        {
          port: number;
          service: string | null;
          purpose: PortPurpose;
          deployment_id: string | null;
          allocated_at: string;
        }
      >('SELECT * FROM ports WHERE sandbox = ? ORDER BY port'),
      releaseSandbox: db.prepare<[string]>('DELETE FROM ports WHERE sandbox = ?'),
      sandboxes: db.prepare<[], { sandbox: string }>('SELECT DISTINCT sandbox FROM ports'),
      ofDeployment: db.prepare<[string], { port: number }>('SELECT port FROM ports WHERE deployment_id = ?'),
    };
  }

  /**
   * A port of the purpose's range that no sandbox holds and nothing on the host listens on,
   * recorded for the requester. @throws RpcError PortExhausted
   */
  allocate(req: PortRequest): number {
    const range = this.ranges[req.purpose];
    const held = new Set(this.sql.held.all(range.from, range.to).map((r) => r.port));
    const size = range.to - range.from + 1;
    const start = this.cursor[req.purpose];
    const candidates: number[] = [];
    for (let i = 0; i < size; i++) {
      const port = range.from + ((start - range.from + i) % size);
      if (!held.has(port)) candidates.push(port);
    }
    const port = candidates.length ? this.hostCheck.firstFree(candidates) : undefined;
    if (port === undefined) {
      throw new RpcError(
        'PortExhausted',
        `No free ${req.purpose} port in ${range.from}-${range.to} for ${req.sandbox}${req.service ? `/${req.service}` : ''}: ` +
          `${held.size} are held by sandboxes, ${candidates.length} are in use on the host. Delete unused sandboxes or widen the range.`,
        { purpose: req.purpose, from: range.from, to: range.to, heldBySandboxes: held.size },
      );
    }
    this.sql.insert.run({
      port,
      sandbox: req.sandbox,
      service: req.service ?? null,
      purpose: req.purpose,
      deploymentId: req.deploymentId ?? null,
      at: (this.opts.now?.() ?? new Date()).toISOString(),
    });
    this.cursor[req.purpose] = port + 1 > range.to ? range.from : port + 1;
    this.opts.onChange?.(req.sandbox);
    return port;
  }

  /** Gives a port back; releasing a port not held does nothing. */
  release(port: number): void {
    const owner = this.sql.owner.get(port);
    if (!owner) return;
    this.sql.release.run(port);
    this.opts.onChange?.(owner.sandbox);
  }

  /** Gives back every port of the sandbox; answers how many. */
  releaseSandbox(sandbox: string): number {
    const released = this.sql.releaseSandbox.run(sandbox).changes;
    if (released > 0) this.opts.onChange?.(sandbox);
    return released;
  }

  /** The sandboxes holding at least one port. */
  sandboxesHolding(): string[] {
    return this.sql.sandboxes.all().map((r) => r.sandbox);
  }

  /** The ports held for a deployment. */
  heldByDeployment(deploymentId: string): number[] {
    return this.sql.ofDeployment.all(deploymentId).map((r) => r.port);
  }

  heldBy(sandbox: string): PortLease[] {
    return this.sql.bySandbox.all(sandbox).map((row) => ({
      port: row.port,
      ...(row.service !== null ? { service: row.service } : {}),
      purpose: row.purpose,
      ...(row.deployment_id !== null ? { deploymentId: row.deployment_id } : {}),
      allocatedAt: row.allocated_at,
    }));
  }
}
