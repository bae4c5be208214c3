/**
 * `container/list` latency with 200+ containers, against `docker ps -a --format json`, in
 * the same run: the container model's `list()` (the code path the RPC uses), the RPC itself
 * through a real daemon when one can be started (test/helpers/daemon.ts, dist/ built), and the
 * docker CLI spawned with an argument array. Prints p50/p99 and the ratios.
 *
 *   node --import tsx bench/container-list.bench.ts [containers=220] [calls=200]
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
import { benchRun } from './lib/docker';
import { summarize, type Summary } from './lib/stats';

const CONTAINERS = Number(process.argv[2] ?? 220);
const RUNNING = 5;
const CALLS = Number(process.argv[3] ?? 200);
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

async function measure(calls: number, once: () => Promise<unknown>): Promise<Summary> {
  await once(); // warm up
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
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

async function main(): Promise<void> {
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
    results.push([`model.list({all}) x${CALLS}`, await measure(CALLS, () => m.list({ all: true }))]);
    results.push([
      `model.list({sandbox}) x${CALLS}`,
      await measure(CALLS, () => m.list({ sandbox: `${run.runId}-sb3` })),
    ]);

    const rpc = await protocolClient();
    if (rpc) {
      daemon = rpc.daemon;
      const client = rpc.client;
      const answer = await client.request('container/list', { all: true });
      console.log(`daemon answers container/list with ${answer.containers.length} containers`);
      results.push([
        `container/list {all} (RPC) x${CALLS}`,
        await measure(CALLS, () => client.request('container/list', { all: true })),
      ]);
    }
    results.push([`docker ps -a --format json x${CALLS}`, await measure(CALLS, dockerPs)]);

    console.log('');
    for (const [name, f] of results) console.log(row(name, f));
    const ps = results.at(-1)![1];
    console.log('');
    for (const [name, f] of results.slice(0, -1)) {
      const label = name.replace(/ x\d+$/, '');
      console.log(
        `${label} vs docker ps: ${(ps.p50 / f.p50).toFixed(1)}x faster at p50, ${(ps.p99 / f.p99).toFixed(1)}x at p99`,
      );
    }
  } finally {
    model?.close();
    engine.stop();
    await daemon?.dispose().catch(() => undefined);
    await cleanup();
    console.log('cleaned up');
  }
}

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

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
