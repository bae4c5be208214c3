/**
 * sandbox/suspend and sandbox/resume on the real engine with the fixture repository: suspend
 * stops the containers and keeps rows, ports and commits (the gateway routes to the
 * baseline; deploy/start answers Conflict); resume starts the same containers on the same host
 * ports at the same commits, answering again.
 */
import { createServer } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../schemas/src/client';
import type { TestClient } from '../../helpers/daemon';
import { docker } from '../../helpers/docker-fixtures';
import type { FixtureRepo } from '../../helpers/fixture-repo';
import { deployAndWait, useLifecycleDaemon } from './helpers';

const t = useLifecycleDaemon('bblcs', 'lifecycle-test');
const { suffix, created } = t;
let client: TestClient;
let repo: FixtureRepo;

beforeAll(async () => {
  ({ client, repo } = t);
});

const containerState = async (id: string) => (await docker.getContainer(id).inspect()).State;

describe('suspend and resume', () => {
  it('suspend stops the containers keeping ports and commits; resume brings them back on the same ports, answering', async () => {
    const name = `l${suffix}-sr`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    await deployAndWait(client, {
      repoPath: repo.root,
      sandbox: name,
      ref: 'feature/x',
      services: ['account', 'payment'],
    });
    const before = await client.request('sandbox/get', { name });
    const serving = before.services.filter((s) => s.containerId);
    expect(serving).toHaveLength(2);
    for (const s of serving) expect(await (await fetch(s.url!)).text()).toBe('feature/x');
    const gateway = (await client.request('gateway/info', { sandbox: name })).sandboxes[0]!.gateway!;

    const events: string[] = [];
    await client.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
      onItems: (items) => {
        for (const e of items) if (e.name === name && e.sandbox) events.push(e.sandbox.state);
      },
    });

    const suspended = await client.request('sandbox/suspend', { name });
    expect(suspended.stopped).toBe(2);
    expect(suspended.sandbox.state).toBe('suspended');
    expect(suspended.sandbox.ports).toEqual(before.ports);
    expect(suspended.sandbox.services).toEqual(before.services);
    for (const s of serving) expect((await containerState(s.containerId!)).Running).toBe(false);
    // The fixture project has a baseline for account: a suspended sandbox's gateway sends it there.
    const closed = await fetch(`${gateway.url}/account/`);
    expect(closed.headers.get('x-branchbox-route')).toBe('account -> baseline');
    const refused = await client
      .request('deploy/start', { repoPath: repo.root, sandbox: name, services: ['account'] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProtocolError);
    expect((refused as ProtocolError).message).toMatch(/suspended; resume it/);
    // Suspending again does nothing.
    expect((await client.request('sandbox/suspend', { name })).stopped).toBe(0);

    const resumed = await client.request('sandbox/resume', { name });
    expect(resumed.sandbox.state).toBe('active');
    expect(resumed.services.map((s) => [s.service, s.healthy, s.hostPort, s.commit]).sort()).toEqual(
      serving.map((s) => [s.service, true, s.hostPort, repo.commitOf('feature/x')]).sort(),
    );
    expect(resumed.sandbox.ports).toEqual(before.ports);
    expect(resumed.sandbox.services).toEqual(before.services);
    for (const s of serving) {
      expect((await containerState(s.containerId!)).Running).toBe(true);
      expect(await (await fetch(s.url!)).text()).toBe('feature/x');
    }
    const open = await fetch(`${gateway.url}/account/`);
    expect(open.headers.get('x-branchbox-route')).toBe(
      `account -> sandbox (${repo.commitOf('feature/x').slice(0, 7)})`,
    );
    expect(await open.text()).toBe('feature/x');
    await expect.poll(() => events).toEqual(expect.arrayContaining(['suspended', 'active']));

    const audit = await client.request('audit/list', { method: 'sandbox/', target: name });
    expect(audit.entries.map((e) => e.method)).toEqual(expect.arrayContaining(['sandbox/suspend', 'sandbox/resume']));
  });

  it('resume deploys a service again, on another port, when its port was taken while the sandbox slept', async () => {
    const name = `l${suffix}-taken`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'feature/x', services: ['account'] });
    const before = (await client.request('sandbox/get', { name })).services.find((s) => s.service === 'account')!;
    const gateway = (await client.request('gateway/info', { sandbox: name })).sandboxes[0]!.gateway!;
    await client.request('sandbox/suspend', { name });

    // Another program takes the port while the container is stopped.
    const squatter = createServer((_req, res) => res.end('squatter'));
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(before.hostPort!, '127.0.0.1', () => resolve());
    });
    try {
      const resumed = await client.request('sandbox/resume', { name });
      const account = resumed.services.find((s) => s.service === 'account')!;
      expect(account).toMatchObject({ healthy: true, commit: repo.commitOf('feature/x') });
      expect(account.detail).toBe(`its port 127.0.0.1:${before.hostPort} was taken while the sandbox was suspended: deployed again on 127.0.0.1:${account.hostPort}`);
      expect(account.hostPort).not.toBe(before.hostPort);
      const after = (await client.request('sandbox/get', { name })).services.find((s) => s.service === 'account')!;
      expect(after).toMatchObject({ hostPort: account.hostPort, commit: before.commit, branch: 'feature/x' });
      expect(after.containerId).not.toBe(before.containerId);
      expect(await (await fetch(after.url!)).text()).toBe('feature/x');
      const routed = await fetch(`${gateway.url}/account/`);
      expect(await routed.text()).toBe('feature/x');
      // The old container is gone, the old port released: only the new one is held.
      await expect(docker.getContainer(before.containerId!).inspect()).rejects.toMatchObject({ statusCode: 404 });
      const leases = (await client.request('sandbox/get', { name })).ports.filter((p) => p.purpose === 'service').map((p) => p.port);
      expect(leases).toEqual([account.hostPort]);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it('suspending an unknown sandbox answers SandboxNotFound', async () => {
    const err = await client.request('sandbox/suspend', { name: `l${suffix}-none` }).catch((e: unknown) => e);
    expect((err as ProtocolError).data).toMatchObject({ sandbox: `l${suffix}-none` });
    expect((err as ProtocolError).message).toMatch(/No sandbox/);
  });
});
