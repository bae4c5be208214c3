/**
 * How soon a followed log stream is back after a restart of the Docker engine, and whether
 * anything was lost: branchboxd's `container/logs` subscription (which waits for the engine
 * and resumes after the last line it delivered) against the plain alternative in the same
 * run — a script that, as soon as `docker logs -f` dies, polls `docker info` every 100 ms and
 * starts `docker logs -f --since <last timestamp>` again.
 *
 *   node --import tsx bench/engine-restart.bench.ts [--quick] [--restarts N] [--down-ms N]
 *
 * Runs on an engine of its own (test/helpers/private-engine.ts), so the machine's engine is
 * never stopped. Prints, per restart, the delay from the engine serving its API again to the
 * first line after it, for each, and the ratio of the medians. Fails when the daemon's stream
 * lost or repeated a line (it resumes after the last line it delivered); the script's gaps are
 * printed beside, as the alternative's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startTestDaemon } from '../test/helpers/daemon';
import { BUSYBOX, TEST_LABEL, testRun } from '../test/helpers/docker-fixtures';
import { startPrivateEngine } from '../test/helpers/private-engine';
import { runBench } from './lib/report';
import { median } from './lib/stats';

const OPTIONS = {
  restarts: { full: 3, quick: 1, help: 'engine restarts' },
  'down-ms': { full: 2000, quick: 1000, help: 'how long the engine stays down, ms' },
};

/** Lines "line <n>" as they arrive, with when. */
class LineClock {
  readonly numbers: number[] = [];
  private waiter: { after: number; resolve: (t: number) => void } | undefined;

  add(text: string): void {
    const n = Number(/line (\d+)$/.exec(text.trim())?.[1]);
    if (!Number.isFinite(n)) return;
    this.numbers.push(n);
    if (this.waiter && performance.now() >= this.waiter.after) {
      this.waiter.resolve(performance.now());
      this.waiter = undefined;
    }
  }

  /** When the first line arrives after `after` (a performance.now() time). */
  firstAfter(after: number): Promise<number> {
    return new Promise((resolve) => (this.waiter = { after, resolve }));
  }

  /** Lines missing or repeated in the sequence received. */
  gaps(): { missing: number; repeated: number } {
    const seen = new Set(this.numbers);
    const max = Math.max(...this.numbers);
    const min = Math.min(...this.numbers);
    return { missing: max - min + 1 - seen.size, repeated: this.numbers.length - seen.size };
  }
}

/** The plain script: `docker logs -f`, restarted with `--since` once `docker info` answers again. */
function plainFollower(host: string, id: string, clock: LineClock): { stop(): void } {
  let child: ChildProcess | undefined;
  let lastTs: string | undefined;
  let stopped = false;
  const run = () => {
    if (stopped) return;
    const args = ['-H', host, 'logs', '-f', '--timestamps', ...(lastTs ? ['--since', lastTs] : []), id];
    child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [ts, ...rest] = line.split(' ');
        if (lastTs !== undefined && ts! <= lastTs) continue; // --since is inclusive
        lastTs = ts;
        clock.add(rest.join(' '));
      }
    });
    child.once('exit', () => void again());
  };
  const again = async () => {
    while (!stopped && spawnSync('docker', ['-H', host, 'info'], { stdio: 'ignore' }).status !== 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
    run();
  };
  run();
  return {
    stop: () => {
      stopped = true;
      child?.kill();
    },
  };
}

runBench('engine-restart', { options: OPTIONS }, async ({ options }, report) => {
  const RESTARTS = options.restarts;
  const DOWN_MS = options['down-ms'];
  const run = testRun('bbbench-engine');
  const engine = await startPrivateEngine();
  const daemon = await startTestDaemon({
    args: ['--docker-host', engine.host, '--label', `${TEST_LABEL}=${run.runId}`],
  });
  let plain: { stop(): void } | undefined;
  try {
    const counter = await engine.docker.createContainer({
      Image: BUSYBOX,
      Cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.01; done'],
      Labels: run.labels(),
      HostConfig: { NetworkMode: 'none' },
    });
    await counter.start();
    const client = await daemon.connect('bench-engine-restart');
    const viaDaemon = new LineClock();
    const viaScript = new LineClock();
    await client.subscribe('container/logs', { id: counter.id, follow: true }, 'container/logs/data', {
      onItems: (items) => items.forEach((l) => viaDaemon.add(l.line)),
      onEnd: (e) => console.error(`the daemon's log stream ended: ${JSON.stringify(e)}`),
    });
    plain = plainFollower(engine.host, counter.id, viaScript);
    const started = performance.now();
    await Promise.all([viaDaemon.firstAfter(started), viaScript.firstAfter(started)]);

    const delays = { daemon: [] as number[], script: [] as number[] };
    for (let i = 1; i <= RESTARTS; i++) {
      await engine.stop();
      await new Promise((r) => setTimeout(r, DOWN_MS)); // the engine is down this long
      await engine.start();
      const up = performance.now();
      const [d, s] = await Promise.all([viaDaemon.firstAfter(up), viaScript.firstAfter(up)]);
      delays.daemon.push(d - up);
      delays.script.push(s - up);
      console.log(
        `restart ${i}: first line after the engine is back — branchboxd ${(d - up).toFixed(0)} ms, script ${(s - up).toFixed(0)} ms`,
      );
    }
    // Let both catch up, then compare what they received.
    const end = performance.now() + 500;
    await Promise.all([viaDaemon.firstAfter(end), viaScript.firstAfter(end)]);
    const md = median(delays.daemon);
    const ms = median(delays.script);
    console.log(
      `\nengine down ${DOWN_MS} ms, ${RESTARTS} restarts, median delay to the first line after the engine is back:`,
    );
    console.log(
      `  branchboxd container/logs   ${md.toFixed(0)} ms   lines ${viaDaemon.numbers.length}, ${JSON.stringify(viaDaemon.gaps())}`,
    );
    console.log(
      `  docker logs -f + retry loop ${ms.toFixed(0)} ms   lines ${viaScript.numbers.length}, ${JSON.stringify(viaScript.gaps())}`,
    );
    const gaps = viaDaemon.gaps();
    report.check(
      gaps.missing === 0 && gaps.repeated === 0,
      `branchboxd's stream lost ${gaps.missing} and repeated ${gaps.repeated} lines`,
    );
    console.log(
      `  ratio branchboxd / script   ${report.ratio('branchboxd / script delay to the first line', md / ms, `${md.toFixed(0)} ms vs ${ms.toFixed(0)} ms`)}`,
    );
    await client.closeSocket();
  } finally {
    plain?.stop();
    await daemon.stop();
    await daemon.dispose();
    await engine.dispose();
  }
});
