/**
 * The cost of the protocol: JSON-RPC round trips through a real branchboxd vs through a bare
 * `ws` echo server, in the same run, from the same client code.
 *
 *   node --import tsx bench/rpc.bench.ts [--quick] [--sequential N] [--pipelined N] [--in-flight N] [--rounds N]
 *
 * Both servers are separate Node processes on 127.0.0.1 (so neither shares the client's event
 * loop). The daemon answers `system/info` — initialized connection, params validated, handler,
 * response — with its default log level (info: no line per request) and without result
 * validation. The echo server sends back what it gets; its message is a JSON-RPC request
 * padded to the size of the daemon's answer, so it carries at least as many bytes.
 * The client is a raw `ws` socket for both: it writes the text and matches answers by id.
 *
 * Measured per target: sequential round trips (one in flight) → p50/p99 latency; pipelined
 * (`inFlight` requests outstanding) → requests/s. Rounds alternate the targets after a
 * warm-up. Reported: the median round (by the ratio of the daemon's requests/s to the echo's),
 * all its figures together, and the spread (min–max) of requests/s over the rounds.
 * Fails when an answer is an error, is not the one asked for, or carries no result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import { startTestDaemon, type TestDaemon } from '../test/helpers/daemon';
import { runBench } from './lib/report';
import { formatMs, formatRate, formatSpread, medianRound, printTable, ratio, summarize } from './lib/stats';

const OPTIONS = {
  sequential: { full: 5000, quick: 1000, help: 'sequential round trips per round' },
  pipelined: { full: 20_000, quick: 4000, help: 'pipelined requests per round' },
  'in-flight': { full: 64, quick: 64, help: 'requests outstanding when pipelined' },
  rounds: { full: 5, quick: 3, help: 'rounds, alternating the targets' },
  warmup: { full: 2000, quick: 500, help: 'warm-up round trips, not counted' },
};

/** A JSON-RPC peer over one WebSocket: sends a request text, resolves when its id comes back. */
class Peer {
  private readonly pending = new Map<number, () => void>();
  private nextId = 1;
  /** Answers that were errors, unknown ids, or carried no result (the echo's carry its params back). */
  wrong = 0;
  firstWrong: string | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** The text of request `id`. */
    private readonly requestText: (id: number) => string,
  ) {
    ws.on('message', (data) => {
      const text = data.toString();
      const answer = JSON.parse(text) as { id: number; result?: unknown; params?: unknown; error?: unknown };
      const done = this.pending.get(answer.id);
      if (!done || answer.error !== undefined || (answer.result ?? answer.params) === undefined) {
        this.wrong++;
        this.firstWrong ??= text.slice(0, 200);
      }
      this.pending.delete(answer.id);
      done?.();
    });
  }

  static async open(url: string, headers: Record<string, string>, requestText: (id: number) => string): Promise<Peer> {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    return new Peer(ws, requestText);
  }

  call(): Promise<void> {
    const id = this.nextId++;
    return new Promise((res) => {
      this.pending.set(id, res);
      this.ws.send(this.requestText(id));
    });
  }

  /** Latencies (ms) of `n` round trips, one at a time. */
  async sequential(n: number): Promise<number[]> {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await this.call();
      samples.push(performance.now() - t0);
    }
    return samples;
  }

  /** Requests per second for `n` round trips with `inFlight` outstanding. */
  async pipelined(n: number, inFlight: number): Promise<number> {
    let started = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (started < n) {
        started++;
        await this.call();
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return n / ((performance.now() - t0) / 1000);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** A bare ws echo server in its own process; resolves with its port once it listens. */
async function startEchoServer(): Promise<{ port: number; process: ChildProcess }> {
  const script = `
    const { WebSocketServer } = require('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    wss.on('listening', () => process.stdout.write(String(wss.address().port) + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: resolve(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((res, rej) => {
    child.stdout!.once('data', (chunk: Buffer) => res(Number(String(chunk).trim())));
    child.once('exit', (code) => rej(new Error(`echo server exited with ${code}`)));
  });
  return { port, process: child };
}

interface Figures {
  p50: number;
  p99: number;
  rps: number;
}

runBench('rpc', { options: OPTIONS }, async ({ options }, report) => {
  const SEQUENTIAL = options.sequential;
  const PIPELINED = options.pipelined;
  const IN_FLIGHT = options['in-flight'];
  const ROUNDS = options.rounds;
  const WARMUP = options.warmup;
  const measure = async (peer: Peer): Promise<Figures> => {
    const latency = summarize(await peer.sequential(SEQUENTIAL));
    const rps = await peer.pipelined(PIPELINED, IN_FLIGHT);
    return { p50: latency.p50, p99: latency.p99, rps };
  };

  let daemon: TestDaemon | undefined;
  let echo: { port: number; process: ChildProcess } | undefined;
  const peers: Peer[] = [];
  try {
    daemon = await startTestDaemon({ args: ['--log-level', 'info'], env: { BRANCHBOX_VALIDATE_RESULTS: '0' } });
    echo = await startEchoServer();

    const daemonPeer = await Peer.open(daemon.url, { Authorization: `Bearer ${daemon.runtime.token}` }, (id) =>
      id === 1
        ? JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { clientInfo: { name: 'rpc.bench' } } })
        : `{"jsonrpc":"2.0","id":${id},"method":"system/info","params":{}}`,
    );
    peers.push(daemonPeer);
    await daemonPeer.call(); // initialize

    // The size of the daemon's answer, to pad the echo message to.
    const probe = new WebSocket(daemon.url, { headers: { Authorization: `Bearer ${daemon.runtime.token}` } });
    const answerSize = await new Promise<number>((res, rej) => {
      probe.once('open', () => {
        probe.send(
          JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { clientInfo: { name: 'probe' } } }),
        );
        probe.send('{"jsonrpc":"2.0","id":2,"method":"system/info","params":{}}');
      });
      probe.on('message', (data) => {
        if ((JSON.parse(data.toString()) as { id: number }).id === 2) res(Buffer.byteLength(data.toString()));
      });
      probe.once('error', rej);
    });
    probe.terminate();

    const echoPeer = await Peer.open(`ws://127.0.0.1:${echo.port}`, {}, (id) => {
      const head = `{"jsonrpc":"2.0","id":${id},"method":"system/info","params":{"pad":"`;
      return head + 'x'.repeat(Math.max(0, answerSize - head.length - 3)) + '"}}';
    });
    peers.push(echoPeer);

    console.log(
      `rpc.bench: ${SEQUENTIAL} sequential round trips, ${PIPELINED} pipelined with ${IN_FLIGHT} in flight, ` +
        `median of ${ROUNDS} rounds; daemon answer ${answerSize} B, echo message ${answerSize} B`,
    );
    await daemonPeer.sequential(WARMUP);
    await echoPeer.sequential(WARMUP);
    await daemonPeer.pipelined(WARMUP * 2, IN_FLIGHT);
    await echoPeer.pipelined(WARMUP * 2, IN_FLIGHT);

    const rounds: { echo: Figures; daemon: Figures }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const first = r % 2 === 0;
      const a = await measure(first ? echoPeer : daemonPeer);
      const b = await measure(first ? daemonPeer : echoPeer);
      rounds.push(first ? { echo: a, daemon: b } : { echo: b, daemon: a });
    }
    for (const [name, peer] of [
      ['daemon', daemonPeer],
      ['echo server', echoPeer],
    ] as const)
      report.check(peer.wrong === 0, `${peer.wrong} answers of the ${name} were wrong, e.g. ${peer.firstWrong ?? ''}`);
    const median = medianRound(rounds, (r) => r.daemon.rps / r.echo.rps);
    const e = median.echo;
    const d = median.daemon;
    console.log(`\nthe median round (${rounds.indexOf(median) + 1} of ${ROUNDS}):`);
    printTable(
      ['', 'round trip p50', 'round trip p99', `requests/s (${IN_FLIGHT} in flight)`, 'req/s over the rounds'],
      [
        [
          'ws echo server',
          formatMs(e.p50),
          formatMs(e.p99),
          formatRate(e.rps),
          formatSpread(
            rounds.map((r) => r.echo.rps),
            formatRate,
          ),
        ],
        [
          'branchboxd system/info',
          formatMs(d.p50),
          formatMs(d.p99),
          formatRate(d.rps),
          formatSpread(
            rounds.map((r) => r.daemon.rps),
            formatRate,
          ),
        ],
        ['daemon / echo', ratio(d.p50, e.p50), ratio(d.p99, e.p99), ratio(d.rps, e.rps), ''],
      ],
    );
    report.ratio('daemon / echo round trip p50', d.p50 / e.p50, `${formatMs(d.p50)} vs ${formatMs(e.p50)}`);
    report.ratio('daemon / echo req/s', d.rps / e.rps, `${formatRate(d.rps)} vs ${formatRate(e.rps)}`);
  } finally {
    for (const p of peers) p.close();
    echo?.process.kill();
    await daemon?.dispose();
  }
});
