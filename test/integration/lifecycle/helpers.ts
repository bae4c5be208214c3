/**
 * Shared steps of the lifecycle tests: the daemon fixture of a test file, deploy and wait for the final status, and port
 * windows away from other test daemons.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Params } from '../../../schemas/src/index';
import { deployFinal, portWindows as sharedPortWindows, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';

/** Starts the deployments and waits until each is final; expects them running. */
export async function deployAndWait(client: TestClient, params: Params<'deploy/start'>): Promise<void> {
  for (const final of await deployFinal(client, params)) expect(final.status, final.diagnosis ?? '').toBe('running');
}

/** Port ranges away from the sandbox tests' (helpers/daemon.ts portWindows), without the shared gateway. */
export function portWindows(): Record<string, string> {
  return { ...sharedPortWindows({ service: 45_000, gateway: 50_000 }), BRANCHBOX_GATEWAY_PORT: 'off' };
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
  /**
   * Stops the daemon (SIGTERM, or SIGKILL with `kill`) and starts it again on the same state
   * directory, with a new `client`.
   */
  restart(how?: { kill?: boolean }): Promise<void>;
}

/**
 * The daemon, client and fixture repository of one lifecycle test file: everything the daemon
 * creates is labelled with the run (images it built are removed with the run's objects),
 * port ranges stay away from other daemons, sandboxes a test created are deleted after it,
 * and the daemon and repository at the end.
 */
export function useLifecycleDaemon(prefix: string, clientName: string, env: NodeJS.ProcessEnv = {}): LifecycleFixture {
  const run = testRun(prefix);
  const fixture = { run, suffix: run.runId.slice(-8), created: new Set<string>() } as LifecycleFixture;
  const daemonEnv = { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...env, ...portWindows() };
  fixture.restart = async (how = {}) => {
    await fixture.client.closeSocket();
    if (how.kill) {
      fixture.daemon.process.kill('SIGKILL');
      await fixture.daemon.exited;
    } else {
      await fixture.daemon.stop();
    }
    fixture.daemon = await startTestDaemon({ stateDir: fixture.daemon.stateDir, env: daemonEnv });
    fixture.client = await fixture.daemon.connect(clientName);
  };
  beforeAll(async () => {
    fixture.repo = createFixtureRepo();
    fixture.daemon = await startTestDaemon({ env: daemonEnv });
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
    fixture.repo?.dispose();
  });
  return fixture;
}
