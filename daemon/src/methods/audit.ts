/**
 * `audit/list`: the audit trail the dispatcher writes for every state-changing request
 * (daemon/src/state/audit.ts), newest first, filtered by method, target, client and time.
 */
import type { AuditRecord } from '../../../schemas/src/sandbox';
import type { HandlerGroup } from '../rpc/handlers';
import type { Store } from '../state/store';

export interface AuditFilter {
  /** A method, or a namespace ending in "/". */
  readonly method?: string;
  /** `key=value`, or a bare value matching any key. */
  readonly target?: string;
  readonly client?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
}

interface AuditRow {
  id: number;
  at: string;
  client: string | null;
  os_user: string | null;
  method: string;
  target: string | null;
  outcome: string;
  detail: string | null;
}

export const DEFAULT_AUDIT_LIMIT = 200;

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The entries matching `filter`, newest first. */
export function queryAudit(store: Store, filter: AuditFilter): AuditRecord[] {
  const where: string[] = [];
  const values: unknown[] = [];
  if (filter.method !== undefined) {
    if (filter.method.endsWith('/')) {
      where.push("method LIKE ? ESCAPE '\\'");
      values.push(`${escapeLike(filter.method)}%`);
    } else {
      where.push('method = ?');
      values.push(filter.method);
    }
  }
  if (filter.target !== undefined) {
    // Targets read "key=value key2=value2"; match one whole token.
    where.push("(' ' || target || ' ') LIKE ? ESCAPE '\\'");
    values.push(filter.target.includes('=') ? `% ${escapeLike(filter.target)} %` : `%=${escapeLike(filter.target)} %`);
  }
  if (filter.client !== undefined) {
    where.push('client = ?');
    values.push(filter.client);
  }
  if (filter.since !== undefined) {
    where.push('at >= ?');
    values.push(new Date(filter.since).toISOString());
  }
  if (filter.until !== undefined) {
    where.push('at < ?');
    values.push(new Date(filter.until).toISOString());
  }
  const sql = `SELECT id, at, client, os_user, method, target, outcome, detail FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  const rows = store.db.prepare(sql).all(...values, filter.limit ?? DEFAULT_AUDIT_LIMIT) as AuditRow[];
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    ...(row.client !== null ? { client: row.client } : {}),
    ...(row.os_user !== null ? { osUser: row.os_user } : {}),
    method: row.method,
    ...(row.target !== null ? { target: row.target } : {}),
    outcome: row.outcome,
    ...(row.detail !== null ? { detail: parseDetail(row.detail) } : {}),
  }));
}

/** The stored detail (a JSON object); a row written otherwise shows as `{ text }`. */
function parseDetail(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return { text };
}

export function auditHandlers(deps: { readonly store: Store }): HandlerGroup<'audit/list'> {
  return {
    'audit/list': (p) => ({ entries: queryAudit(deps.store, p) }),
  };
}
