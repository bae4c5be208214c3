/**
 * Shared steps of the lifecycle tests: the daemon fixture of a test file, deploy and wait for the final status, port windows
 * away from other test daemons, and removal of the images built from a fixture repository.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Params } from '../../../schemas/src/index';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';

/** Starts the deployments and waits until each is final; expects them running. */
export async function deployAndWait(client: TestClient, params: Params<'deploy/start'>): Promise<void> {
  const { deployments } = await client.request('deploy/start', params);
  for (const d of deployments) {
    await new Promise<void>((resolve, reject) => {
      void client
        .subscribe('deploy/subscribe', { deployment: d.id }, 'deploy/progress', {
          onItems: () => undefined,
          onEnd: (end) => (end.reason === 'completed' ? resolve() : reject(new Error(`progress ended: ${end.reason}`))),
        })
        .catch(reject);
    });
    const final = await client.request('deploy/get', { id: d.id });
    expect(final.status, final.diagnosis ?? '').toBe('running');
  }
}

/** Port ranges picked at random away from the defaults (other daemons may run at the same time). */
export function portWindows(): Record<string, string> {
  const service = 45_000 + 200 * Math.floor(Math.random() * 25);
  const gateway = 50_000 + 50 * Math.floor(Math.random() * 20);
  return {
    BRANCHBOX_SERVICE_PORTS: `${service}-${service + 199}`,
    BRANCHBOX_GATEWAY_PORTS: `${gateway}-${gateway + 49}`,
    BRANCHBOX_GATEWAY_PORT: 'off',
  };
}

/** Images built from this repository's commits (unique to it: the fixture's nonce is in every commit). */
export async function removeFixtureImages(repo: FixtureRepo): Promise<void> {
  const commits = new Set(repo.git('rev-list', '--all').trim().split('\n'));
  const images = await docker.listImages({ filters: JSON.stringify({ label: ['branchbox.project=shop'] }) });
  for (const image of images) {
    if (commits.has(image.Labels?.['branchbox.commit'] ?? ''))
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
  }
}

/** What {@link useLifecycleDaemon} gives a test file once its `beforeAll` ran. */
export interface LifecycleFixture {
  readonly run: ReturnType<typeof testRun>;
  /** Short and unique to this file's run: put it in sandbox names. */
  readonly suffix: string;
  /** Sandboxes a test made; deleted after each test. */
  readonly created: Set<string>;
  daemon: TestDaemon;
  client: TestClient;
  repo: FixtureRepo;
}

/**
 * The daemon, client and fixture repository of one lifecycle test file: everything the daemon
 * creates is labelled with the run, port ranges stay away from other daemons, sandboxes a
 * test created are deleted after it, and the daemon, images and repository at the end.
 */
export function useLifecycleDaemon(prefix: string, clientName: string, env: NodeJS.ProcessEnv = {}): LifecycleFixture {
  const run = testRun(prefix);
  const fixture = { run, suffix: run.runId.slice(-8), created: new Set<string>() } as LifecycleFixture;
  beforeAll(async () => {
    fixture.repo = createFixtureRepo();
    fixture.daemon = await startTestDaemon({
      env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...env, ...portWindows() },
    });
    fixture.client = await fixture.daemon.connect(clientName);
  });
  afterEach(async () => {
    for (const name of fixture.created) await fixture.client.request('sandbox/delete', { name }).catch(() => undefined);
    fixture.created.clear();
    await run.cleanup();
  });
  afterAll(async () => {
    await fixture.client?.closeSocket();
    await fixture.daemon?.stop();
    await fixture.daemon?.dispose();
    await run.cleanup();
    if (fixture.repo) await removeFixtureImages(fixture.repo);
    fixture.repo?.dispose();
  });
  return fixture;
}
