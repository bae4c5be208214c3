/**
 * CPU cost of live stats: 20 idle labelled containers, all streamed through the stats
 * collector for DURATION seconds; this process's CPU time per second of wall time
 * (process.cpuUsage) is the daemon's cost. Side by side in the same run, the docker CLI doing
 * the same job (`docker stats <20 ids>`, its CPU time read from /proc) for the ratio.
 * Fails when the collector delivers fewer than half the samples expected (one per container
 * and second). Cleans up its containers even on failure.
 *
 *   node --import tsx bench/stats-cpu.bench.ts [--quick] [--containers N] [--seconds N]
 */
import { spawn } from 'node:child_process';
import type Docker from 'dockerode';
import { StatsCollector } from '../daemon/src/docker/streams/stats';
import { docker } from '../test/helpers/docker-fixtures';
import { processCpuSeconds } from './lib/cpu';
import { benchRun } from './lib/docker';
import { runBench } from './lib/report';

const OPTIONS = {
  containers: { full: 20, quick: 20, help: 'idle containers streamed' },
  seconds: { full: 20, quick: 5, help: 'seconds of each measurement (collector, idle, CLI)' },
};

/** Resolves after `seconds` of wall time: this benchmark measures over a fixed duration. */
const during = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** `promise`, or a clear failure if it takes longer than `ms` (a container vanished, the engine stalled). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function measureCollector(
  ids: string[],
  seconds: number,
): Promise<{ cpuMsPerSecond: number; samples: number; historyBytes: number }> {
  const collector = new StatsCollector(() => docker);
  let samples = 0;
  const seen = new Set<string>();
  let allFlowing!: () => void;
  const flowing = new Promise<void>((resolve) => (allFlowing = resolve));
  try {
    const subs = await Promise.all(
      ids.map((id) =>
        collector.subscribe(id, {
          sample: (s) => {
            samples++;
            seen.add(s.id);
            if (seen.size === ids.length) allFlowing();
          },
          end: () => undefined,
        }),
      ),
    );
    // Measure once every stream delivers samples (past its first, baseline document).
    await within(flowing, 30_000, 'samples from every container');
    samples = 0;
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await during(seconds);
    const used = process.cpuUsage(cpu);
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    for (const sub of subs) sub.close();
    return {
      cpuMsPerSecond: (used.user + used.system) / 1000 / wall,
      samples,
      historyBytes: ids.length * 3600 * 8 * 8,
    };
  } finally {
    collector.close();
  }
}

/** This process's CPU per second while it does nothing (timers, GC, the runtime): the floor. */
async function measureIdle(seconds: number): Promise<number> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await during(seconds);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function measureCli(ids: string[], seconds: number): Promise<number> {
  const child = spawn('docker', ['stats', '--format', '{{.ID}} {{.CPUPerc}} {{.MemUsage}}', ...ids], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    // Measure from its first output on, like the collector.
    await within(
      new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('error', reject);
      }),
      30_000,
      'the first output of docker stats',
    );
    child.stdout.resume();
    const before = processCpuSeconds(child.pid!);
    const start = process.hrtime.bigint();
    await during(seconds);
    const cpu = processCpuSeconds(child.pid!) - before;
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    return (cpu * 1000) / wall;
  } finally {
    // `docker stats` ignores SIGTERM; it must not outlive the benchmark (nor keep it alive).
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

runBench('stats-cpu', { options: OPTIONS }, async ({ options }, report) => {
  const CONTAINERS = options.containers;
  const SECONDS = options.seconds;
  const run = benchRun('bbstatsbench');
  try {
    const containers: Docker.Container[] = await Promise.all(
      Array.from({ length: CONTAINERS }, () => run.createContainer({ Cmd: ['sleep', '3600'] })),
    );
    const ids = containers.map((c) => c.id);
    console.log(`${CONTAINERS} idle containers, ${SECONDS} s each measurement`);

    console.log('measuring the stats collector…');
    const ours = await measureCollector(ids, SECONDS);
    console.log('measuring this process idle…');
    const idle = await measureIdle(SECONDS);
    console.log('measuring docker stats (CLI)…');
    const cli = await measureCli(ids, SECONDS);
    report.check(
      ours.samples >= (CONTAINERS * SECONDS) / 2,
      `the collector delivered ${ours.samples} samples in ${SECONDS} s, expected about ${CONTAINERS * SECONDS}`,
    );

    console.log('');
    console.log(
      `stats collector: ${ours.cpuMsPerSecond.toFixed(1)} ms CPU per second (${(ours.cpuMsPerSecond / 10).toFixed(2)} % of one core)`,
    );
    console.log(
      `                 ${ours.samples} samples in ${SECONDS} s (${(ours.samples / SECONDS).toFixed(1)}/s, expected ~${CONTAINERS}/s)`,
    );
    console.log(`                 ${(ours.cpuMsPerSecond / (ours.samples / SECONDS)).toFixed(3)} ms CPU per sample`);
    const net = Math.max(0, ours.cpuMsPerSecond - idle);
    console.log(`                 this process idle: ${idle.toFixed(1)} ms/s; net of it: ${net.toFixed(1)} ms/s`);
    console.log(
      `                 history: ${(ours.historyBytes / 1024 / 1024).toFixed(1)} MiB fixed for ${CONTAINERS} containers × 1 h`,
    );
    console.log(`docker stats CLI: ${cli.toFixed(1)} ms CPU per second for the same containers`);
    const r = report.ratio(
      'collector / docker stats CPU',
      ours.cpuMsPerSecond / cli,
      `${ours.cpuMsPerSecond.toFixed(1)} vs ${cli.toFixed(1)} ms/s`,
    );
    const n = report.ratio(
      'collector net of idle / docker stats CPU',
      net / cli,
      `${net.toFixed(1)} vs ${cli.toFixed(1)} ms/s`,
    );
    console.log(`ratio collector / CLI: ${r} (net of idle: ${n})`);
  } finally {
    await run.cleanup();
  }
});
