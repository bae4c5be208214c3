/**
 * Requests through a sandbox gateway vs straight to the service's port, and vs nginx as a
 * reverse proxy on the same route, in the same run: 3-byte and 64 KiB answers with `wrk` as
 * the load generator, and WebSocket echo with bench/lib/ws-echo-load.ts (its own process).
 *
 *   node --import tsx bench/gateway.bench.ts [--quick] [--seconds N] [--connections N] [--rounds N]
 *
 * The upstream is a small Node HTTP server in a container (image branchbox/node:20 from
 * scripts/setup.sh) published on 127.0.0.1 — or a local Node process when Docker is not
 * available —, which also echoes WebSocket messages. The gateway is the daemon's real stack
 * in this process: a SQLite state store, the SandboxStore with a sandbox whose `account`
 * service is served by that port, a branchbox.yaml routing `/account` to it, read by
 * loadProject. nginx (Debian's, installed here when missing) runs in the foreground from a
 * config in a temporary folder, with one worker and kept-alive upstream connections, like the
 * gateway's single event loop. A fourth target, "node:http bare", is a proxy on node:http
 * with no logic at all, in its own process: what the gateway's core itself costs, so
 * `gateway / node:http bare` is the price of the gateway's own work and `node:http bare /
 * nginx` the most any gateway on node:http could reach.
 * Rounds alternate the targets; each target's figures are those of its median round (by
 * req/s or msg/s). Prints ratios. Fails on any error: a non-2xx answer or a socket error
 * counted by wrk, an answer of the wrong status or body (each target is asked once before and
 * after its rounds and the body compared byte for byte), a WebSocket echo that differs from
 * its message or a connection lost — a gateway answering fast 502s must not look fast.
 * Everything started is stopped at the end, also on failure or Ctrl-C.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateways, type RunningGateways } from '../daemon/src/gateway/setup';
import { loadProject } from '../daemon/src/project/load';
import { nullLogger } from '../daemon/src/runtime/log';
import { PortAllocator } from '../daemon/src/sandbox/ports';
import { SandboxStore } from '../daemon/src/sandbox/sandbox-store';
import { openStore } from '../daemon/src/state/store';
import { freePort } from './lib/net';
import { readWrk, type WrkFigures as Figures } from './lib/wrk';
import type { WsEchoFigures } from './lib/ws-echo-load';
import { runBench, type Report } from './lib/report';
import { formatMs, formatRate, formatSpread, medianRound, printTable } from './lib/stats';

const OPTIONS = {
  seconds: { full: 6, quick: 2, help: 'seconds of each wrk run' },
  connections: { full: 32, quick: 32, help: 'wrk connections' },
  rounds: { full: 2, quick: 1, help: 'rounds, alternating the targets' },
};
const NODE_IMAGE = 'branchbox/node:20';
const LABEL = 'branchbox.bench=gateway';
/** The reference proxy's name in tables and ratios. */
const BARE = 'node:http bare';

/**
 * The upstream: "ok" for /account..., 64 KiB for /account/64k, and a WebSocket echo on any
 * upgrade (written here on node:http alone: the container has no npm packages).
 */
const UPSTREAM_JS = `
const http = require('http');
const crypto = require('crypto');
const big = Buffer.alloc(65536, 120);
const server = http.createServer((req, res) => {
  if (req.url.endsWith('/64k')) { res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': big.length}); res.end(big); }
  else { res.writeHead(200, {'content-type': 'text/plain', 'content-length': 3}); res.end('ok\\n'); }
});
server.on('upgrade', (req, socket, head) => {
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 15;
      let len = buf[1] & 127, off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) return void socket.destroy();
      const masked = (buf[1] & 128) !== 0;
      if (buf.length < off + (masked ? 4 : 0) + len) return;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      if (masked) off += 4;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + len);
      const frame = len < 126 ? Buffer.from([0x80 | op, len]) : Buffer.from([0x80 | op, 126, len >> 8, len & 255]);
      socket.write(Buffer.concat([frame, payload]));
      if (op === 8) return void socket.end();
    }
  };
  socket.on('data', onData);
  if (head.length) onData(head);
});
server.listen(Number(process.env.PORT || 8080), '0.0.0.0');
`;

/**
 * The reference a different proxy core is measured against: a reverse proxy on node:http with
 * no logic at all (no routing, no header rules, no timeouts), kept-alive upstream connections
 * like the gateway's, upgrades piped through a plain TCP connection.
 */
const BARE_PROXY_JS = `
const http = require('http');
const net = require('net');
const up = Number(process.env.UPSTREAM_PORT);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' });
const server = http.createServer((req, res) => {
  const r = http.request({ host: '127.0.0.1', port: up, method: req.method, path: req.url, headers: req.headers, agent }, (u) => {
    res.writeHead(u.statusCode, u.headers);
    u.pipe(res);
  });
  r.on('error', () => res.destroy());
  req.pipe(r);
});
server.on('upgrade', (req, socket, head) => {
  const u = net.connect(up, '127.0.0.1');
  const close = () => { u.destroy(); socket.destroy(); };
  u.on('error', close); socket.on('error', close); u.on('close', close); socket.on('close', close);
  let h = req.method + ' ' + req.url + ' HTTP/1.1\\r\\n';
  for (let i = 0; i < req.rawHeaders.length; i += 2) h += req.rawHeaders[i] + ': ' + req.rawHeaders[i + 1] + '\\r\\n';
  u.write(h + '\\r\\n');
  if (head.length) u.write(head);
  u.pipe(socket);
  socket.pipe(u);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
`;

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

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Installs Debian packages when missing (root only); answers whether `cmd` is then available. */
function ensureTool(cmd: string, packages: string[]): boolean {
  if (has(cmd)) return true;
  if (process.getuid?.() !== 0) return false;
  for (const pkg of packages) {
    console.log(`installing ${pkg} (apt-get)…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    if (
      spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'ignore', env })
        .status === 0 &&
      has(cmd)
    )
      return true;
  }
  return false;
}

/** Resolves once `url` answers 200 (polling: the process behind it is starting). */
async function waitFor(url: string, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get(url, { agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs} ms`);
}

async function startUpstream(): Promise<{ port: number; kind: string }> {
  const port = await freePort();
  const dockerOk =
    has('docker') && spawnSync('docker', ['image', 'inspect', NODE_IMAGE], { stdio: 'ignore' }).status === 0;
  if (dockerOk) {
    const id = execFileSync(
      'docker',
      ['run', '-d', '--rm', '--label', LABEL, '-p', `127.0.0.1:${port}:8080`, NODE_IMAGE, 'node', '-e', UPSTREAM_JS],
      { encoding: 'utf8' },
    ).trim();
    stops.push(() => spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore' }));
    await waitFor(`http://127.0.0.1:${port}/account`, 'the upstream container');
    return { port, kind: `container ${NODE_IMAGE} published on 127.0.0.1` };
  }
  const child = spawn(process.execPath, ['-e', UPSTREAM_JS], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'inherit',
  });
  stops.push(() => stopChild(child));
  await waitFor(`http://127.0.0.1:${port}/account`, 'the upstream process');
  return { port, kind: 'local Node process (Docker not available)' };
}

/** The bare node:http proxy in its own process, in front of the upstream. */
async function startBareProxy(upstreamPort: number): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', BARE_PROXY_JS], {
    env: { ...process.env, PORT: String(port), UPSTREAM_PORT: String(upstreamPort) },
    stdio: 'inherit',
  });
  stops.push(() => stopChild(child));
  await waitFor(`http://127.0.0.1:${port}/account`, 'the bare node:http proxy');
  return `http://127.0.0.1:${port}`;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The daemon's gateway stack for one sandbox whose `account` is served at `upstreamPort`. */
async function startGateway(dir: string, upstreamPort: number): Promise<string> {
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  writeFileSync(
    join(repo, 'branchbox.yaml'),
    'version: 1\nproject: bench\nservices:\n  account: { port: 8080 }\n  payment: { port: 8080 }\nroutes:\n  /account: account\n  /payment: payment\n',
  );
  const store = openStore(join(dir, 'state.db'));
  stops.push(() => store.close());
  const sandboxes = new SandboxStore(store);
  const ports = new PortAllocator(store, { onChange: (s) => sandboxes.changed(s) });
  const running: RunningGateways = await startGateways({
    sandboxes,
    ports,
    loadProject,
    log: nullLogger,
    sharedPort: null,
  });
  stops.push(() => running.stop());
  sandboxes.insert({ name: 'bench', owner: 'bench', repoPath: repo, project: 'bench' });
  sandboxes.recordServing('bench', 'account', {
    deploymentId: 'bench',
    commit: 'b'.repeat(40),
    hostPort: upstreamPort,
    containerId: 'bench',
  });
  const { url } = await running.gateways.open('bench');
  await waitFor(`${url}/account`, 'the gateway');
  return url;
}

async function startNginx(dir: string, upstreamPort: number): Promise<string | undefined> {
  if (!ensureTool('nginx', ['nginx-light', 'nginx'])) return undefined;
  const port = await freePort();
  const root = join(dir, 'nginx');
  mkdirSync(join(root, 'logs'), { recursive: true });
  const conf = join(root, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${root}/nginx.pid;
error_log stderr warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${root}/body;
  proxy_temp_path ${root}/proxy;
  fastcgi_temp_path ${root}/fastcgi;
  uwsgi_temp_path ${root}/uwsgi;
  scgi_temp_path ${root}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $proxy_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      add_header X-Proxied-By nginx;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', root, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  stops.push(() => stopChild(child));
  await waitFor(`http://127.0.0.1:${port}/account`, 'nginx');
  return `http://127.0.0.1:${port}`;
}

/** The upstream's answers, byte for byte: what every target must pass through. */
const EXPECTED: Record<string, Buffer> = {
  '/account/hello': Buffer.from('ok\n'),
  '/account/64k': Buffer.alloc(65536, 120),
};

/** One GET of `url`, checked: status 200 and exactly the upstream's body. */
async function checkAnswer(report: Report, name: string, url: string, expected: Buffer): Promise<void> {
  const answer = await new Promise<{ status: number; body: Buffer } | string>((resolve) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (e) => resolve(e.message));
      })
      .on('error', (e) => resolve(e.message));
  });
  if (typeof answer === 'string') report.check(false, `${name}: GET ${url} failed: ${answer}`);
  else
    report.check(
      answer.status === 200 && answer.body.equals(expected),
      `${name}: GET ${url} answered ${answer.status} with ${answer.body.length} bytes (${JSON.stringify(answer.body.subarray(0, 40).toString())}), expected 200 with the upstream's ${expected.length} bytes`,
    );
}

/** Runs wrk without blocking this process's event loop (the gateway runs in it). */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    stops.push(() => stopChild(child));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}:\n${out}`)),
    );
  });
}

/** One round of one target: its throughput (requests or echoed messages per second) and latency. */
interface Round {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly count: number;
  readonly errors: number;
}

/** What is measured: an HTTP GET under wrk, or WebSocket echo under ws-echo-load. */
interface Scenario {
  readonly title: string;
  /** `3 B`: in ratio labels. */
  readonly short: string;
  /** `req/s`, `msg/s`. */
  readonly unit: string;
  /** Checks one target's answer before and after its rounds. */
  check(name: string, base: string): Promise<void>;
  round(name: string, base: string, seconds: number): Promise<Round>;
}

const ECHO_LOAD = join(__dirname, 'lib', 'ws-echo-load.ts');
/** Bytes of each WebSocket message. */
const WS_MESSAGE_BYTES = 32;

runBench('gateway', { options: OPTIONS }, async ({ options }, report) => {
  const SECONDS = options.seconds;
  const CONNECTIONS = options.connections;
  const ROUNDS = options.rounds;
  /** A wrk run, its errors checked. */
  const wrk = async (name: string, url: string, seconds: number): Promise<Figures> => {
    const f = readWrk(await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]));
    report.check(
      f.non2xx === 0 && f.socketErrors === 0,
      `${name}: ${f.non2xx} non-2xx answers and ${f.socketErrors} socket errors${f.socketErrorKinds ? ` (${f.socketErrorKinds})` : ''} of ${f.requests} requests (GET ${url})`,
    );
    return f;
  };
  /** A WebSocket echo run in its own process, every echo checked. */
  const echo = async (name: string, url: string, seconds: number, connections: number): Promise<Round> => {
    const out = await run(process.execPath, [
      '--import',
      'tsx',
      ECHO_LOAD,
      url,
      String(seconds),
      String(connections),
      String(WS_MESSAGE_BYTES),
    ]);
    const f = JSON.parse(out) as WsEchoFigures;
    report.check(
      f.messages > 0 && f.wrong === 0 && f.errors === 0,
      `${name}: ${f.wrong} wrong echoes and ${f.errors} errors of ${f.messages} messages (${url})${f.firstError ? `: ${f.firstError}` : ''}`,
    );
    return { rate: f.mps, p50: f.p50, p99: f.p99, count: f.messages, errors: f.wrong + f.errors };
  };
  const httpScenario = (title: string, path: string, short: string): Scenario => ({
    title: `${title} (GET ${path})`,
    short,
    unit: 'req/s',
    check: (name, base) => checkAnswer(report, name, `${base}${path}`, EXPECTED[path]!),
    round: async (name, base, seconds) => {
      const f = await wrk(name, `${base}${path}`, seconds);
      return { rate: f.rps, p50: f.p50, p99: f.p99, count: f.requests, errors: f.non2xx + f.socketErrors };
    },
  });
  const wsUrl = (base: string) => `${base.replace(/^http/, 'ws')}/account/ws`;
  const wsScenario: Scenario = {
    title: `WebSocket echo (${WS_MESSAGE_BYTES}-byte messages, one in flight per connection)`,
    short: 'WS echo',
    unit: 'msg/s',
    check: async (name, base) => void (await echo(name, wsUrl(base), 0.2, 1)),
    round: (name, base, seconds) => echo(name, wsUrl(base), seconds, CONNECTIONS),
  };
  try {
    if (!ensureTool('wrk', ['wrk']))
      throw new Error('wrk is not installed and cannot be installed here (apt-get install wrk)');
    const dir = mkdtempSync(join(tmpdir(), 'bb-gw-bench-'));
    stops.push(() => rmSync(dir, { recursive: true, force: true }));
    const upstream = await startUpstream();
    const gateway = await startGateway(dir, upstream.port);
    const bare = await startBareProxy(upstream.port);
    const nginx = await startNginx(dir, upstream.port);
    const targets: [string, string][] = [
      ['direct', `http://127.0.0.1:${upstream.port}`],
      ['gateway', gateway],
      [BARE, bare],
      ...(nginx ? ([['nginx', nginx]] as [string, string][]) : []),
    ];
    console.log(
      `upstream: ${upstream.kind}; wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, median of ${ROUNDS} rounds; ${nginx ? 'nginx 1 worker' : 'nginx not available'}; ${BARE}: a proxy on node:http with no logic, the ceiling of the gateway's core`,
    );

    const scenarios = [
      httpScenario('3-byte response', '/account/hello', '3 B'),
      httpScenario('64 KiB response', '/account/64k', '64 KiB'),
      wsScenario,
    ];
    for (const scenario of scenarios) {
      const rounds = new Map<string, Round[]>(targets.map(([name]) => [name, []]));
      for (const [name, base] of targets) {
        await scenario.check(name, base);
        await scenario.round(name, base, 1); // warm up
      }
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, base] of targets) rounds.get(name)!.push(await scenario.round(name, base, SECONDS));
      }
      for (const [name, base] of targets) await scenario.check(name, base);
      const med = new Map([...rounds].map(([name, all]) => [name, medianRound(all, (r) => r.rate)]));
      console.log(`\n${scenario.title}, each target's median round`);
      printTable(
        [
          'target',
          scenario.unit,
          'p50',
          'p99',
          scenario.unit === 'req/s' ? 'requests' : 'messages',
          'errors',
          `${scenario.unit} over the rounds`,
        ],
        targets.map(([name]) => {
          const f = med.get(name)!;
          const all = rounds.get(name)!;
          return [
            name,
            formatRate(f.rate),
            formatMs(f.p50),
            formatMs(f.p99),
            String(f.count),
            String(all.reduce((n, r) => n + r.errors, 0)),
            formatSpread(
              all.map((r) => r.rate),
              formatRate,
            ),
          ];
        }),
      );
      const d = med.get('direct')!;
      const g = med.get('gateway')!;
      const b = med.get(BARE)!;
      const n = med.get('nginx');
      const pairs: [string, Round, Round][] = [['gateway / direct', g, d]];
      if (n) pairs.push(['nginx / direct', n, d], ['gateway / nginx', g, n], [`${BARE} / nginx`, b, n]);
      pairs.push([`gateway / ${BARE}`, g, b]);
      for (const [label, x, y] of pairs) {
        const rate = report.ratio(
          `${label} ${scenario.unit} (${scenario.short})`,
          x.rate / y.rate,
          `${formatRate(x.rate)} vs ${formatRate(y.rate)}`,
        );
        console.log(
          `${label.padEnd(24)}: ${scenario.unit} ${rate}, p50 ${(x.p50 / y.p50).toFixed(2)}×, p99 ${(x.p99 / y.p99).toFixed(2)}×`,
        );
      }
    }
  } finally {
    await stopAll();
  }
});
