import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../daemon/src/methods/audit';
import { Redactor } from '../../../daemon/src/runtime/log';
import { TemplateStore } from '../../../daemon/src/sandbox/templates';
import { AuditTrail } from '../../../daemon/src/state/audit';
import { openStore, type Store } from '../../../daemon/src/state/store';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-audit-'));
  store = openStore(path.join(dir, 'state.db'));
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('audit/list query', () => {
  beforeEach(() => {
    const trail = new AuditTrail(store, new Redactor());
    const at = (m: number) => new Date(Date.UTC(2030, 0, 1, 0, m));
    trail.record(
      { client: 'code', osUser: 'alice', method: 'sandbox/create', target: 'name=qa1', outcome: 'ok' },
      at(1),
    );
    trail.record({ client: 'cli', osUser: 'bob', method: 'env/set', target: 'sandbox=qa1', outcome: 'ok' }, at(2));
    trail.record(
      {
        client: 'code',
        osUser: 'alice',
        method: 'sandbox/create',
        target: 'name=qa10',
        outcome: 'error NameTaken: taken',
      },
      at(3),
    );
    trail.record({ client: 'cli', osUser: 'bob', method: 'container/stop', target: 'id=abc', outcome: 'ok' }, at(4));
    trail.record(
      { client: 'code', osUser: 'alice', method: 'sandbox/delete', target: 'name=q_1', outcome: 'ok' },
      at(5),
    );
  });

  const methods = (filter: Parameters<typeof queryAudit>[1]) =>
    queryAudit(store, filter).map((e) => `${e.method} ${e.target}`);

  it('lists newest first with who, what, when and outcome', () => {
    const all = queryAudit(store, {});
    expect(all.map((e) => e.id)).toEqual([5, 4, 3, 2, 1]);
    expect(all[2]).toEqual({
      id: 3,
      at: '2030-01-01T00:03:00.000Z',
      client: 'code',
      osUser: 'alice',
      method: 'sandbox/create',
      target: 'name=qa10',
      outcome: 'error NameTaken: taken',
    });
  });

  it('filters by method or namespace, target token, client, time and limit', () => {
    expect(methods({ method: 'sandbox/create' })).toEqual(['sandbox/create name=qa10', 'sandbox/create name=qa1']);
    expect(methods({ method: 'sandbox/' })).toEqual([
      'sandbox/delete name=q_1',
      'sandbox/create name=qa10',
      'sandbox/create name=qa1',
    ]);
    expect(methods({ target: 'qa1' })).toEqual(['env/set sandbox=qa1', 'sandbox/create name=qa1']);
    expect(methods({ target: 'sandbox=qa1' })).toEqual(['env/set sandbox=qa1']);
    expect(methods({ target: 'q_1' })).toEqual(['sandbox/delete name=q_1']); // LIKE wildcards are literal
    expect(methods({ client: 'cli' })).toEqual(['container/stop id=abc', 'env/set sandbox=qa1']);
    expect(methods({ since: '2030-01-01T00:02:00Z', until: '2030-01-01T00:04:00Z' })).toEqual([
      'sandbox/create name=qa10',
      'env/set sandbox=qa1',
    ]);
    expect(methods({ limit: 2 })).toEqual(['sandbox/delete name=q_1', 'container/stop id=abc']);
  });
});

describe('TemplateStore', () => {
  it('saves, replaces, lists, gets and deletes saved templates', () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const templates = new TemplateStore(store, () => now);
    const saved = templates.save('qa', { services: { web: { branch: 'main' } }, ttl: '1d' });
    expect(saved).toEqual({
      name: 'qa',
      source: 'saved',
      spec: { services: { web: { branch: 'main' } }, ttl: '1d' },
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:00.000Z',
    });
    now = new Date('2030-01-02T00:00:00Z');
    expect(templates.save('qa', { services: {} })).toMatchObject({
      spec: { services: {} },
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-02T00:00:00.000Z',
    });
    expect(templates.list().map((t) => t.name)).toEqual(['qa']);
    templates.delete('qa');
    expect(() => templates.delete('qa')).toThrow(expect.objectContaining({ errorName: 'TemplateNotFound' }));
    expect(() => templates.require('qa')).toThrow(expect.objectContaining({ errorName: 'TemplateNotFound' }));
  });

  it('checks names, services and keys', () => {
    const templates = new TemplateStore(store);
    expect(() => templates.save('Bad Name', { services: {} })).toThrow(
      expect.objectContaining({ errorName: 'InvalidName' }),
    );
    expect(() => templates.save('t', { services: { Web: { branch: 'x' } } })).toThrow(
      expect.objectContaining({ errorName: 'InvalidName' }),
    );
    expect(() => templates.save('t', { services: { web: {} } })).toThrow(
      expect.objectContaining({ errorName: 'InvalidParams' }),
    );
    expect(() => templates.save('t', { services: {}, routes: { web: { kind: 'url' } } })).toThrow(
      expect.objectContaining({ errorName: 'InvalidParams' }),
    );
  });
});
