/**
 * The audit trail: one row per state-changing request, with who (client, OS user), what
 * (method, target), when, the outcome, and the detail of what changed (./audit-detail.ts:
 * ref and commit of a deploy, a route's target, a TTL, environment keys — never values).
 * Target, outcome and detail pass the daemon's Redactor before they are stored.
 */
import type { AuditEntry } from '../rpc/dispatcher';
import type { Redactor } from '../runtime/redactor';
import { auditDetail } from './audit-detail';
import type { Store } from './store';

export class AuditTrail {
  private readonly insert;

  constructor(
    private readonly store: Store,
    private readonly redactor: Redactor,
  ) {
    this.insert = store.db.prepare(
      'INSERT INTO audit (at, client, os_user, method, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  record(entry: AuditEntry, at = new Date()): void {
    const detail = entry.detail ?? auditDetail(entry.method, entry.params, entry.result);
    this.insert.run(
      at.toISOString(),
      entry.client ?? null,
      entry.osUser,
      entry.method,
      entry.target === undefined ? null : this.redactor.redactText(entry.target),
      this.redactor.redactText(entry.outcome),
      detail === undefined ? null : JSON.stringify(this.redactor.redactValue(detail)),
    );
  }
}
