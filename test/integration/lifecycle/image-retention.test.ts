/**
 * Nothing left behind on the real engine: the images of a build the daemon was killed in the
 * middle of are removed once it is back (they carry its labels, and the reconciler reaps them),
 * and built images are kept only as the retention says — each service's newest
 * `--keep-images` of an existing sandbox and those in use —, shown in `system/info` with the
 * disk they take, the rest removed at once by `image/reclaim` (CLI `branchbox images prune`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_LABEL, docker } from '../../helpers/docker-fixtures';
import { runCli } from '../cli/cli-process';
import { deployAndWait, useLifecycleDaemon } from './helpers';

const t = useLifecycleDaemon('bblir', 'image-retention-test', {
  BRANCHBOX_ORPHAN_GRACE_MS: '0',
  BRANCHBOX_KEEP_IMAGES: '2',
  // Rounds at start and on demand only: the test asks for removal, or restarts the daemon.
  BRANCHBOX_RECONCILE_INTERVAL_MS: '3600000',
});
const { suffix, created } = t;
const RETAINED = 'retained';
/** The commits of the `retained` branch, oldest first: each answers its own text. */
const commits: string[] = [];

beforeAll(() => {
  const { repo } = t;
  repo.git('checkout', '--quiet', '-b', RETAINED, 'feature/x');
  try {
    for (let i = 1; i <= 4; i++) {
      const server = `require('http').createServer((q, s) => s.end(q.url === '/healthz' ? 'ok' : 'version ${i}')).listen(8080);\n`;
      repo.write('services/account/server.js', server);
      commits.push(repo.commitAll(`account: version ${i}`));
    }
    // A build that outlives the daemon: its first step writes the run's marker (found in the
    // images' history), the second never ends.
    repo.git('checkout', '--quiet', '-b', `killed-${suffix}`, 'feature/x');
    const dockerfile = repo.git('show', 'feature/x:services/account/Dockerfile');
    repo.write(
      'services/account/Dockerfile',
      dockerfile.replace(
        /^FROM .*$/m,
        (from) => `${from}\nRUN echo "${t.run.runId}" > /run-id\nRUN echo "killed build waiting" && sleep 300`,
      ),
    );
    repo.commitAll('account: a build that never ends');
  } finally {
    repo.checkout('main');
  }
});

/** The images of the engine whose history holds this run's marker (whatever their labels). */
async function imagesOfThisRun(): Promise<string[]> {
  const found: string[] = [];
  for (const image of await docker.listImages({ all: true })) {
    const history = (await docker
      .getImage(image.Id)
      .history()
      .catch(() => [])) as { CreatedBy?: string }[];
    if (history.some((h) => h.CreatedBy?.includes(t.run.runId))) found.push(image.Id);
  }
  return found;
}

/** Tags of the account images this daemon built in this run. */
async function accountImages(): Promise<string[]> {
  const images = await docker.listImages({
    filters: JSON.stringify({ label: [`${TEST_LABEL}=${t.run.runId}`, 'branchbox.service=account'] }),
  });
  return images.flatMap((i) => i.RepoTags ?? []).sort();
}

const tagOf = (commit: string) => `branchbox/shop-account:${commit.slice(0, 12)}`;

describe('built images', () => {
  it('of a build the daemon was killed in are all removed once it is back', { timeout: 120_000 }, async () => {
    const name = `i${suffix}-k`;
    created.add(name);
    await t.client.request('sandbox/create', { name, repoPath: t.repo.root });
    const { deployments } = await t.client.request('deploy/start', {
      repoPath: t.repo.root,
      sandbox: name,
      ref: `killed-${suffix}`,
      services: ['account'],
    });
    // Killed once the build is inside its endless step: the steps before are committed images.
    await new Promise<void>((resolve, reject) => {
      void t.client
        .subscribe('deploy/subscribe', { deployment: deployments[0]!.id }, 'deploy/progress', {
          onItems: (items) => {
            if (items.some((i) => i.kind === 'log' && /killed build waiting/.test(i.line ?? ''))) resolve();
          },
          onEnd: (end) => reject(new Error(`progress ended before the endless step: ${end.reason}`)),
        })
        .catch(reject);
    });
    expect((await imagesOfThisRun()).length).toBeGreaterThan(0);
    await t.restart({ kill: true });

    await expect.poll(() => imagesOfThisRun(), { timeout: 60_000, interval: 250 }).toEqual([]);
    const info = await t.client.request('system/info');
    expect(info.images).toMatchObject({ reclaimable: { count: 0, bytes: 0 } });
  });

  it(
    "are kept for each service's newest deployments of a sandbox, shown with their size, the rest reclaimed at once",
    { timeout: 180_000 },
    async () => {
      const name = `i${suffix}-r`;
      created.add(name);
      await t.client.request('sandbox/create', { name, repoPath: t.repo.root });
      for (const commit of commits)
        await deployAndWait(t.client, { repoPath: t.repo.root, sandbox: name, commit, services: ['account'] });
      expect(await accountImages()).toEqual(commits.map(tagOf).sort());

      const cli = await runCli(['images', 'prune', '--dry-run'], { stateDir: t.daemon.stateDir });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain(`Would remove ${tagOf(commits[0]!)}`);
      expect(cli.stdout).toMatch(
        /^2 kept \([\d.]+[KMG]?i?B\), 2 reclaimable \([\d.]+[KMG]?i?B\); newest 2 per service$/m,
      );
      expect(await accountImages()).toHaveLength(4);

      const reclaimed = await t.client.request('image/reclaim', {});
      expect(reclaimed.removed.sort()).toEqual(commits.slice(0, 2).map(tagOf).sort());
      expect(reclaimed.buildsRunning).toBe(0);
      expect(reclaimed.retention).toMatchObject({
        keepPerService: 2,
        kept: { count: 2 },
        reclaimable: { count: 0, bytes: 0 },
      });
      expect(reclaimed.retention.kept.bytes).toBeGreaterThan(0);
      expect(await accountImages()).toEqual(commits.slice(2).map(tagOf).sort());
      const info = await t.client.request('system/info');
      expect(info.images).toMatchObject({
        kept: { count: 2, bytes: reclaimed.retention.kept.bytes },
        reclaimable: { count: 0 },
      });

      // The sandbox gone, nothing keeps its images.
      await t.client.request('sandbox/delete', { name });
      created.delete(name);
      expect((await t.client.request('image/reclaim', {})).removed.sort()).toEqual(commits.slice(2).map(tagOf).sort());
      expect(await accountImages()).toEqual([]);
    },
  );
});
