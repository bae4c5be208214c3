/**
 * The sandbox commands' pure logic against recorded answers of a real daemon
 * (fixtures/sandbox-session.json): name validation, quick-pick items, route explanations,
 * audit and deployment log text — and that a secret never shows.
 */
import { describe, expect, it, vi } from 'vitest';
import type { DeployLogLine, DeploymentRecord } from '../../../schemas/src/deploy';
import { Value } from '@sinclair/typebox/value';
import { Project as ProjectSchema, type Project } from '../../../schemas/src/project';
import type { RouteDecisionView } from '../../../schemas/src/route';
import type { AuditRecord, EnvEntry, Sandbox, SnapshotSummary, Template } from '../../../schemas/src/sandbox';
import {
  CREATE_NEW,
  EMPTY_SANDBOX,
  auditText,
  deleteDetail,
  deletedText,
  deploymentLogText,
  envPickItems,
  explainText,
  failureSummary,
  resumedText,
  suspendedText,
  forwardsText,
  profilePickItems,
  sandboxPickItems,
  serviceListens,
  servicePickItems,
  snapshotPickItems,
  suggestName,
  templatePickItems,
  validateEnvKey,
  validateName,
  validateUrl,
} from '../../../extension/src/sandbox-logic';
import session from './fixtures/sandbox-session.json';

vi.mock('vscode', () => ({}));

type Message = { kind: string; method: string; params?: unknown; result?: unknown };
const results = (method: string) => (session as Message[]).filter((m) => m.kind === 'result' && m.method === method).map((m) => m.result);
const sandbox = results('sandbox/get')[0] as Sandbox;

describe('names', () => {
  it('accepts DNS labels and says what is wrong with the rest', () => {
    expect(validateName('qa-1')).toBeUndefined();
    expect(validateName('a'.repeat(40))).toBeUndefined();
    expect(validateName('')).toBe('Enter a sandbox name.');
    expect(validateName('a'.repeat(41))).toBe('At most 40 characters (this is 41).');
    expect(validateName('QA')).toBe('Lowercase letters only.');
    expect(validateName('feature/x')).toBe('Only lowercase letters a-z, digits 0-9 and "-".');
    expect(validateName('-qa')).toBe('It cannot start or end with "-".');
    expect(validateName('rec-demo', ['rec-demo'])).toBe('A sandbox named rec-demo already exists.');
    expect(validateName('snap', ['snap'], 'snapshot')).toBe('A snapshot named snap already exists.');
  });

  it('suggests a valid name for a branch', () => {
    expect(suggestName('feature/X_1')).toBe('feature-x-1');
    expect(suggestName('--')).toBe('sandbox');
    expect(validateName(suggestName(`feature/${'x'.repeat(60)}`))).toBeUndefined();
  });

  it('checks environment keys and route URLs', () => {
    expect(validateEnvKey('API_TOKEN')).toBeUndefined();
    expect(validateEnvKey('1X')).toMatch(/not starting with a digit/);
    expect(validateUrl('https://account.staging.example.com')).toBeUndefined();
    expect(validateUrl('ftp://x')).toBe('An http:// or https:// URL.');
    expect(validateUrl('nope')).toMatch(/^An absolute URL/);
  });
});

describe('quick-pick items from recorded answers', () => {
  it('sandboxes: the current one first, then "Create new…"', () => {
    const other = { ...sandbox, name: 'alpha', services: [] };
    const items = sandboxPickItems([other, sandbox], 'rec-demo');
    expect(items.map((i) => i.label)).toEqual(['rec-demo', 'alpha', '$(add) Create new…']);
    expect(items[0]!.description).toBe('current · recshop · http://127.0.0.1:41138');
    expect(items[0]!.detail).toMatch(/^account feature\/x@[0-9a-f]{7} → sandbox, payment feature\/x@[0-9a-f]{7} → sandbox$/);
    expect(items[1]!.detail).toBe('no services deployed');
    expect(items[2]!.value).toBe(CREATE_NEW);
    expect(sandboxPickItems([{ ...sandbox, state: 'deleting' }]).map((i) => i.label)).toEqual(['$(add) Create new…']);
  });

  it('services of branchbox.yaml, all picked by default', () => {
    const project = results('project/load')[0] as Project;
    expect(servicePickItems(project).map((i) => [i.label, i.description, i.detail, i.picked])).toEqual([
      ['account', 'port 8080', 'services/account/Dockerfile', true],
      ['payment', 'port 8080', 'services/payment/Dockerfile', true],
    ]);
    expect(servicePickItems(project, ['payment']).map((i) => i.picked)).toEqual([false, true]);
  });

  it('services of a compose project: ports, jobs and workers, profiles (the project valid by its schema)', () => {
    const recorded = results('project/load')[0] as Project;
    const base = recorded.services.account!;
    const project: Project = {
      ...recorded,
      source: { kind: 'compose', files: ['/repo/compose.yaml'] },
      profiles: ['debug', 'tools'],
      services: {
        api: { ...base, name: 'api', port: 8080, ports: [{ container: 8080, protocol: 'tcp', published: 8080 }], dependsOn: { db: { condition: 'service_healthy', required: true, restart: false }, migrate: { condition: 'service_completed_successfully', required: true, restart: false } } },
        db: { ...base, name: 'db', http: false, build: { kind: 'image', image: 'branchbox/postgres:15' }, port: 5432, ports: [{ container: 5432, protocol: 'tcp', published: 5432 }, { container: 9187, protocol: 'udp' }] },
        migrate: { ...base, name: 'migrate', http: false, port: undefined, job: true },
        worker: { ...base, name: 'worker', http: false, port: undefined },
        adminer: { ...base, name: 'adminer', port: 8081, profiles: ['debug'] },
        psql: { ...base, name: 'psql', http: false, port: undefined, profiles: ['tools', 'debug'] },
      },
    };
    for (const s of Object.values(project.services)) if (s.port === undefined) delete (s as { port?: number }).port;
    expect([...Value.Errors(ProjectSchema, project)].map((e) => `${e.path} ${e.message}`)).toEqual([]);

    expect(servicePickItems(project).map((i) => [i.label, i.description, i.detail])).toEqual([
      ['api', 'port 8080', 'services/account/Dockerfile · after db, migrate'],
      ['db', 'ports 5432, 9187/udp', 'image branchbox/postgres:15'],
      ['migrate', 'job', 'services/account/Dockerfile'],
      ['worker', 'no port', 'services/account/Dockerfile'],
    ]);
    expect(servicePickItems(project, [], ['debug']).map((i) => [i.label, i.description])).toContainEqual(['adminer', 'port 8081 · profile debug']);
    expect(servicePickItems(project, [], ['tools']).map((i) => i.label)).toEqual(['api', 'db', 'migrate', 'psql', 'worker']);
    expect(profilePickItems(project).map((i) => [i.label, i.description, i.picked])).toEqual([
      ['debug', 'adminer, psql', false],
      ['tools', 'psql', false],
    ]);
    expect(profilePickItems(recorded)).toEqual([]);
    expect(serviceListens({ ...base, port: undefined, job: true, ports: [{ container: 9000, protocol: 'tcp' }] })).toBe('job · port 9000');
  });

  it('local forwards after forward/use: where each leads now, and why one is refused', () => {
    expect(
      forwardsText({
        project: 'shop',
        sandbox: 'qa-1',
        forwards: [
          { service: 'db', containerPort: 5432, address: '127.0.0.1:15432', target: { sandbox: 'qa-1', hostPort: 47123 } },
          { service: 'redis', containerPort: 6379, address: '127.0.0.1:16379', reason: 'redis is not running in qa-1.' },
        ],
      }),
    ).toBe('Local forwards of shop now reach sandbox qa-1: 127.0.0.1:15432 → db 5432, 127.0.0.1:16379 → redis 6379 (refused: redis is not running in qa-1).');
    expect(forwardsText({ project: 'shop', sandbox: 'qa-1', forwards: [] })).toBe('Local forwards of shop now reach sandbox qa-1; the project has no forwards yet.');
    expect(forwardsText({ project: 'shop', forwards: [] })).toMatch(/^Local forwards of shop reach no sandbox/);
  });

  it('the delete confirmation says what goes: containers, volumes (named when the daemon lists them) and their data', () => {
    expect(deleteDetail(['api', 'db'], ['db-data', 'cache'])).toBe(
      'Its containers (api, db), its volumes (db-data, cache) and their data, its network and ports are removed. Snapshots of it are kept.',
    );
    expect(deleteDetail(['api'], undefined)).toBe('Its containers (api), its volumes and their data, its network and ports are removed. Snapshots of it are kept.');
    expect(deleteDetail([], [])).toBe('Its network and ports are removed. It has no volumes. Snapshots of it are kept.');
    expect(deleteDetail([], undefined)).toBe('Its volumes and their data, its network and ports are removed. Snapshots of it are kept.');
  });

  it('templates and snapshots', () => {
    const { templates } = results('template/list')[0] as { templates: Template[] };
    const items = templatePickItems(templates);
    expect(items[0]!.value).toBe(EMPTY_SANDBOX);
    expect(items[1]).toMatchObject({ label: 'qa-default', description: 'from branchbox.yaml of recshop', detail: 'account ← main · ttl 3d' });
    const { snapshots } = results('snapshot/list')[0] as { snapshots: SnapshotSummary[] };
    expect(snapshotPickItems(snapshots)[0]!.detail).toMatch(/^account feature\/x@\w{7} → sandbox, payment feature\/x@\w{7} → baseline · 2 env entries$/);
  });

  it('environment entries: a secret shows as *** only', () => {
    const { entries } = results('env/list')[0] as { entries: EnvEntry[] };
    const items = envPickItems(entries);
    expect(items.map((i) => [i.label, i.description, i.detail])).toEqual([
      ['LOG_LEVEL', 'info', 'every service'],
      ['$(lock) API_TOKEN', '*** (secret)', 'service account'],
    ]);
    expect(JSON.stringify(session)).not.toContain('not-recorded-in-clear');
  });
});

describe('text', () => {
  it('explains a route decision in one line', () => {
    const [hit, miss] = results('route/explain') as RouteDecisionView[];
    expect(explainText('/account/orders', hit!)).toMatch(
      /^\/account\/orders → sandbox http:\/\/127\.0\.0\.1:\d+ \([0-9a-f]{7}\) via route \/account → account\. \/account\/orders matched route/,
    );
    expect(explainText('/nowhere', miss!)).toBe('/nowhere → no target (the gateway answers 404). no route matches /nowhere (routes: /account, /payment).');
  });

  it('the audit trail and a deployment log, with the diagnosis first', () => {
    const { entries } = results('audit/list')[0] as { entries: AuditRecord[] };
    const audit = auditText('rec-demo', entries);
    expect(audit.split('\n')[0]).toBe('Audit trail of sandbox rec-demo (5 entries, newest first)');
    expect(audit).toMatch(/env\/set +sandbox=rec-demo service=account key=API_TOKEN +ok {2}by recorder \(root\)/);
    const detailed = auditText('qa', [{ id: 1, at: 't', method: 'deploy/start', target: 'sandbox=qa', outcome: 'ok', detail: { ref: 'main', deployments: ['web: d1'] } }]);
    expect(detailed.split('\n').slice(2)).toEqual([expect.stringMatching(/^t {2}deploy\/start +sandbox=qa +ok {2}by \?$/), '    ref=main  deployments=web: d1', '']);
    const record = results('deploy/get')[0] as DeploymentRecord;
    const { lines, more } = results('deploy/logs')[0] as { lines: DeployLogLine[]; more: boolean };
    const text = deploymentLogText(record, lines, more).split('\n');
    expect(text[0]).toMatch(/^Deployment [\w-]+: account broken-build@[0-9a-f]{7} into rec-demo, failed$/);
    expect(text[1]).toMatch(/^Diagnosis: build failed: /);
    expect(text).toContain('  build         failed 437 ms');
    expect(failureSummary([{ service: 'account', status: 'failed', diagnosis: 'build failed: x' }, { service: 'payment', status: 'cancelled' }])).toBe(
      'account: build failed: x; payment: cancelled',
    );
  });

  it('shows terminal text plainly: a failure summary in one line, a deployment log without escapes', () => {
    const red = (t: string) => `\u001b[91m${t}\u001b[0m`;
    expect(failureSummary([{ service: 'account', status: 'failed', diagnosis: `build failed: ${red('npm: not found')}\r\n(Dockerfile step 3: RUN npm install)` }])).toBe(
      'account: build failed: npm: not found (Dockerfile step 3: RUN npm install)',
    );
    const record = { ...(results('deploy/get')[0] as DeploymentRecord), diagnosis: `build failed: ${red('npm: not found')}` };
    const text = deploymentLogText(record, [{ seq: 1, t: 't1', source: 'build', line: red('/bin/sh: 1: npm: not found') }], false);
    expect(text).not.toContain('\u001b');
    expect(text).not.toMatch(/\[\d+m/);
    expect(text.split('\n')).toEqual(expect.arrayContaining(['Diagnosis: build failed: npm: not found', 't1 [build] /bin/sh: 1: npm: not found']));
  });

  it('says what suspend, resume and delete changed', () => {
    expect(suspendedText('qa', 2)).toBe('Suspended qa: 2 containers stopped; its gateway sends requests to the baseline until it is resumed.');
    expect(suspendedText('qa', 1)).toMatch(/^Suspended qa: 1 container stopped;/);
    const ok = { containerId: 'c', healthy: true, detail: 'GET /healthz answered 200' };
    expect(resumedText('qa', [{ service: 'account', ...ok }, { service: 'payment', ...ok }])).toEqual({ text: 'Resumed qa: account, payment running again.', healthy: true });
    expect(resumedText('qa', [{ service: 'account', ...ok }, { service: 'payment', healthy: false, detail: 'GET /healthz answered \u001b[31m500\u001b[0m.' }])).toEqual({
      text: 'Resumed qa: account running again; payment is not healthy (GET /healthz answered 500).',
      healthy: false,
    });
    expect(resumedText('qa', [])).toEqual({ text: 'Resumed qa: it serves no service yet.', healthy: true });
    const removed = results('sandbox/delete')[0] as { containers: number; networks: number; ports: number; volumes: string[] };
    expect(deletedText('rec-demo', removed)).toBe('Deleted sandbox rec-demo: 2 containers, 1 network removed; 3 ports released.');
    expect(deletedText('db', { containers: 1, networks: 1, ports: 1, volumes: ['pgdata'] })).toBe('Deleted sandbox db: 1 container, 1 network, 1 volume (pgdata) removed; 1 port released.');
  });
});
