/**
 * The audit trail's `detail`: what each state-changing request changed, recorded from its
 * params and result (daemon/src/state/audit-detail.ts), masked, and answered by audit/list.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { methods } from '../../schemas/src/index';
import { queryAudit } from '../../daemon/src/methods/audit';
import { Redactor } from '../../daemon/src/runtime/redactor';
import { auditDetail, hasAuditDetail } from '../../daemon/src/state/audit-detail';
import { AuditTrail } from '../../daemon/src/state/audit';
import { openStore, type Store } from '../../daemon/src/state/store';

const SECRET = 'Zq9-audit-secret-value';

let dir: string;
let store: Store;
let trail: AuditTrail;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-audit-detail-'));
  store = openStore(path.join(dir, 'state.db'));
  const redactor = new Redactor();
  redactor.setSecrets('environment', [SECRET]);
  trail = new AuditTrail(store, redactor);
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const entry = (method: string, params: unknown, result?: unknown, outcome = 'ok') => ({
  client: 'test',
  osUser: 'alice',
  method,
  target: undefined,
  outcome,
  params,
  result,
});

describe('audit detail', () => {
  it('has a detail function for every state-changing method of the protocol', () => {
    const audited = Object.entries(methods)
      .filter(([, spec]) => (spec as { mutating?: boolean }).mutating)
      .map(([name]) => name);
    expect(audited.length).toBeGreaterThan(20);
    expect(audited.filter((m) => !hasAuditDetail(m))).toEqual([]);
  });

  it('records what changed: ref, commit and deployments of a deploy, a route target, a TTL, an extension', () => {
    trail.record(
      entry(
        'deploy/start',
        { repoPath: '/repo', sandbox: 'qa', ref: 'feature/x', commit: 'abc1234', services: ['web'] },
        { deployments: [{ id: 'd-1', service: 'web' }] },
      ),
    );
    trail.record(entry('route/set', { sandbox: 'qa', service: 'web', kind: 'url', url: 'https://x.example' }));
    trail.record(entry('sandbox/update', { name: 'qa', ttl: { idle: '3d' } }));
    trail.record(entry('sandbox/extend', { name: 'qa', by: '2h' }, { sandbox: {}, expiresAt: '2030-01-01T02:00:00.000Z' }));
    trail.record(entry('sandbox/delete', { name: 'qa' }, { containers: 2, networks: 1, ports: 3 }));
    trail.record(entry('sandbox/suspend', { name: 'qa' }, undefined, 'error Conflict: busy'));
    const details = Object.fromEntries(queryAudit(store, {}).map((e) => [e.method, e.detail]));
    expect(details).toEqual({
      'deploy/start': { ref: 'feature/x', commit: 'abc1234', services: ['web'], deployments: ['web: d-1'] },
      'route/set': { kind: 'url', url: 'https://x.example' },
      'sandbox/update': { ttl: { idle: '3d' } },
      'sandbox/extend': { by: '2h', expiresAt: '2030-01-01T02:00:00.000Z' },
      'sandbox/delete': { containers: 2, networks: 1, ports: 3 },
      'sandbox/suspend': undefined, // failed, and nothing in its params to tell
    });
  });

  it('records environment keys, never values, and masks secrets anywhere in the detail', () => {
    trail.record(entry('env/set', { sandbox: 'qa', key: 'DATABASE_URL', value: SECRET, secret: true }));
    trail.record(entry('env/set', { sandbox: 'qa', service: 'web', key: 'MODE', value: 'plain-value-x', secret: false }));
    trail.record(entry('container/exec', { id: 'c1', cmd: ['sh', '-c', `echo ${SECRET}`], env: { TOKEN: SECRET } }, { session: 's1', subscription: 'u1' }));
    trail.record(entry('template/save', { name: 't', spec: { services: { web: {} }, env: { LEVEL: 'debug-value' } } }));
    const rows = queryAudit(store, {});
    const text = JSON.stringify(store.db.prepare('SELECT * FROM audit').all());
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('plain-value-x');
    expect(text).not.toContain('debug-value');
    expect(rows.map((r) => r.detail)).toEqual([
      { services: ['web'], envKeys: ['LEVEL'] },
      { cmd: ['sh', '-c', 'echo ***'], envKeys: ['TOKEN'], session: 's1' },
      { scope: 'web', key: 'MODE', kind: 'variable' },
      { scope: 'sandbox', key: 'DATABASE_URL', kind: 'secret' },
    ]);
  });

  it('takes a detail given directly (entries that are not requests) and survives params of another shape', () => {
    trail.record({ client: 'branchboxd', osUser: 'branchboxd', method: 'sandbox/expire', target: 'sandbox=qa', outcome: 'ok', detail: { reason: 'idle for 3d' } });
    expect(queryAudit(store, {})[0]?.detail).toEqual({ reason: 'idle for 3d' });
    expect(auditDetail('template/save', { name: 't' }, undefined)).toBeUndefined();
    expect(auditDetail('no/such', {}, undefined)).toBeUndefined();
  });
});
