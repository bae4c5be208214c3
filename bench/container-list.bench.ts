/**
 * `container/list` latency with 200+ containers, against the plain alternatives, in the same
 * run: the container model's `list()` (the code path the RPC uses, an in-memory cache), the
 * RPC itself through a real daemon when one can be started (test/helpers/daemon.ts, dist/
 * built), the same listing through the Engine API with dockerode (`listContainers({ all })`,
 * what a program would really use), and the docker CLI (`docker ps -a --format json`,
 * spawned with an argument array). Prints p50/p99 and the ratios against both alternatives.
 * Every answer is checked: each listing holds at least the run's containers, the sandbox
 * filter exactly the sandbox's; a wrong answer fails the run.
 *
 *   node --import tsx bench/container-list.bench.ts [--quick] [--containers N] [--calls N]
 *
 * Every container carries `branchbox.bench=<run id>` (bench/lib/docker.ts) and is removed at
 * the end, also on failure or Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ContainerModel } from '../daemon/src/docker/container-model';
import { DockerEngine } from '../daemon/src/docker/engine';
import { DAEMON_JS, startTestDaemon } from '../test/helpers/daemon';
import { docker } from '../test/helpers/docker-fixtures';
import { benchRun } from './lib/docker';
import { runBench, type Report } from './lib/report';
import { formatMs, summarize, type Summary } from './lib/stats';

const OPTIONS = {
  containers: { full: 220, quick: 40, help: 'containers created' },
  calls: { full: 200, quick: 40, help: 'calls per way of listing' },
};
const RUNNING = 5;
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

/** Latencies of `calls` calls of `once` (after one not counted); each answer's count checked by `expect`. */
async function measure(
  report: Report,
  what: string,
  calls: number,
  once: () => Promise<number>,
  expect: (count: number) => boolean,
): Promise<Summary> {
  await once(); // warm up
  const times: number[] = [];
  let wrong = 0;
  let example = 0;
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    const count = await once();
    times.push(performance.now() - t);
    if (!expect(count)) {
      wrong++;
      example = count;
    }
  }
  report.check(wrong === 0, `${what}: ${wrong} of ${calls} answers had the wrong count (e.g. ${example})`);
  return summarize(times);
}

function dockerPs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['ps', '-a', '--format', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines++;
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`docker ps exited with ${code}`))));
  });
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

const ms = (n: number) => `${n.toFixed(2)} ms`;
const row = (name: string, f: Summary) =>
  `${name.padEnd(34)} p50 ${ms(f.p50).padStart(10)}   p99 ${ms(f.p99).padStart(10)}   mean ${ms(f.mean).padStart(10)}`;

runBench('container-list', { options: OPTIONS }, async ({ options }, report) => {
  const CONTAINERS = options.containers;
  const CALLS = options.calls;
  const run = benchRun('bblist');
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= run.cleanup());
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  const engine = new DockerEngine();
  let model: ContainerModel | undefined;
  let daemon: { dispose(): Promise<void> } | undefined;
  try {
    const status = await engine.start();
    if (!status.available) throw new Error(status.reason);
    console.log(
      `engine ${status.version} at ${status.endpoint}; creating ${CONTAINERS} containers (${RUNNING} running)…`,
    );
    let t = performance.now();
    await inBatches([...Array(CONTAINERS).keys()], 16, (i) =>
      run.createContainer({
        Cmd: SLEEPER,
        name: `${run.runId}-${i}`,
        start: i < RUNNING,
        Labels: { 'branchbox.sandbox': `${run.runId}-sb${i % 10}`, 'branchbox.service': `svc${i % 7}` },
      }),
    );
    console.log(`created in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    t = performance.now();
    model = new ContainerModel(engine);
    const listed = await model.list({ all: true });
    console.log(
      `model in sync with ${listed.length} containers in ${ms(performance.now() - t)} (full list + one inspect each)`,
    );
    const total = await dockerPs();
    if (total !== listed.length)
      console.log(`note: docker ps lists ${total}, the model ${listed.length} (others are creating containers)`);

    const results: [string, Summary][] = [];
    const m = model;
    const all = (n: number) => n >= CONTAINERS;
    const inSandbox3 = [...Array(CONTAINERS).keys()].filter((i) => i % 10 === 3).length;
    results.push([
      `model.list({all}) x${CALLS}`,
      await measure(report, 'model.list({all})', CALLS, async () => (await m.list({ all: true })).length, all),
    ]);
    results.push([
      `model.list({sandbox}) x${CALLS}`,
      await measure(
        report,
        'model.list({sandbox})',
        CALLS,
        async () => (await m.list({ sandbox: `${run.runId}-sb3` })).length,
        (n) => n === inSandbox3,
      ),
    ]);

    const rpc = await protocolClient();
    if (rpc) {
      daemon = rpc.daemon;
      const client = rpc.client;
      const answer = await client.request('container/list', { all: true });
      console.log(`daemon answers container/list with ${answer.containers.length} containers`);
      results.push([
        `container/list {all} (RPC) x${CALLS}`,
        await measure(
          report,
          'container/list (RPC)',
          CALLS,
          async () => (await client.request('container/list', { all: true })).containers.length,
          all,
        ),
      ]);
    }
    const api = await measure(
      report,
      'dockerode listContainers',
      CALLS,
      async () => (await docker.listContainers({ all: true })).length,
      all,
    );
    const ps = await measure(report, 'docker ps', CALLS, dockerPs, all);
    results.push([`dockerode listContainers({all}) x${CALLS}`, api], [`docker ps -a --format json x${CALLS}`, ps]);

    console.log('');
    for (const [name, f] of results) console.log(row(name, f));
    console.log('\n(ratio < 1: faster than the alternative)');
    for (const [name, f] of results.slice(0, -2)) {
      const label = name.replace(/ x\d+$/, '');
      for (const [alt, a] of [
        ['Engine API (dockerode)', api],
        ['docker ps', ps],
      ] as const) {
        report.ratio(`${label} / ${alt} p50`, f.p50 / a.p50, `${formatMs(f.p50)} vs ${formatMs(a.p50)}`);
        console.log(`${label} / ${alt}: ${(f.p50 / a.p50).toFixed(3)} at p50, ${(f.p99 / a.p99).toFixed(3)} at p99`);
      }
    }
  } finally {
    model?.close();
    engine.stop();
    await daemon?.dispose().catch(() => undefined);
    await cleanup();
    console.log('cleaned up');
  }
});

/** A real daemon over WebSocket, when dist/ is built and it answers `container/list`; else undefined (with the reason). */
async function protocolClient() {
  if (!existsSync(DAEMON_JS)) {
    console.log(`(no ${DAEMON_JS}: run npm run build to include the RPC figures)`);
    return undefined;
  }
  const daemon = await startTestDaemon({ env: { BRANCHBOX_VALIDATE_RESULTS: '0' } });
  try {
    const client = await daemon.connect('bench');
    await client.request('container/list', {});
    return { daemon, client };
  } catch (e) {
    console.log(`(the daemon does not answer container/list yet: ${(e as Error).message})`);
    await daemon.dispose();
    return undefined;
  }
}
