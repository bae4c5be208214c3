/**
 * Real sockets for gateway tests: upstream HTTP servers on 127.0.0.1 that say who they are,
 * a route source held in memory, and a small HTTP client. Everything started here is
 * registered with `cleanup` so `afterEach(cleanup.run)` stops it even when a test fails.
 */
import * as http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { BaselineRoutes, RouteSource, SandboxRoutes } from '../../../daemon/src/gateway/route-table';

/** Stop functions run in reverse order by `run()`. */
export class Cleanup {
  private steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.steps.push(step);
  }
  run = async (): Promise<void> => {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) await step();
  };
}

export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly server: http.Server;
  /** Requests and connections this upstream has seen. */
  readonly seen: { requests: number; connections: number };
  close(): Promise<void>;
}

export interface EchoBody {
  upstream: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

/** Answers every request with JSON describing it (after reading its body), tagged `x-upstream: <name>`. */
export const echo =
  (name: string) =>
  (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const body: EchoBody = { upstream: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes };
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(JSON.stringify(body));
    });
  };

export async function startUpstream(
  cleanup: Cleanup,
  name: string,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = echo(name),
): Promise<Upstream> {
  const server = http.createServer({ requestTimeout: 0 }, handler);
  const seen = { requests: 0, connections: 0 };
  server.on('request', () => seen.requests++);
  server.on('connection', () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  cleanup.add(close);
  return { name, port, url: `http://127.0.0.1:${port}`, server, seen, close };
}

/** A port nothing listens on (it was bound and released). */
export async function deadPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A port whose listener never accepts: a worker thread listens with a backlog of 1 and then
 * blocks its event loop, and the accept queue is filled, so the kernel leaves any further
 * connection attempt unanswered (its SYN dropped) — a connect that hangs, on 127.0.0.1.
 */
export async function stalledListener(cleanup: Cleanup): Promise<number> {
  const worker = new Worker(
    `const net = require('node:net');
     const { parentPort } = require('node:worker_threads');
     const server = net.createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       const lock = new Int32Array(new SharedArrayBuffer(4));
       parentPort.once('message', () => undefined);
       Atomics.wait(lock, 0, 0);
     });`,
    { eval: true },
  );
  cleanup.add(() => worker.terminate());
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Fill the accept queue: these complete their handshake; the ones after them do not.
  const fillers: Socket[] = [];
  cleanup.add(() => fillers.forEach((s) => s.destroy()));
  for (let i = 0; i < 4; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    fillers.push(socket);
  }
  await Promise.all(fillers.slice(0, 2).map((s) => new Promise((resolve) => s.once('connect', resolve))));
  return port;
}

/** Routes held in memory; tests change them between (or during) requests. */
export class MemoryRoutes implements RouteSource {
  readonly sandboxes = new Map<string, SandboxRoutes>();
  base: BaselineRoutes | { unavailable: string } = { unavailable: 'no project in this test' };

  sandbox(name: string): SandboxRoutes | undefined {
    return this.sandboxes.get(name);
  }
  baseline(): BaselineRoutes | { unavailable: string } {
    return this.base;
  }
  set(table: SandboxRoutes): void {
    this.sandboxes.set(table.sandbox, table);
  }
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection; resolves with the whole answer. */
export function fetchText(
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent | false } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * `total` GETs of `<url>/account/<n>` by `concurrency` workers over one keep-alive agent,
 * calling `flip(n)` (n = 1, 2, …) after every `flipEvery` answers. Counts the answers by the
 * upstream that gave them (`x-upstream`; `status <code>: <body>` when not 200) and collects
 * the errors.
 */
export async function loadWhileFlipping(
  cleanup: Cleanup,
  url: string,
  opts: { total: number; concurrency: number; flipEvery: number; flip: (n: number) => Promise<unknown> },
): Promise<{ counts: Record<string, number>; failures: string[]; flips: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  cleanup.add(() => agent.destroy());
  const counts: Record<string, number> = {};
  const failures: string[] = [];
  let started = 0;
  let finished = 0;
  let flips = 0;
  const worker = async () => {
    while (started < opts.total) {
      started++;
      try {
        const answer = await fetchText(`${url}/account/${started}`, { agent });
        const from = answer.status === 200 ? String(answer.headers['x-upstream']) : `status ${answer.status}: ${answer.body}`;
        counts[from] = (counts[from] ?? 0) + 1;
      } catch (e) {
        failures.push((e as Error).message);
      }
      if (++finished % opts.flipEvery === 0) await opts.flip(++flips);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { counts, failures, flips };
}
