/**
 * Reconciliation with Docker's labels on the real engine (every 100 ms here, orphans removed
 * after 600 ms): a serving container removed behind the daemon's back is forgotten and its
 * port released; a labelled container and network created behind its back for no sandbox are
 * removed after the grace period (logged); a port held for no sandbox is released. The test
 * waits on sandbox events and Docker's own events, never on time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import type { TestClient, TestDaemon } from '../../helpers/daemon';
import { BUSYBOX, docker, TEST_LABEL } from '../../helpers/docker-fixtures';
import type { FixtureRepo } from '../../helpers/fixture-repo';
import { deployAndWait, useLifecycleDaemon } from './helpers';

const GRACE_MS = 600;
const t = useLifecycleDaemon('bblcr', 'reconcile-test', {
  BRANCHBOX_RECONCILE_INTERVAL_MS: '100',
  BRANCHBOX_ORPHAN_GRACE_MS: String(GRACE_MS),
});
const { run, suffix, created } = t;
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;

beforeAll(async () => {
  ({ daemon, client, repo } = t);
});

/** Resolves with the first sandbox event matching. */
async function nextEvent(accept: (e: StreamItem<'sandbox/event'>) => boolean): Promise<StreamItem<'sandbox/event'>> {
  let resolveEvent!: (e: StreamItem<'sandbox/event'>) => void;
  const found = new Promise<StreamItem<'sandbox/event'>>((r) => (resolveEvent = r));
  const sub = await client.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
    onItems: (items) => {
      const hit = items.find(accept);
      if (hit) resolveEvent(hit);
    },
  });
  const event = await found;
  await sub.cancel().catch(() => undefined);
  return event;
}

/** Resolves when Docker reports `action` of the object with this id. */
async function dockerEvent(type: 'container' | 'network', id: string, action: string): Promise<number> {
  const stream = (await docker.getEvents({
    filters: JSON.stringify({ type: [type], event: [action] }),
  })) as NodeJS.ReadableStream & { destroy(): void };
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const e = JSON.parse(line) as { Actor?: { ID?: string } };
        if (e.Actor?.ID === id) {
          stream.destroy();
          resolve(Date.now());
        }
      }
    });
  });
}

const logText = () => {
  const file = join(daemon.stateDir, 'branchboxd.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

describe('reconciliation with Docker', () => {
  it('a serving container removed behind the daemon’s back: the service is no longer served and its port is released', async () => {
    const name = `l${suffix}-gone`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    await deployAndWait(client, { repoPath: repo.root, sandbox: name, ref: 'main', services: ['account'] });
    const before = await client.request('sandbox/get', { name });
    const account = before.services.find((s) => s.service === 'account')!;
    expect(before.ports.some((p) => p.port === account.hostPort)).toBe(true);

    const forgotten = nextEvent(
      (e) => e.name === name && e.sandbox?.services.find((s) => s.service === 'account')?.containerId === undefined,
    );
    await docker.getContainer(account.containerId!).remove({ force: true });
    const after = (await forgotten).sandbox!;
    expect(after.services.find((s) => s.service === 'account')).toMatchObject({ service: 'account', route: 'sandbox' });
    expect(after.ports.some((p) => p.port === account.hostPort)).toBe(false);
    await expect.poll(() => logText()).toMatch(/was removed outside Branchbox; the service is no longer served/);
  });

  it('a labelled container and network of no sandbox are removed after the grace period; ports of no sandbox are released', async () => {
    const ghost = `l${suffix}-ghost`;
    const labels = { 'branchbox.managed': 'true', 'branchbox.sandbox': ghost, 'branchbox.service': 'account' };
    const createdAt = Date.now();
    const network = await docker.createNetwork({
      Name: `sandbox-${ghost}`,
      Labels: { ...labels, [TEST_LABEL]: run.runId },
    });
    const container = await run.createContainer({
      Image: BUSYBOX,
      Cmd: ['sleep', '300'],
      Labels: labels,
      HostConfig: { NetworkMode: `sandbox-${ghost}` },
    });
    const containerGone = dockerEvent('container', container.id, 'destroy');
    const networkGone = dockerEvent('network', network.id, 'destroy');

    const db = new Database(join(daemon.stateDir, 'state.db'));
    try {
      db.prepare(
        "INSERT INTO ports (port, sandbox, service, purpose, allocated_at) VALUES (?, ?, 'account', 'service', ?)",
      ).run(1, ghost, new Date().toISOString());
    } finally {
      db.close();
    }

    expect((await containerGone) - createdAt).toBeGreaterThanOrEqual(GRACE_MS);
    await networkGone;
    await expect
      .poll(() => logText())
      .toMatch(new RegExp(`Removed container .*sandbox ${ghost}, which does not exist`));
    await expect.poll(() => logText()).toMatch(new RegExp(`Removed network sandbox-${ghost}`));
    await expect
      .poll(() => {
        const check = new Database(join(daemon.stateDir, 'state.db'), { readonly: true });
        try {
          return (check.prepare('SELECT count(*) AS n FROM ports WHERE sandbox = ?').get(ghost) as { n: number }).n;
        } finally {
          check.close();
        }
      })
      .toBe(0);
  });
});
