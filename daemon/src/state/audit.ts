/**
 * The audit trail: one row per state-changing request, with who (client, OS user), what
 * (method, target), when and the outcome. Values reaching here are already free of secrets:
 * targets are names and ids, outcomes are error messages that the redactor has masked.
 */
import type { AuditEntry } from '../rpc/dispatcher';
import type { Redactor } from '../runtime/log';
import type { Store } from './store';

export class AuditTrail {
  private readonly insert;

  constructor(
    private readonly store: Store,
    private readonly redactor: Redactor,
  ) {
    this.insert = store.db.prepare(
      'INSERT INTO audit (at, client, os_user, method, target, outcome) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  record(entry: AuditEntry, at = new Date()): void {
    this.insert.run(
      at.toISOString(),
      entry.client ?? null,
      entry.osUser,
      entry.method,
      entry.target === undefined ? null : this.redactor.redactText(entry.target),
      this.redactor.redactText(entry.outcome),
    );
  }
}
