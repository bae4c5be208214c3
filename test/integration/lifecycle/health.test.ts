/**
 * The health monitor on the real engine: a deployed service that starts failing its health
 * check (the fixture's `sick-on-demand` branch answers 500 once /tmp/sick exists — a file that
 * survives restarts) turns its sandbox degraded, then unhealthy; it is restarted with a
 * doubling backoff at most --health-max-restarts times and then left with the reason. A
 * service whose process dies is restarted and healthy again. `sandbox/get` and `sandbox/list`
 * carry the health last computed (none while nothing is deployed or the sandbox is
 * suspended). Checks every 100 ms here; the
 * test waits on `sandbox/health` notifications, never on time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import type { TestClient } from '../../helpers/daemon';
import { docker } from '../../helpers/docker-fixtures';
import type { FixtureRepo } from '../../helpers/fixture-repo';
import { deployAndWait, useLifecycleDaemon } from './helpers';

type Health = StreamItem<'sandbox/health'>;

const BACKOFF_MS = 300;
const t = useLifecycleDaemon('bblch', 'health-test', {
  BRANCHBOX_HEALTH_INTERVAL_MS: '100',
  BRANCHBOX_HEALTH_MAX_RESTARTS: '2',
  BRANCHBOX_HEALTH_BACKOFF_MS: String(BACKOFF_MS),
});
const { suffix, created } = t;
let client: TestClient;
let repo: FixtureRepo;

beforeAll(async () => {
  ({ client, repo } = t);
});

/** Every health item of one sandbox, and a way to wait for the first (new) one matching. */
async function watch(sandbox: string) {
  const items: Health[] = [];
  const waiters: { accept: (h: Health) => boolean; resolve: (h: Health) => void }[] = [];
  await client.subscribe('sandbox/watchHealth', { sandbox }, 'sandbox/health', {
    onItems: (batch) => {
      for (const h of batch) {
        items.push(h);
        for (const w of [...waiters]) {
          if (w.accept(h)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(h);
          }
        }
      }
    },
  });
  return {
    items,
    next: (accept: (h: Health) => boolean) =>
      new Promise<Health>((resolve) => {
        const seen = items.find(accept);
        if (seen) resolve(seen);
        else waiters.push({ accept, resolve });
      }),
  };
}

async function exec(containerId: string, cmd: string[]): Promise<void> {
  const e = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({});
  await new Promise((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.resume();
  });
}

describe('health monitor', () => {
  it('a service failing its health check: degraded, then unhealthy, restarted with backoff a bounded number of times, then left', async () => {
    const name = `l${suffix}-sick`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'sick-on-demand', services: ['account'] });
    const containerId = (await client.request('sandbox/get', { name })).services.find(
      (s) => s.service === 'account',
    )!.containerId!;
    const health = await watch(name);
    await health.next((h) => h.state === 'healthy' && h.services.length === 1);
    // sandbox/get and sandbox/list carry the health last computed.
    const healthy = await client.request('sandbox/get', { name });
    expect(healthy.health).toMatchObject({ sandbox: name, state: 'healthy', services: [{ service: 'account', state: 'healthy', containerId }] });
    const listed = (await client.request('sandbox/list', {})).sandboxes.find((s) => s.name === name)!;
    expect(listed.health?.state).toBe('healthy');

    await exec(containerId, ['touch', '/tmp/sick']);
    const degraded = await health.next((h) => h.state === 'degraded' && h.services[0]?.state === 'failing');
    expect(degraded.services[0]!.probe).toMatch(/answered 500: sick on demand/);
    const unhealthy = await health.next((h) => h.state === 'unhealthy');
    expect(unhealthy.services[0]!.reason).toMatch(/restarting \(1 of 2\)/);
    const left = await health.next((h) => /left alone after 2 restarts/.test(h.services[0]?.reason ?? ''));
    expect(left.state).toBe('unhealthy');
    expect(left.services[0]).toMatchObject({ state: 'unhealthy', restartCount: 2, containerId });
    // Left alone, its health no longer changes: sandbox/get reports the same verdict, with the reason.
    const got = await client.request('sandbox/get', { name });
    expect(got.health?.state).toBe('unhealthy');
    expect(got.health?.services[0]).toMatchObject({ service: 'account', state: 'unhealthy', restartCount: 2 });
    expect(got.health?.services[0]!.reason).toMatch(/left alone after 2 restarts/);
    expect((await client.request('sandbox/list', {})).sandboxes.find((s) => s.name === name)!.health?.state).toBe('unhealthy');

    // The restarts happened, the second one at least the backoff after the first.
    const firstAt = Date.parse(health.items.find((h) => h.services[0]?.restartCount === 1)!.at);
    const secondAt = Date.parse(health.items.find((h) => h.services[0]?.restartCount === 2)!.at);
    // (Each item is stamped when published, a few ms after the decision: allow for that.)
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(BACKOFF_MS - 50);
    // Between restarts it was starting again (degraded), not just unhealthy.
    expect(health.items.some((h) => h.services[0]?.state === 'starting' && h.state === 'degraded')).toBe(true);
    const inspected = await docker.getContainer(containerId).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(Date.parse(inspected.State.StartedAt)).toBeGreaterThanOrEqual(secondAt - 1_000);

    const uptime = await client.request('sandbox/uptime', { name });
    const account = uptime.services.find((s) => s.service === 'account')!;
    expect(account.minutes.length).toBeGreaterThanOrEqual(1);
    expect(account.minutes.some((m) => m.status !== 'up')).toBe(true);
  });

  it('a sandbox answer carries no health while nothing is deployed, nor once suspended', async () => {
    const name = `l${suffix}-nohealth`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    const health = await watch(name);
    // Nothing deployed: no verdict to show.
    await health.next(() => true);
    expect((await client.request('sandbox/get', { name })).health).toBeUndefined();
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    await health.next((h) => h.state === 'healthy' && h.services.length === 1);
    expect((await client.request('sandbox/get', { name })).health?.state).toBe('healthy');
    const suspended = await client.request('sandbox/suspend', { name });
    expect(suspended.sandbox.health).toBeUndefined();
    expect((await client.request('sandbox/get', { name })).health).toBeUndefined();
  });

  it('a service whose process dies is restarted and healthy again', async () => {
    const name = `l${suffix}-kill`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    const service = (await client.request('sandbox/get', { name })).services.find((s) => s.service === 'account')!;
    const health = await watch(name);
    await health.next((h) => h.state === 'healthy' && h.services.length === 1);

    await exec(service.containerId!, ['kill', '1']);
    const down = await health.next((h) => h.state === 'unhealthy');
    expect(down.services[0]!.reason).toMatch(/the container is exited/);
    const back = await health.next((h) => h.state === 'healthy' && h.services[0]?.restartCount === 1);
    expect(back.services[0]!.dockerState).toBe('running');
    expect(await (await fetch(service.url!)).text()).toBe('main');
  });
});
