/**
 * Shared steps of the lifecycle tests: deploy and wait for the final status, port windows
 * away from other test daemons, and removal of the images built from a fixture repository.
 */
import { expect } from 'vitest';
import type { Params } from '../../../schemas/src/index';
import type { TestClient } from '../../helpers/daemon';
import { docker } from '../../helpers/docker-fixtures';
import type { FixtureRepo } from '../../helpers/fixture-repo';

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
    if (commits.has(image.Labels?.['branchbox.commit'] ?? '')) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  }
}
