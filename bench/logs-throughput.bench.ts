/**
 * Log throughput: a container prints LINES lines and exits; its whole log is then read,
 * side by side in the same run, by
 *   - `docker logs <id>` (the CLI, output counted and dropped)          — the reference,
 *   - the daemon's log stream (ContainerLogs, records into a counting sink),
 *   - the same through the protocol layer in-process (handler → subscription batches → JSON
 *     text → parsed by a client), without a socket,
 *   - a real branchboxd over WebSocket (test/helpers/daemon.ts), when it serves container/logs.
 * Prints lines/s (median of the rounds, with their spread) and each ratio to `docker logs`.
 * Fails when a reader does not read every line. Cleans up its container even on failure.
 *
 *   node --import tsx bench/logs-throughput.bench.ts [--quick] [--lines N] [--rounds N]
 */
import type Docker from 'dockerode';
import { ContainerLogs, type LogRecord } from '../daemon/src/docker/streams/logs';
import { StatsCollector } from '../daemon/src/docker/streams/stats';
import { dockerStreamHandlers } from '../daemon/src/methods/docker-streams';
import type { RequestContext } from '../daemon/src/rpc/handlers';
import { Session } from '../daemon/src/rpc/session';
import { nullLogger } from '../daemon/src/runtime/log';
import { ProtocolError } from '../schemas/src/client';
import { startTestDaemon, type TestDaemon } from '../test/helpers/daemon';
import { docker } from '../test/helpers/docker-fixtures';
import { benchRun, dockerLogsLineCount } from './lib/docker';
import { runBench } from './lib/report';
import { formatSpread, median } from './lib/stats';

const OPTIONS = {
  lines: { full: 200_000, quick: 50_000, help: 'lines the container prints' },
  rounds: { full: 3, quick: 2, help: 'rounds, the readers interleaved' },
};

type Reader = (id: string) => Promise<number>;

/** `docker logs`, its stdout and stderr counted line by line and dropped. */
const dockerCli: Reader = dockerLogsLineCount;

/** The daemon's log stream, records counted. */
const library: Reader = async (id) => {
  let lines = 0;
  const stream = await new ContainerLogs(() => docker).open(id);
  await stream.run(
    { push: (_r: LogRecord) => (lines++, true), waitForDrain: async () => undefined },
    new AbortController().signal,
  );
  return lines;
};

/** The handler and the core's subscriptions in-process, notifications serialized and parsed back. */
const inProcessProtocol: Reader = (id) =>
  new Promise((resolve, reject) => {
    let lines = 0;
    const session = new Session(
      {
        label: 'bench',
        send: (text: string) => {
          const message = JSON.parse(text) as { method: string; params: { items?: unknown[]; reason?: string } };
          if (message.method === 'container/logs/data') lines += message.params.items?.length ?? 0;
          else if (message.method === 'subscription/end') resolve(lines);
        },
        bufferedAmount: () => 0,
        whenDrained: async () => undefined,
        close: () => undefined,
      },
      nullLogger,
    );
    const handlers = dockerStreamHandlers({ docker: () => docker, stats: new StatsCollector(() => docker) });
    const ctx: RequestContext = { signal: new AbortController().signal, session, log: nullLogger };
    Promise.resolve(handlers['container/logs']({ id }, ctx)).catch(reject);
  });

/** A real daemon over WebSocket, if it serves container/logs. */
async function realProtocol(): Promise<{ reader: Reader; daemon: TestDaemon } | string> {
  let daemon: TestDaemon;
  try {
    daemon = await startTestDaemon();
  } catch (e) {
    return `no daemon (${(e as Error).message.split('\n')[0]})`;
  }
  const client = await daemon.connect('logs-bench');
  const served = await client.request('stats/history', { id: 'bench-probe-none' }).then(
    () => false,
    (e: unknown) => e instanceof ProtocolError && e.errorName === 'ContainerNotFound',
  );
  if (!served) {
    await client.closeSocket();
    await daemon.dispose();
    return 'the daemon in dist/ does not serve container/logs (dockerStreamHandlers not wired into daemon.ts)';
  }
  const reader: Reader = (id) =>
    new Promise((resolve, reject) => {
      let lines = 0;
      client
        .subscribe('container/logs', { id }, 'container/logs/data', {
          onItems: (items) => (lines += items.length),
          onEnd: (end) =>
            end.reason === 'completed' ? resolve(lines) : reject(new Error(`stream ended: ${end.reason}`)),
        })
        .catch(reject);
    });
  return { reader, daemon };
}

runBench('logs-throughput', { options: OPTIONS }, async ({ options }, report) => {
  const LINES = options.lines;
  const ROUNDS = options.rounds;
  const run = benchRun('bblogbench');
  let daemon: TestDaemon | undefined;
  try {
    const script = `seq 1 ${LINES} | sed 's/.*/log line & with a payload of text to make it look like a real log line/'`;
    const container: Docker.Container = await run.createContainer({ Cmd: ['sh', '-c', script] });
    await container.wait();
    console.log(`container ${container.id.slice(0, 12)} printed ${LINES} lines; ${ROUNDS} rounds each, interleaved`);

    const readers: [string, Reader][] = [
      ['docker logs (CLI)', dockerCli],
      ['ContainerLogs (library)', library],
      ['protocol in-process (JSON)', inProcessProtocol],
    ];
    const real = await realProtocol();
    if (typeof real === 'string') console.log(`real protocol over WebSocket: skipped — ${real}`);
    else {
      daemon = real.daemon;
      readers.push(['branchboxd over WebSocket', real.reader]);
    }

    const times = new Map<string, number[]>(readers.map(([name]) => [name, []]));
    const cpu = new Map<string, number[]>(readers.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, read] of readers) {
        const start = process.hrtime.bigint();
        const cpuStart = process.cpuUsage();
        const lines = await read(container.id);
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const used = process.cpuUsage(cpuStart);
        report.check(lines === LINES, `${name} read ${lines} lines, expected ${LINES}`);
        times.get(name)!.push(seconds);
        cpu.get(name)!.push((used.user + used.system) / 1e6);
      }
    }
    const reference = median(times.get('docker logs (CLI)')!);
    console.log('');
    console.log(
      `${'reader'.padEnd(30)} ${'median s'.padStart(9)} ${'lines/s'.padStart(12)} ${'vs docker logs'.padStart(15)} ${'this process CPU s'.padStart(19)}   s over the rounds`,
    );
    for (const [name] of readers) {
      const s = median(times.get(name)!);
      const rate = LINES / s;
      console.log(
        `${name.padEnd(30)} ${s.toFixed(3).padStart(9)} ${Math.round(rate).toLocaleString('en').padStart(12)} ` +
          `${(reference / s).toFixed(2).padStart(14)}× ${median(cpu.get(name)!).toFixed(3).padStart(19)}   ` +
          formatSpread(times.get(name)!, (x) => x.toFixed(3)),
      );
      if (name !== 'docker logs (CLI)')
        report.ratio(
          `${name} / docker logs lines/s`,
          reference / s,
          `${Math.round(rate)}/s vs ${Math.round(LINES / reference)}/s`,
        );
    }
    console.log(
      '\n(ratio > 1: faster than `docker logs`; CPU is this process only — the CLI and a real daemon run in their own)',
    );
  } finally {
    await daemon?.stop();
    await daemon?.dispose();
    await run.cleanup();
  }
});
