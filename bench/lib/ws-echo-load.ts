/**
 * WebSocket echo load, run as its own process so it never shares an event loop with what it
 * measures (the gateway runs in the bench's process):
 *
 *   node --import tsx bench/lib/ws-echo-load.ts <ws-url> <seconds> <connections> <bytes>
 *
 * Opens `connections` WebSockets, each sending a message of `bytes` bytes and waiting for its
 * echo before sending the next, for `seconds`. Every echo is compared with what was sent (each
 * message carries its connection and sequence number). Prints one JSON line: {@link WsEchoFigures}.
 */
import WebSocket from 'ws';
import { percentile } from './stats';

export interface WsEchoFigures {
  /** Echoed messages per second over all connections. */
  readonly mps: number;
  /** Round trip of one message, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly messages: number;
  /** Echoes that differed from what was sent. */
  readonly wrong: number;
  /** Connection errors and unexpected closes, with the first message. */
  readonly errors: number;
  readonly firstError?: string;
}

/** One round of echo load; resolves with its figures. */
export async function echoLoad(url: string, seconds: number, connections: number, bytes: number): Promise<WsEchoFigures> {
  const latencies: number[] = [];
  let wrong = 0;
  let errors = 0;
  let firstError: string | undefined;
  const fail = (text: string) => {
    errors++;
    firstError ??= text;
  };
  const pad = 'x'.repeat(Math.max(0, bytes));
  const message = (conn: number, seq: number) => {
    const id = `${conn}:${seq}:`;
    return id + pad.slice(id.length);
  };
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      (_, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
          ws.once('error', (e) => reject(new Error(`connection ${i} to ${url}: ${e.message}`)));
        }),
    ),
  );
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    sockets.map(
      (ws, conn) =>
        new Promise<void>((resolve) => {
          let seq = 0;
          let sent = '';
          let sentAt = 0;
          const next = () => {
            if (performance.now() >= deadline) return resolve();
            sent = message(conn, ++seq);
            sentAt = performance.now();
            ws.send(sent);
          };
          ws.on('message', (data: Buffer) => {
            latencies.push(performance.now() - sentAt);
            if (data.toString() !== sent) wrong++;
            next();
          });
          ws.on('error', (e) => fail(e.message));
          ws.on('close', (code) => {
            if (performance.now() < deadline) fail(`connection ${conn} closed with ${code} before the end`);
            resolve();
          });
          next();
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close();
        }),
    ),
  );
  latencies.sort((a, b) => a - b);
  return {
    mps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    messages: latencies.length,
    wrong,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

const [url, seconds, connections, bytes] = process.argv.slice(2);
if (url !== undefined) {
  echoLoad(url, Number(seconds), Number(connections), Number(bytes)).then(
    (figures) => console.log(JSON.stringify(figures)),
    (e: unknown) => {
      console.log(JSON.stringify({ mps: 0, p50: NaN, p99: NaN, messages: 0, wrong: 0, errors: 1, firstError: (e as Error).message }));
    },
  );
}
