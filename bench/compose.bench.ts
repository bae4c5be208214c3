/**
 * Branchbox deploying the compose example (examples/compose-shop: web, api, postgres, redis,
 * a migration job) against the reference, Debian's docker-compose 1.29, in the same run:
 *
 *   Branchbox        deploy/start of every service through a real daemon (dist/ built), timed
 *                    until every deployment is final (running, or completed for the job) and
 *                    every container healthy (the job exited 0).
 *   docker-compose   `up -d` (it builds, and waits on depends_on conditions itself), timed until
 *                    the same state, the containers inspected every 100 ms.
 *
 * Two cases: cold (images absent, no build layer cached: each round writes a fresh nonce into
 * the sources each side builds; fresh volumes, so postgres runs initdb) and warm (the same
 * sources again, images built and data volumes kept: Branchbox redeploys the same commit into
 * the sandbox; docker-compose `down` without -v, then `up -d`). Prints medians, the ratios
 * Branchbox / docker-compose (goal ≤ 1.0) and the machine's load.
 *
 *   node --import tsx bench/compose.bench.ts [--quick] [--rounds N] [--docker-compose-only]
 *
 * `--docker-compose-only` times the reference alone (no ratio), e.g. while Branchbox cannot
 * deploy the example.
 *
 * Everything created carries `branchbox.test=<run id>` and is removed at the end, also on
 * failure or Ctrl-C; any error fails the run (exit 1).
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { servingServiceOf } from '../schemas/src/docker-names';
import {
  DAEMON_JS,
  deployFinal,
  portWindows,
  startTestDaemon,
  type TestClient,
  type TestDaemon,
} from '../test/helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../test/helpers/docker-fixtures';
import {
  composeReference,
  exampleCompose,
  exampleCopy,
  exampleRepo,
  jobs,
  waitSettled,
  type ComposeReference,
} from '../test/integration/compose/compose-reference';
import { cleanupOnce } from './lib/cleanup';
import { formatLoad, runBench } from './lib/report';
import { formatMs, median, printTable, ratio } from './lib/stats';

const OPTIONS = { rounds: { full: 3, quick: 1, help: 'rounds, alternating which side goes first' } };
const FLAGS = { 'docker-compose-only': 'time docker-compose alone (no ratio)' };
const SETTLE_POLL_MS = 100;
const SERVICES = Object.keys(exampleCompose().services);

const load = () => formatLoad(loadavg());

async function deployThroughBranchbox(
  client: TestClient,
  repo: string,
  commit: string,
  sandbox: string,
  runId: string,
): Promise<number> {
  const started = performance.now();
  const finals = await deployFinal(client, { repoPath: repo, commit, sandbox, services: SERVICES });
  const jobSet = jobs();
  for (const d of finals) {
    const expected = jobSet.has(d.service) ? 'completed' : 'running';
    if (d.status !== expected)
      throw new Error(`Branchbox deploy of ${d.service} ended ${d.status}: ${d.diagnosis ?? ''}`);
  }
  const filters = JSON.stringify({ label: [`${TEST_LABEL}=${runId}`, `branchbox.sandbox=${sandbox}`] });
  await waitSettled(
    () => docker.listContainers({ all: true, filters }),
    (c) => servingServiceOf(sandbox, (c.Names[0] ?? '').replace(/^\//, '')),
    120_000,
    SETTLE_POLL_MS,
  );
  return performance.now() - started;
}

async function upThroughCompose(reference: ComposeReference): Promise<number> {
  const started = performance.now();
  await reference.up();
  await waitSettled(
    () => reference.containers(),
    (c) => reference.serviceOf(c),
    120_000,
    SETTLE_POLL_MS,
  );
  return performance.now() - started;
}

runBench('compose', { options: OPTIONS, flags: FLAGS }, async ({ options, flags }, report) => {
  const ROUNDS = options.rounds;
  const REFERENCE_ONLY = flags.has('docker-compose-only');
  if (!existsSync(DAEMON_JS)) throw new Error(`${DAEMON_JS} is missing: run npm run build first`);
  const run = testRun('bbbench');
  const repo = exampleRepo();
  const copy = exampleCopy();
  const references: ComposeReference[] = [];
  const sandboxes: string[] = [];
  let daemon: TestDaemon | undefined;
  let client: TestClient | undefined;

  const cleanup = cleanupOnce(async (step) => {
    for (const reference of references) await step(`docker-compose down ${reference.project}`, () => reference.down());
    for (const name of sandboxes)
      await step(`delete the sandbox ${name}`, () => client?.request('sandbox/delete', { name }));
    await step('close the connection', () => client?.closeSocket());
    await step('stop the daemon', async () => {
      await daemon?.stop();
      await daemon?.dispose();
    });
    await step('remove what carries the label', () => run.cleanup());
    await step('remove the copies', () => {
      repo.dispose();
      copy.dispose();
    });
  });

  try {
    if (!REFERENCE_ONLY) {
      daemon = await startTestDaemon({
        env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...portWindows() },
        args: ['--log-level', 'info'],
      });
      client = await daemon.connect('compose-bench');
    }
    const cold = { branchbox: [] as number[], compose: [] as number[] };
    const warm = { branchbox: [] as number[], compose: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which side goes first, so neither always meets a busier engine.
      const sides = round % 2 === 0 ? (['branchbox', 'compose'] as const) : (['compose', 'branchbox'] as const);
      for (const side of sides) {
        if (side === 'branchbox' && client) {
          repo.fresh(`bb${round}`);
          const commit = repo.commit(`bench round ${round}`);
          const sandbox = `cb${round}-${run.runId.slice(-6)}`;
          sandboxes.push(sandbox);
          await client.request('sandbox/create', { name: sandbox });
          cold.branchbox.push(await deployThroughBranchbox(client, repo.root, commit, sandbox, run.runId));
          warm.branchbox.push(await deployThroughBranchbox(client, repo.root, commit, sandbox, run.runId));
          await client.request('sandbox/delete', { name: sandbox });
          sandboxes.pop(); // deleted: nothing left for cleanup
        } else if (side === 'compose') {
          copy.fresh(`dc${round}`);
          const reference = await composeReference(run.runId, { dir: copy.root, project: `${run.runId}-r${round}` });
          references.push(reference);
          cold.compose.push(await upThroughCompose(reference));
          await reference.compose('down');
          warm.compose.push(await upThroughCompose(reference));
          await reference.down();
          references.pop();
        }
      }
      console.log(`round ${round + 1}/${ROUNDS} done, load average ${load()}`);
    }

    console.log(`\nThe compose example (${SERVICES.join(', ')}) up and healthy, median of ${ROUNDS} rounds\n`);
    if (REFERENCE_ONLY) {
      printTable(
        ['case', 'docker-compose'],
        [
          ['cold (images absent, fresh volumes)', formatMs(median(cold.compose))],
          ['warm (same sources, data kept)', formatMs(median(warm.compose))],
        ],
      );
      return;
    }
    report.ratio(
      'Branchbox / docker-compose cold',
      median(cold.branchbox) / median(cold.compose),
      `${formatMs(median(cold.branchbox))} vs ${formatMs(median(cold.compose))}`,
    );
    report.ratio(
      'Branchbox / docker-compose warm',
      median(warm.branchbox) / median(warm.compose),
      `${formatMs(median(warm.branchbox))} vs ${formatMs(median(warm.compose))}`,
    );
    printTable(
      ['case', 'Branchbox', 'docker-compose', 'Branchbox / docker-compose'],
      [
        [
          'cold (images absent, fresh volumes)',
          formatMs(median(cold.branchbox)),
          formatMs(median(cold.compose)),
          ratio(median(cold.branchbox), median(cold.compose)),
        ],
        [
          'warm (same sources, data kept)',
          formatMs(median(warm.branchbox)),
          formatMs(median(warm.compose)),
          ratio(median(warm.branchbox), median(warm.compose)),
        ],
      ],
    );
  } finally {
    await cleanup();
  }
});
