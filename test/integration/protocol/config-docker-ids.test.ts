/**
 * An id that reaches the Docker layer without passing a params schema — here an image named
 * in a branch's branchbox.yaml — is stopped by the guard on the engine's URL paths
 * (docker/dockerode/path-guard.ts): the deployment fails saying why, and the daemon lives on.
 * Before, `image: ../../containers/json` made the engine redirect the unclean path, docker-modem
 * followed the redirect on a request without an error handler, and the daemon exited.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../../../schemas/src/index';
import { endSandboxSuite, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';

const run = testRun('bbcfgid');
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
const sandbox = `cfgid-${run.runId.slice(-8)}`;

beforeAll(async () => {
  repo = createFixtureRepo();
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` } });
  client = await daemon.connect('config-docker-ids');
});

afterAll(() => endSandboxSuite({ client, daemon, sandbox, run, repo }));

/** Waits for the deployment to be final (deploy/subscribe replays, then completes). */
async function final(id: string): Promise<Result<'deploy/get'>> {
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

describe('Docker ids from a project file', () => {
  it('an image reference with ".." segments fails its deployment with InvalidName, and the daemon lives on', async () => {
    repo.git('checkout', '--quiet', '-b', 'dot-dot-image', 'main');
    try {
      repo.write(
        'branchbox.yaml',
        readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8').replace(
          'services:\n',
          'services:\n  sneaky:\n    build: { image: "../../containers/json" }\n    port: 80\n',
        ),
      );
      repo.commitAll('sneaky: an image path that climbs out of /images');
    } finally {
      repo.checkout('main');
    }
    await client.request('sandbox/create', { name: sandbox });
    const { deployments } = await client.request('deploy/start', {
      repoPath: repo.root,
      sandbox,
      ref: 'dot-dot-image',
      services: ['sneaky'],
    });
    const result = await final(deployments[0]!.id).catch((e: unknown) => {
      throw new Error(`${String(e)}; the daemon's stderr ends with: ${daemon.stderr().slice(-500)}`);
    });
    expect(result.status).toBe('failed');
    expect(result.diagnosis).toContain('Refused to send the Docker engine');
    expect(daemon.process.exitCode).toBeNull();
    expect((await client.request('system/info')).pid).toBe(daemon.runtime.pid);
  });
});
