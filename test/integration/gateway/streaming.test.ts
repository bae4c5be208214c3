/**
 * Large bodies stream through the gateway: 200 MiB up and 200 MiB down, generated and
 * consumed as streams, with the gateway in this process and its resident memory sampled
 * throughout: growth stays far below the body size (no buffering of whole bodies).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Gateways } from '../../../daemon/src/gateway/gateways';
import { Cleanup, MemoryRoutes, startUpstream } from '../../unit/gateway/fixtures';

const cleanup = new Cleanup();
afterEach(cleanup.run);

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;
const CHUNK = 64 * 1024;
const RSS_BUDGET = 64 * MiB;

/** `total` bytes of a repeating, position-dependent pattern, produced chunk by chunk as read. */
function generated(total: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(CHUNK, total - sent);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) chunk.writeUInt32LE((sent + i) >>> 2, i);
      sent += n;
      this.push(chunk);
    },
  });
}

/** The sha256 of what `generated(total)` produces. */
async function digestOf(total: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of generated(total)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Samples the process's resident memory until stopped; answers the peak growth over the start. */
function watchRss(): { stop(): number } {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return peak - start;
    },
  };
}

async function gatewayTo(port: number): Promise<string> {
  const source = new MemoryRoutes();
  source.set({ sandbox: 'big', routes: [{ prefix: '/', service: 'files' }], baseline: {}, services: { files: { route: 'sandbox', hostPort: port } } });
  const gateways = new Gateways({ source, sharedPort: null });
  cleanup.add(() => gateways.stop());
  return (await gateways.open('big', 0)).url;
}

describe('large bodies', () => {
  it('streams a 200 MiB upload with bounded memory', async () => {
    const expected = await digestOf(SIZE);
    const up = await startUpstream(cleanup, 'sink', (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    });
    const url = await gatewayTo(up.port);
    const rss = watchRss();
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${url}/upload`, { method: 'PUT', agent: false, headers: { 'content-length': SIZE } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      pipeline(generated(SIZE), req).catch(reject);
    });
    const growth = rss.stop();
    expect(JSON.parse(answer)).toEqual({ bytes: SIZE, sha256: expected });
    expect(growth, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`).toBeLessThan(RSS_BUDGET);
  });

  it('streams a 200 MiB download with bounded memory', async () => {
    const expected = await digestOf(SIZE);
    const up = await startUpstream(cleanup, 'source', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no length known up front
      void pipeline(generated(SIZE), res).catch(() => undefined);
    });
    const url = await gatewayTo(up.port);
    const rss = watchRss();
    const { bytes, sha256, route } = await new Promise<{ bytes: number; sha256: string; route: unknown }>((resolve, reject) => {
      http
        .get(`${url}/download`, { agent: false }, (res) => {
          const hash = createHash('sha256');
          let n = 0;
          res.on('data', (chunk: Buffer) => {
            n += chunk.length;
            hash.update(chunk);
          });
          res.on('end', () => resolve({ bytes: n, sha256: hash.digest('hex'), route: res.headers['x-branchbox-route'] }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    const growth = rss.stop();
    expect({ bytes, sha256, route }).toEqual({ bytes: SIZE, sha256: expected, route: 'files -> sandbox' });
    expect(growth, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`).toBeLessThan(RSS_BUDGET);
  });
});
