/**
 * Shared steps of the reliability suite: daemons of one test run (their objects labelled with
 * the run, their ports away from other tests', orphans reaped at once), a fixture repository
 * with services whose names collide under the old naming scheme, deployments followed to their
 * end, a reconciliation round waited for (not slept for), and the Docker objects of a daemon
 * as `docker inspect` sees them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Params, Result } from '../../../schemas/src/index';
import { portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { BUSYBOX, docker, TEST_LABEL, type testRun } from '../../helpers/docker-fixtures';
import type { FixtureRepo } from '../../helpers/fixture-repo';

export type Run = ReturnType<typeof testRun>;

/** The environment of a daemon of this run: labelled, own port windows, reconciling every 200 ms with no grace. */
export function reliabilityEnv(run: Run, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`,
    BRANCHBOX_GATEWAY_PORT: 'off',
    BRANCHBOX_ORPHAN_GRACE_MS: '0',
    BRANCHBOX_RECONCILE_INTERVAL_MS: '200',
    ...portWindows({ service: 46_000, gateway: 51_000 }),
    ...extra,
  };
}

export interface RunningDaemon {
  daemon: TestDaemon;
  client: TestClient;
  readonly instance: string;
}

export async function startDaemon(env: NodeJS.ProcessEnv, stateDir?: string): Promise<RunningDaemon> {
  const daemon = await startTestDaemon({ env, ...(stateDir ? { stateDir } : {}) });
  const client = await daemon.connect('reliability-test');
  const { instance } = await client.request('system/info');
  return { daemon, client, instance };
}

/** The branch of the fixture repository with services `web` and `x-web` (both the fixture's account server). */
export const COLLIDING_BRANCH = 'colliding-names';

export function addCollidingServices(repo: FixtureRepo): void {
  const service = (name: string) =>
    `  ${name}:\n    context: services/account\n    build: { dockerfile: Dockerfile }\n    port: 8080\n` +
    '    health: { path: /healthz, interval: 300ms, timeout: 2s, retries: 3, startPeriod: 1s }\n';
  repo.git('checkout', '--quiet', '-b', COLLIDING_BRANCH, 'main');
  try {
    repo.write('branchbox.yaml', readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8').replace('services:\n', `services:\n${service('web')}${service('x-web')}`));
    repo.commitAll('services whose container names collided: web and x-web');
  } finally {
    repo.checkout('main');
  }
}

type Deployment = Result<'deploy/get'>;

/** Starts the deployments and resolves with each once it is final. */
export async function deployToEnd(client: TestClient, params: Params<'deploy/start'>): Promise<Deployment[]> {
  const { deployments } = await client.request('deploy/start', params);
  return Promise.all(deployments.map((d) => finalOf(client, d.id)));
}

/** The deployment once final (followed through its progress stream). */
export async function finalOf(client: TestClient, id: string): Promise<Deployment> {
  await new Promise<void>((resolve, reject) => {
    void client
      .subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', {
        onItems: () => undefined,
        onEnd: (end) => (end.reason === 'completed' ? resolve() : reject(new Error(`progress ended: ${end.reason}`))),
      })
      .catch(reject);
  });
  return client.request('deploy/get', { id });
}

/** Deploys and expects every deployment running. */
export async function deployRunning(client: TestClient, params: Params<'deploy/start'>): Promise<Deployment[]> {
  const finals = await deployToEnd(client, params);
  for (const d of finals) expect(d.status, d.diagnosis ?? '').toBe('running');
  return finals;
}

/**
 * Resolves once a reconciliation round of the daemon of `instance` has run after this call:
 * an orphan container labelled for that instance and a sandbox that does not exist is made,
 * and the round that sees it removes it (the grace period is 0). That round also looked at
 * everything else.
 */
export async function reconciled(run: Run, instance: string): Promise<void> {
  const ghost = await run.createContainer({
    Image: BUSYBOX,
    Cmd: ['sleep', '300'],
    Labels: { 'branchbox.managed': 'true', 'branchbox.instance': instance, 'branchbox.sandbox': `ghost-${run.runId.slice(-8)}`, 'branchbox.service': 'x' },
  });
  await ghost.wait({ condition: 'removed' }).catch((e: { statusCode?: number }) => {
    if (e.statusCode !== 404) throw e; // already removed
  });
}

/** What must not change about another daemon's objects: `docker inspect`'s identity, name, state and network endpoints. */
export interface ObjectFacts {
  readonly kind: 'container' | 'network';
  readonly name: string;
  readonly state?: string;
  readonly startedAt?: string;
  readonly restartCount?: number;
  readonly endpoints?: Record<string, readonly string[]>;
}

/** Every container and network of this run labelled with `instance`, by id. */
export async function objectsOf(run: Run, instance: string): Promise<Map<string, ObjectFacts>> {
  const filters = JSON.stringify({ label: [`${TEST_LABEL}=${run.runId}`, `branchbox.instance=${instance}`] });
  const out = new Map<string, ObjectFacts>();
  for (const c of await docker.listContainers({ all: true, filters })) {
    const i = await docker.getContainer(c.Id).inspect();
    out.set(i.Id, {
      kind: 'container',
      name: i.Name,
      state: i.State.Status,
      startedAt: i.State.StartedAt,
      restartCount: i.RestartCount,
      endpoints: Object.fromEntries(Object.entries(i.NetworkSettings.Networks).map(([n, e]) => [n, [...(e.Aliases ?? [])].sort()])),
    });
  }
  for (const n of await docker.listNetworks({ filters })) out.set(n.Id, { kind: 'network', name: n.Name });
  return out;
}
