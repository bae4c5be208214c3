/**
 * What a day of normal use leaves on the disk, with Branchbox's image retention and without:
 *
 *   the day      SANDBOXES feature sandboxes of the fixture (account and payment), each
 *                redeployed at COMMITS new commits (every commit adds a 10 MB build output
 *                layer, as a compiled bundle would), plus one build killed with the daemon
 *                (kill -9, restarted); at the end of the day all but one sandbox are deleted.
 *   without      every image the day built stays (what a `docker build` per commit leaves
 *                until someone prunes): the disk the daemon's built images take at the end of
 *                the day before any removal (system/info: kept + reclaimable).
 *   with         after the reconciler's retention (here `image/reclaim`, what the reconciler
 *                does after the orphan grace): the images kept and the disk they take; the
 *                images of the run left on the engine, dangling ones included, counted from
 *                Docker's own listing.
 *
 *   node --import tsx bench/image-day.bench.ts [--quick] [--sandboxes N] [--commits N]
 *
 * Fails (exit 1) when a deploy fails, when anything of the killed build is left, or when the
 * engine's listing disagrees with the daemon's count. Everything created carries
 * `branchbox.test=<run id>` and is removed at the end, also on failure or Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Params, Result } from '../schemas/src/index';
import { deployFinal, portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../test/helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../test/helpers/docker-fixtures';
import { createFixtureRepo, FIXTURE_SERVICES } from '../test/helpers/fixture-repo';
import { runBench } from './lib/report';
import { printTable } from './lib/stats';

const OPTIONS = {
  sandboxes: { full: 3, quick: 2, help: 'feature sandboxes of the day' },
  commits: { full: 5, quick: 1, help: 'commits deployed in each sandbox' },
};
const MiB = 1024 * 1024;

async function deploy(client: TestClient, params: Params<'deploy/start'>): Promise<void> {
  for (const final of await deployFinal(client, params)) {
    if (final.status !== 'running')
      throw new Error(`deploy of ${final.service} ended ${final.status}: ${final.diagnosis ?? ''}`);
  }
}

/** The run's images on the engine (tagged and dangling; intermediate ones not counted), and the dangling ones. */
async function engineImages(label: string): Promise<{ all: number; dangling: number }> {
  const images = await docker.listImages({ filters: JSON.stringify({ label: [label] }) });
  return {
    all: images.length,
    dangling: images.filter((i) => !(i.RepoTags ?? []).some((t) => t !== '<none>:<none>')).length,
  };
}

runBench('image-day', { options: OPTIONS }, async ({ options }, report) => {
  const SANDBOXES = options.sandboxes;
  const COMMITS = options.commits;
  const run = testRun('bbday');
  const label = `${TEST_LABEL}=${run.runId}`;
  const repo = createFixtureRepo();
  const env = {
    BRANCHBOX_EXTRA_LABELS: label,
    BRANCHBOX_ORPHAN_GRACE_MS: '3600000',
    BRANCHBOX_RECONCILE_INTERVAL_MS: '3600000',
    // Ports of a window of its own, as the tests do (the default range meets ports in use).
    ...portWindows(),
  };
  let daemon: TestDaemon | undefined;
  let client: TestClient | undefined;
  const sandboxes = Array.from({ length: SANDBOXES }, (_, i) => `day${i}-${run.runId.slice(-6)}`);
  const cleanup = async () => {
    for (const name of sandboxes) await client?.request('sandbox/delete', { name }).catch(() => undefined);
    await client?.request('image/reclaim', {}).catch(() => undefined);
    await client?.closeSocket().catch(() => undefined);
    await daemon?.stop().catch(() => undefined);
    await daemon?.dispose().catch(() => undefined);
    await run.cleanup().catch(() => undefined);
    for (const image of await docker.listImages({ all: true, filters: JSON.stringify({ label: [label] }) })) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    repo.dispose();
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    daemon = await startTestDaemon({ env, args: ['--log-level', 'info'] });
    client = await daemon.connect('image-day-bench');
    const started = performance.now();
    let builds = 0;
    for (const [s, name] of sandboxes.entries()) {
      await client.request('sandbox/create', { name, repoPath: repo.root });
      repo.git('checkout', '--quiet', '-b', `day/${name}`, 'feature/x');
      for (let c = 0; c < COMMITS; c++) {
        for (const service of FIXTURE_SERVICES) {
          const file = `services/${service}/server.js`;
          repo.write(
            file,
            readFileSync(join(repo.root, file), 'utf8').replace(/^\/\/ day .*\n/m, '') + `// day ${s} ${c}\n`,
          );
          // The build output of the commit: 10 MB its own.
          repo.write(
            `services/${service}/Dockerfile`,
            repo
              .git('show', `feature/x:services/${service}/Dockerfile`)
              .replace(
                'COPY server.js /app/server.js',
                `COPY server.js /app/server.js\nRUN head -c ${10 * MiB} /dev/urandom > /app/bundle.bin`,
              ),
          );
        }
        const commit = repo.commitAll(`day ${s} commit ${c}`);
        await deploy(client, { repoPath: repo.root, sandbox: name, commit, services: [...FIXTURE_SERVICES] });
        builds += FIXTURE_SERVICES.length;
      }
      process.stdout.write(`sandbox ${s + 1}/${SANDBOXES}: ${COMMITS} commits deployed\n`);
    }

    // A build killed with the daemon (kill -9), then the daemon started again.
    repo.write(
      'services/account/Dockerfile',
      repo
        .git('show', 'feature/x:services/account/Dockerfile')
        .replace(
          'COPY server.js /app/server.js',
          `COPY server.js /app/server.js\nRUN head -c ${10 * MiB} /dev/urandom > /app/bundle.bin\nRUN echo "killed build waiting" && sleep 300`,
        ),
    );
    const killedCommit = repo.commitAll('a build killed midway');
    const { deployments } = await client.request('deploy/start', {
      repoPath: repo.root,
      sandbox: sandboxes[0]!,
      commit: killedCommit,
      services: ['account'],
    });
    await new Promise<void>((resolve, reject) => {
      void client!
        .subscribe('deploy/subscribe', { deployment: deployments[0]!.id }, 'deploy/progress', {
          onItems: (items) => {
            if (items.some((i) => i.kind === 'log' && i.line?.includes('killed build waiting'))) resolve();
          },
          onEnd: (end) => reject(new Error(`the killed build ended first: ${end.reason}`)),
        })
        .catch(reject);
    });
    await client.closeSocket();
    daemon.process.kill('SIGKILL');
    await daemon.exited;
    daemon = await startTestDaemon({ stateDir: daemon.stateDir, env, args: ['--log-level', 'info'] });
    client = await daemon.connect('image-day-bench');
    const dayMs = performance.now() - started;

    // End of the day: all but the first sandbox deleted.
    for (const name of sandboxes.slice(1)) await client.request('sandbox/delete', { name });
    const before = (await client.request('image/reclaim', { dryRun: true })).retention;
    const engineBefore = await engineImages(label);
    const reclaimed: Result<'image/reclaim'> = await client.request('image/reclaim', {});
    const after = reclaimed.retention;
    const engineAfter = await engineImages(label);

    report.check(
      engineAfter.all === after.kept.count,
      `the engine lists ${engineAfter.all} images of the run, the daemon keeps ${after.kept.count}`,
    );
    report.check(engineAfter.dangling === 0, `${engineAfter.dangling} dangling images of the run are left`);
    report.check(reclaimed.buildsRunning === 0, 'a build was still running at the end of the day');

    const mb = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
    console.log(
      `\nA day: ${SANDBOXES} sandboxes × ${COMMITS} commits × ${FIXTURE_SERVICES.length} services = ${builds} builds (10 MiB of build output each) ` +
        `+ 1 build killed with the daemon, in ${(dayMs / 1000).toFixed(0)} s; then ${SANDBOXES - 1} sandboxes deleted\n`,
    );
    printTable(
      ['', 'images (engine)', 'dangling', 'disk (beyond base images)'],
      [
        [
          'without retention (all the day built)',
          String(engineBefore.all),
          String(engineBefore.dangling),
          mb(before.kept.bytes + before.reclaimable.bytes),
        ],
        [
          `with retention (keep ${after.keepPerService} per service)`,
          String(engineAfter.all),
          String(engineAfter.dangling),
          mb(after.kept.bytes),
        ],
      ],
    );
    const without = before.kept.bytes + before.reclaimable.bytes;
    console.log(
      `\nreclaimed ${reclaimed.removed.length} images, ${mb(reclaimed.spaceReclaimed)}; left/without = ${((after.kept.bytes / without) * 100).toFixed(0)} %`,
    );
    report.ratio(
      'disk with / without retention',
      after.kept.bytes / without,
      `${mb(after.kept.bytes)} vs ${mb(without)}`,
    );
  } finally {
    await cleanup();
  }
});
