/**
 * A Branchbox deploy of one fixture service against doing the same by hand, in the same run:
 *
 *   Branchbox   deploy/start through a real daemon (dist/ built), timed from the request to the
 *               final `running` progress item: git export, image build (or reuse), container
 *               start beside the old one, health check, switch-over.
 *   by hand     `docker build` in the checkout, `docker run -d -p 127.0.0.1:PORT:8080`, then
 *               GET /healthz every 50 ms until it answers 200 (docker CLI spawned with argument
 *               arrays); the redeploy also removes the previous container.
 *
 * Two cases: cold (the image does not exist and no build layer is cached: each round commits
 * a server.js with a fresh nonce, different for each side) and a redeploy of the same commit
 * (Branchbox reuses the image; by hand `docker build` hits its cache). Prints medians, the
 * ratios Branchbox / by hand and Branchbox redeploy / cold, and the medians of Branchbox's
 * stages (from the deployment record) with the time outside them: the request until prepare
 * begins, and switch-over's end until `running` (the previous container removed).
 *
 *   node --import tsx bench/deploy.bench.ts [--quick] [--rounds N]
 *
 * Everything created carries `branchbox.test=<run id>` and is removed at the end, also on
 * failure or Ctrl-C (containers, networks, the sandbox, and the images built from the
 * fixture's commits and the hand-built tags).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StreamItem } from '../schemas/src/index';
import { DAEMON_JS, startTestDaemon, type TestClient, type TestDaemon } from '../test/helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../test/helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../test/helpers/fixture-repo';
import { cleanupOnce } from './lib/cleanup';
import { freePort } from './lib/net';
import { runBench } from './lib/report';
import { formatMs, median, printTable, ratio } from './lib/stats';

const OPTIONS = { rounds: { full: 5, quick: 1, help: 'rounds, alternating which side goes first' } };
const SERVICE = 'account';
const POLL_MS = 50;
const BEFORE = 'request → prepare (plan, queue)';
const AFTER = 'switch-over → running (old removed)';

type Progress = StreamItem<'deploy/progress'>;

interface BranchboxRun {
  readonly ms: number;
  readonly stages: Record<string, number>;
  readonly reused: boolean;
}

function dockerCli(args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`docker ${args[0]} exited with ${code}: ${err.trim()}`)),
    );
  });
}

async function waitHealthy(port: number): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`127.0.0.1:${port} never became healthy`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A commit of the fixture whose server.js no build has seen, so nothing is cached. */
function freshCommit(repo: FixtureRepo, tag: string): string {
  const file = `services/${SERVICE}/server.js`;
  const text = readFileSync(join(repo.root, file), 'utf8').replace(/^\/\/ bench .*\n/m, '');
  repo.write(file, `// bench ${tag} ${randomBytes(6).toString('hex')}\n${text}`);
  return repo.commitAll(`bench ${tag}`);
}

async function deployThroughBranchbox(client: TestClient, repo: FixtureRepo, sandbox: string): Promise<BranchboxRun> {
  const started = performance.now();
  const startedAt = Date.now();
  const { deployments } = await client.request('deploy/start', { repoPath: repo.root, sandbox, services: [SERVICE] });
  const id = deployments[0]!.id;
  const items: Progress[] = [];
  await new Promise<void>((resolve, reject) => {
    void client
      .subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', {
        onItems: (batch) => items.push(...batch),
        onEnd: () => resolve(),
      })
      .catch(reject);
  });
  const ms = performance.now() - started;
  const final = await client.request('deploy/get', { id });
  if (final.status !== 'running') throw new Error(`Branchbox deploy ended ${final.status}: ${final.diagnosis ?? ''}`);
  const stages: Record<string, number> = {};
  for (const s of final.stages) stages[s.stage] = s.durationMs ?? 0;
  // Outside the stages: the request until prepare begins (plan, checks, queue), and from the
  // end of switch-over until `running` is announced (the previous container removed).
  const at = (item: Progress | undefined) => (item ? Date.parse(item.t) : NaN);
  const prepareBegins = items.find((i) => i.kind === 'stage' && i.stage === 'prepare' && i.phase === 'begin');
  const switchEnds = items.find((i) => i.kind === 'stage' && i.stage === 'switch-over' && i.phase === 'end');
  const running = items.find((i) => i.kind === 'status' && i.status === 'running');
  stages[BEFORE] = at(prepareBegins) - startedAt;
  stages[AFTER] = at(running) - at(switchEnds);
  for (const [k, v] of Object.entries(stages)) if (!Number.isFinite(v)) throw new Error(`no timing for ${k} in the deployment's progress`);
  return { ms, stages, reused: final.buildReused ?? false };
}

async function deployByHand(
  repo: FixtureRepo,
  image: string,
  label: string,
  previous: string | undefined,
): Promise<{ ms: number; container: string }> {
  const started = performance.now();
  await dockerCli(['build', '-q', '-t', image, '--label', label, '.'], join(repo.root, 'services', SERVICE));
  const port = await freePort();
  const container = (await dockerCli(['run', '-d', '--label', label, '-p', `127.0.0.1:${port}:8080`, image])).trim();
  await waitHealthy(port);
  if (previous) await dockerCli(['rm', '-f', previous]);
  return { ms: performance.now() - started, container };
}

runBench('deploy', { options: OPTIONS }, async ({ options }, report) => {
  const ROUNDS = options.rounds;
  if (!existsSync(DAEMON_JS)) throw new Error(`${DAEMON_JS} is missing: run npm run build first`);
  const run = testRun('bbbench');
  const label = `${TEST_LABEL}=${run.runId}`;
  const repo = createFixtureRepo();
  const handTags = new Set<string>();
  let daemon: TestDaemon | undefined;
  let client: TestClient | undefined;
  const sandbox = `bench-${run.runId.slice(-8)}`;

  const cleanup = cleanupOnce(async (step) => {
    await step('delete the sandbox', () => client?.request('sandbox/delete', { name: sandbox }));
    await step('close the connection', () => client?.closeSocket());
    await step('stop the daemon', async () => {
      await daemon?.stop();
      await daemon?.dispose();
    });
    await step('remove the containers', () => run.cleanup());
    await step('remove the images', async () => {
      const commits = new Set(repo.git('rev-list', '--all').trim().split('\n'));
      for (const image of await docker.listImages({
        filters: JSON.stringify({ label: ['branchbox.project=shop'] }),
      })) {
        if (commits.has(image.Labels?.['branchbox.commit'] ?? ''))
          await docker
            .getImage(image.Id)
            .remove({ force: true })
            .catch(() => undefined);
      }
      for (const tag of handTags)
        await docker
          .getImage(tag)
          .remove({ force: true })
          .catch(() => undefined);
    });
    await step('remove the fixture repository', () => repo.dispose());
  });

  try {
    daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: label }, args: ['--log-level', 'info'] });
    client = await daemon.connect('deploy-bench');
    await client.request('sandbox/create', { name: sandbox });

    // Warm-up (not counted): the daemon's first deploy, the engine's first build of this base.
    freshCommit(repo, 'warmup');
    await deployThroughBranchbox(client, repo, sandbox);

    const cold = { branchbox: [] as number[], hand: [] as number[] };
    const warm = { branchbox: [] as number[], hand: [] as number[] };
    const stages: Record<string, number[]> = {};
    const reuseStages: Record<string, number[]> = {};
    let handContainer: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which side goes first, so neither always meets a busier engine.
      const sides = round % 2 === 0 ? (['branchbox', 'hand'] as const) : (['hand', 'branchbox'] as const);
      for (const side of sides) {
        if (side === 'branchbox') {
          freshCommit(repo, `bb${round}`);
          const first = await deployThroughBranchbox(client, repo, sandbox);
          if (first.reused) throw new Error('the cold Branchbox deploy reused an image');
          const again = await deployThroughBranchbox(client, repo, sandbox);
          if (!again.reused) throw new Error('the Branchbox redeploy rebuilt the image');
          cold.branchbox.push(first.ms);
          warm.branchbox.push(again.ms);
          for (const [k, v] of Object.entries(first.stages)) (stages[k] ??= []).push(v);
          for (const [k, v] of Object.entries(again.stages)) (reuseStages[k] ??= []).push(v);
        } else {
          const commit = freshCommit(repo, `hand${round}`);
          const image = `branchbox-bench/hand-${SERVICE}:${commit.slice(0, 12)}`;
          handTags.add(image);
          const first = await deployByHand(repo, image, label, handContainer);
          const again = await deployByHand(repo, image, label, first.container);
          handContainer = again.container;
          cold.hand.push(first.ms);
          warm.hand.push(again.ms);
        }
      }
      process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`);
    }

    console.log(
      `\nDeploy of one fixture service (${SERVICE}), median of ${ROUNDS} rounds; by hand polls /healthz every ${POLL_MS} ms\n`,
    );
    report.ratio(
      'Branchbox / by hand cold',
      median(cold.branchbox) / median(cold.hand),
      `${formatMs(median(cold.branchbox))} vs ${formatMs(median(cold.hand))}`,
    );
    report.ratio(
      'Branchbox / by hand redeploy',
      median(warm.branchbox) / median(warm.hand),
      `${formatMs(median(warm.branchbox))} vs ${formatMs(median(warm.hand))}`,
    );
    report.ratio(
      'Branchbox redeploy / cold',
      median(warm.branchbox) / median(cold.branchbox),
      `${formatMs(median(warm.branchbox))} vs ${formatMs(median(cold.branchbox))}; redeploy start ${formatMs(median(reuseStages['start'] ?? []))}, switch-over ${formatMs(median(reuseStages['switch-over'] ?? []))}`,
    );
    printTable(
      ['case', 'Branchbox', 'by hand', 'Branchbox / by hand'],
      [
        [
          'cold (image absent, no cache)',
          formatMs(median(cold.branchbox)),
          formatMs(median(cold.hand)),
          ratio(median(cold.branchbox), median(cold.hand)),
        ],
        [
          'same-commit redeploy',
          formatMs(median(warm.branchbox)),
          formatMs(median(warm.hand)),
          ratio(median(warm.branchbox), median(warm.hand)),
        ],
      ],
    );
    console.log('\nBranchbox stages (median)\n');
    const names = [BEFORE, 'prepare', 'build', 'start', 'health-check', 'switch-over', AFTER];
    printTable(
      ['stage', 'cold', 'redeploy'],
      names.map((n) => [n, formatMs(median(stages[n] ?? [])), formatMs(median(reuseStages[n] ?? []))]),
    );
  } finally {
    await cleanup();
  }
});
