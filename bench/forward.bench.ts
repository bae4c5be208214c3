/**
 * Connection setup through a forward vs straight to the service's published port, in the same
 * run: each sample opens a TCP connection, sends one byte and waits for its echo (what a
 * database client's first round trip costs), then closes. Prints the median and p95 of each
 * and the ratio forward / direct. Fails when an echo is not the byte sent.
 *
 *   node --import tsx bench/forward.bench.ts [--quick] [--connections N] [--rounds N]
 *
 * The upstream is a TCP echo server in a container (branchbox/node:20 from scripts/setup.sh,
 * labelled branchbox.bench=<run>) published on 127.0.0.1 — or a Node child process when
 * Docker is not available. The forward is the daemon's own: {@link Forwards} over a SQLite
 * ForwardStore, its listener on 127.0.0.1, the target looked up per connection by
 * `servingTargets` in a container model holding the serving container (the daemon's model is
 * in memory too). Rounds alternate the two paths; each path's figures are those of its median
 * round (by median), with the spread of the medians over the rounds. Everything
 * started is stopped at the end, also on failure or Ctrl-C.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerSummary } from '../schemas/src/docker';
import type { Project } from '../schemas/src/project';
import { ForwardStore } from '../daemon/src/forward/forward-store';
import { Forwards } from '../daemon/src/forward/forwards';
import { servingTargets } from '../daemon/src/forward/serving-targets';
import { nullLogger } from '../daemon/src/runtime/log';
import { SandboxStore } from '../daemon/src/sandbox/sandbox-store';
import { openStore } from '../daemon/src/state/store';
import { benchRun } from './lib/docker';
import { freePort } from './lib/net';
import { runBench } from './lib/report';
import { formatMs, formatSpread, medianRound } from './lib/stats';

const OPTIONS = {
  connections: { full: 2000, quick: 300, help: 'connections per round and path' },
  rounds: { full: 3, quick: 3, help: 'rounds, alternating the paths' },
};
const NODE_IMAGE = 'branchbox/node:20';
const ECHO_JS =
  "require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(Number(process.env.PORT || 7000), '0.0.0.0')";

const stops: (() => unknown)[] = [];
async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) {
    try {
      await stop();
    } catch (e) {
      console.error(`cleanup: ${(e as Error).message}`);
    }
  }
}
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

/** One connect + 1-byte round trip + close; answers its duration in ms. */
function roundTrip(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => socket.write('x'));
    socket.once('data', (data: Buffer) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      socket.destroy();
      if (data.toString() === 'x') resolve(ms);
      else reject(new Error(`127.0.0.1:${port} echoed ${JSON.stringify(data.toString())} for "x"`));
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`127.0.0.1:${port} closed before echoing`)));
  });
}

async function sample(port: number, n: number): Promise<{ median: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await roundTrip(port));
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(n / 2)]!, p95: times[Math.floor(n * 0.95)]! };
}

async function startUpstream(): Promise<{ port: number; kind: string }> {
  const port = await freePort();
  const dockerOk = spawnSync('docker', ['image', 'inspect', NODE_IMAGE], { stdio: 'ignore' }).status === 0;
  if (dockerOk) {
    const run = benchRun('forward');
    stops.push(() => run.cleanup());
    await run.createContainer({
      Image: NODE_IMAGE,
      Cmd: ['node', '-e', ECHO_JS],
      ExposedPorts: { '7000/tcp': {} },
      HostConfig: { PortBindings: { '7000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
    });
    await waitForEcho(port);
    return { port, kind: `container ${NODE_IMAGE} published on 127.0.0.1` };
  }
  const child = spawn(process.execPath, ['-e', ECHO_JS], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'ignore',
  });
  stops.push(() => child.kill());
  await waitForEcho(port);
  return { port, kind: 'a Node child process (no Docker)' };
}

async function waitForEcho(port: number): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await roundTrip(port);
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`the echo upstream did not answer: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

runBench('forward', { options: OPTIONS }, async ({ options }, report) => {
  const CONNECTIONS = options.connections;
  const ROUNDS = options.rounds;
  try {
    const upstream = await startUpstream();
    const dir = mkdtempSync(join(tmpdir(), 'bb-bench-forward-'));
    stops.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = openStore(join(dir, 'state.db'));
    stops.push(() => store.close());
    const sandboxes = new SandboxStore(store);
    sandboxes.insert({ name: 'bench', owner: 'bench', project: 'bench' });
    const serving = {
      id: 'bench',
      name: 'sandbox-bench_echo',
      state: 'running',
      ports: [{ container: 7000, host: upstream.port, hostIp: '127.0.0.1', protocol: 'tcp' }],
      sandbox: 'bench',
      labels: {},
    } as unknown as ContainerSummary;
    const forwards = new Forwards({
      store: new ForwardStore(store),
      sandboxes,
      resolve: servingTargets({ list: async () => [serving] }, 'bench'),
      loadProject: () => ({ services: {} }) as unknown as Project,
      log: nullLogger,
    });
    stops.push(() => forwards.stop());
    await forwards.start();
    const localPort = await freePort();
    await forwards.add({ project: 'bench', service: 'echo', containerPort: 7000, localPort });
    await forwards.use({ sandbox: 'bench' });

    console.log(`upstream: ${upstream.kind}; ${CONNECTIONS} connections per round, ${ROUNDS} rounds, one at a time`);
    await sample(localPort, 100); // warm both paths
    await sample(upstream.port, 100);
    const rounds = {
      direct: [] as { median: number; p95: number }[],
      forward: [] as { median: number; p95: number }[],
    };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which path goes first.
      const order = r % 2 === 0 ? (['direct', 'forward'] as const) : (['forward', 'direct'] as const);
      for (const path of order)
        rounds[path].push(await sample(path === 'direct' ? upstream.port : localPort, CONNECTIONS));
    }
    const direct = medianRound(rounds.direct, (x) => x.median);
    const forward = medianRound(rounds.forward, (x) => x.median);
    const fmt = (x: { median: number; p95: number }, all: { median: number }[]) =>
      `median ${x.median.toFixed(3)} ms, p95 ${x.p95.toFixed(3)} ms (medians over the rounds ${formatSpread(
        all.map((a) => a.median),
        formatMs,
      )})`;
    console.log(`direct  (127.0.0.1:${upstream.port}): ${fmt(direct, rounds.direct)}`);
    console.log(`forward (127.0.0.1:${localPort}): ${fmt(forward, rounds.forward)}`);
    const m = report.ratio(
      'forward / direct connection median',
      forward.median / direct.median,
      `${formatMs(forward.median)} vs ${formatMs(direct.median)}`,
    );
    const p = report.ratio(
      'forward / direct connection p95',
      forward.p95 / direct.p95,
      `${formatMs(forward.p95)} vs ${formatMs(direct.p95)}`,
    );
    console.log(`ratio forward / direct: median ${m}, p95 ${p}`);
    console.log(`added per connection: median ${(forward.median - direct.median).toFixed(3)} ms`);
  } finally {
    await stopAll();
  }
});
