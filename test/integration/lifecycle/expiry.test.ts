/**
 * Expiry by TTL policy on the real engine with tiny durations (checked every 50 ms, warned
 * 1 s ahead): a sandbox warns, is suspended as `expired` (its containers stopped), then
 * deleted after its retention; `sandbox/extend` postpones the expiry; each step is audited;
 * a policy `from: 'created'` keeps the deadline of the creation whatever happens later.
 * The test waits on `sandbox/expiry` notifications, never on time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import type { TestClient } from '../../helpers/daemon';
import { docker } from '../../helpers/docker-fixtures';
import type { FixtureRepo } from '../../helpers/fixture-repo';
import { deployAndWait, useLifecycleDaemon } from './helpers';

type Notice = StreamItem<'sandbox/expiry'>;

const t = useLifecycleDaemon('bblce', 'expiry-test', {
  BRANCHBOX_EXPIRY_INTERVAL_MS: '50',
  BRANCHBOX_EXPIRY_WARNING_MS: '1000',
});
const { suffix, created } = t;
let client: TestClient;
let repo: FixtureRepo;
const notices: Notice[] = [];
const waiters: { accept: (n: Notice) => boolean; resolve: (n: Notice) => void }[] = [];

beforeAll(async () => {
  ({ client, repo } = t);
  await client.subscribe('sandbox/watchExpiry', {}, 'sandbox/expiry', {
    onItems: (items) => {
      for (const n of items) {
        notices.push(n);
        for (const w of [...waiters]) {
          if (!w.accept(n)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(n);
        }
      }
    },
  });
});

const notice = (sandbox: string, kind: Notice['kind']) =>
  new Promise<Notice>((resolve) => {
    const accept = (n: Notice) => n.sandbox === sandbox && n.kind === kind;
    const seen = notices.find(accept);
    if (seen) resolve(seen);
    else waiters.push({ accept, resolve });
  });

describe('expiry', () => {
  it('warns, suspends as expired (containers stopped), then deletes after the retention; all audited', async () => {
    const name = `l${suffix}-ttl`;
    created.add(name);
    const warning = notice(name, 'warning');
    const expired = notice(name, 'expired');
    const deleted = notice(name, 'deleted');
    await client.request('sandbox/create', { name, repoPath: repo.root });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    // Set once deployed: the idle time counts from the deployment.
    await client.request('sandbox/update', { name, ttl: { idle: '1500ms', retain: '1s' } });
    const containerId = (await client.request('sandbox/get', { name })).services[0]!.containerId!;

    const warned = await warning;
    expect(Date.parse(warned.expiresAt!)).toBeGreaterThan(Date.parse(warned.at));
    const exp = await expired;
    expect(Date.parse(exp.at)).toBeGreaterThanOrEqual(Date.parse(warned.expiresAt!));
    expect(exp.deletesAt).toBeDefined();
    const sandbox = await client.request('sandbox/get', { name }).catch(() => undefined);
    // It may already be deleted (1 s later); when it is not, it is expired with its container stopped.
    if (sandbox) expect(sandbox.state).toBe('expired');
    const del = await deleted;
    // Deleted no earlier than scheduled, and the schedule keeps the whole 1 s retention after
    // the expiry deadline (notification stamps come a few ms after the decisions they report).
    expect(Date.parse(del.at)).toBeGreaterThanOrEqual(Date.parse(exp.deletesAt!));
    expect(Date.parse(exp.deletesAt!) - Date.parse(warned.expiresAt!)).toBeGreaterThanOrEqual(1000);
    expect((await client.request('sandbox/list', {})).sandboxes.map((s) => s.name)).not.toContain(name);
    await expect(docker.getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const audit = await client.request('audit/list', { target: name });
    expect(audit.entries.map((e) => [e.method, e.client])).toEqual(
      expect.arrayContaining([
        ['sandbox/expiry-warning', 'branchboxd'],
        ['sandbox/expire', 'branchboxd'],
        ['sandbox/expiry-delete', 'branchboxd'],
      ]),
    );
  });

  it('sandbox/extend postpones the expiry; resume makes an expired sandbox active again', async () => {
    const name = `l${suffix}-ext`;
    created.add(name);
    const warning = notice(name, 'warning');
    await client.request('sandbox/create', { name, ttl: { idle: '1200ms' } });
    const warned = await warning;
    const extended = await client.request('sandbox/extend', { name, by: '1s' });
    expect(Date.parse(extended.expiresAt!) - Date.parse(warned.expiresAt!)).toBe(1000);
    const exp = await notice(name, 'expired');
    expect(Date.parse(exp.at)).toBeGreaterThanOrEqual(Date.parse(extended.expiresAt!));
    expect(notices.filter((n) => n.sandbox === name && n.kind === 'warning')).toHaveLength(2);
    expect((await client.request('sandbox/get', { name })).state).toBe('expired');
    expect((await client.request('sandbox/resume', { name })).sandbox.state).toBe('active');
    const audit = await client.request('audit/list', { target: name });
    expect(audit.entries.map((e) => e.method)).toEqual(
      expect.arrayContaining(['sandbox/extend', 'sandbox/expire', 'sandbox/resume']),
    );
  });

  it("from: 'created' keeps the deadline of the creation: a later deploy and gateway request do not move it", async () => {
    const name = `l${suffix}-fixed`;
    created.add(name);
    const made = await client.request('sandbox/create', { name, repoPath: repo.root, ttl: { idle: '1h', from: 'created' } });
    expect(made.sandbox.ttl).toEqual({ idle: '1h', from: 'created' });
    const createdAt = Date.parse(made.sandbox.createdAt);
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    const gateway = (await client.request('gateway/info', { sandbox: name })).sandboxes[0]?.gateway?.url;
    expect(gateway).toBeDefined();
    const res = await fetch(`${gateway}/account`);
    await res.arrayBuffer();
    expect(res.headers.get('x-branchbox-route')).toMatch(/account -> sandbox/);
    const deployedAt = Date.parse((await client.request('sandbox/get', { name })).lastDeployAt!);
    expect(deployedAt).toBeGreaterThan(createdAt);

    // The deadline is still creation + idle (+ the extension).
    const fixed = await client.request('sandbox/extend', { name, by: '1s' });
    expect(Date.parse(fixed.expiresAt!)).toBe(createdAt + 3_600_000 + 1_000);
    expect(fixed.sandbox.ttl).toEqual({ idle: '1h', from: 'created' });
    // The same sandbox by activity (the default): the deploy and the request count.
    await client.request('sandbox/update', { name, ttl: { idle: '1h' } });
    const byActivity = await client.request('sandbox/extend', { name, by: '1s' });
    expect(Date.parse(byActivity.expiresAt!)).toBeGreaterThanOrEqual(deployedAt + 3_600_000 + 2_000);
  });

  it('extending a sandbox without a TTL policy is a Conflict', async () => {
    const name = `l${suffix}-nottl`;
    created.add(name);
    await client.request('sandbox/create', { name });
    await expect(client.request('sandbox/extend', { name, by: '1h' })).rejects.toMatchObject({
      message: expect.stringMatching(/no TTL policy/),
    });
  });

  // Last: it restarts the daemon (the expiry subscription of beforeAll does not survive it).
  it("from: 'request' counts from the last gateway request, also after a daemon restart", async () => {
    const name = `l${suffix}-req`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root, ttl: { idle: '1h', from: 'request' } });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    const gateway = (await client.request('gateway/info', { sandbox: name })).sandboxes[0]!.gateway!.url;
    const before = Date.now();
    const res = await fetch(`${gateway}/account`);
    await res.arrayBuffer();
    const after = Date.now();
    const byRequest = await client.request('sandbox/extend', { name, by: '1s' });
    const deadline = Date.parse(byRequest.expiresAt!);
    expect(deadline).toBeGreaterThanOrEqual(before + 3_600_000 + 1_000);
    expect(deadline).toBeLessThanOrEqual(after + 3_600_000 + 1_000);

    await t.restart();
    client = t.client;
    // The request is remembered; the extension too.
    expect(Date.parse((await client.request('sandbox/extend', { name, by: '1s' })).expiresAt!)).toBe(deadline + 1_000);
  });
});
