/**
 * Readiness probes against real sockets on 127.0.0.1: an HTTP health path, a TCP port, and
 * the timing rules (healthy at the first success; failed once the budget is spent, with the
 * last probe's result).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeOnce, waitHealthy, type HealthSpec } from '../../../daemon/src/deploy/health-probe';

const servers: { close(cb?: () => void): unknown }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function http(handler: (path: string) => { status: number; body: string }): Promise<number> {
  const server: Server = createHttpServer((req, res) => {
    const { status, body } = handler(req.url ?? '/');
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const fast: HealthSpec = { path: '/healthz', intervalMs: 20, timeoutMs: 500, retries: 2, startPeriodMs: 0 };

describe('probes', () => {
  it('an HTTP probe is healthy on 2xx and says what a failing one answered', async () => {
    let status = 200;
    const port = await http(() => ({ status, body: status === 200 ? 'ok' : 'database down' }));
    expect(await probeOnce(port, fast)).toEqual({ ok: true, detail: 'GET /healthz answered 200: ok' });
    status = 503;
    expect(await probeOnce(port, fast)).toEqual({ ok: false, detail: 'GET /healthz answered 503: database down' });
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    expect(await probeOnce(port, fast)).toEqual({ ok: false, detail: 'GET /healthz: connection refused' });
    expect((await probeOnce(port, { ...fast, path: undefined })).detail).toContain('connection refused');
  });

  it('a TCP probe is healthy when the connection stays open', async () => {
    const server = createTcpServer(() => undefined);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    expect(await probeOnce(port, { ...fast, path: undefined })).toMatchObject({ ok: true });
  });

  it('a TCP probe fails when the peer closes at once (what a published port without a listener does)', async () => {
    const server = createTcpServer((socket) => socket.end());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    expect(await probeOnce(port, { ...fast, path: undefined })).toMatchObject({ ok: false, detail: expect.stringContaining('closed at once') });
  });
});

describe('waiting until healthy', () => {
  it('is healthy at the first success, after failures during startup', async () => {
    let calls = 0;
    const port = await http(() => (++calls < 3 ? { status: 500, body: 'starting' } : { status: 204, body: '' }));
    const seen: boolean[] = [];
    const outcome = await waitHealthy(port, { ...fast, retries: 10 }, { signal: new AbortController().signal, onProbe: (r) => seen.push(r.ok) });
    expect(outcome).toMatchObject({ healthy: true, probes: 3 });
    expect(seen).toEqual([false, false, true]);
  });

  it('fails once the budget (start period + retries × interval) is spent, with the last result', async () => {
    const port = await http(() => ({ status: 500, body: 'unhealthy on purpose' }));
    let t = 0;
    const outcome = await waitHealthy(port, { ...fast, intervalMs: 1000, startPeriodMs: 2000, retries: 3 }, {
      signal: new AbortController().signal,
      now: () => t,
      probe: async (p, spec, signal) => {
        t += 200; // the clock moves 200 ms per probe: probes until 2000 + 3 × 1000 ms
        return probeOnce(p, spec, signal);
      },
    });
    expect(outcome.healthy).toBe(false);
    expect(outcome.last.detail).toBe('GET /healthz answered 500: unhealthy on purpose');
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(5000);
    expect(outcome.probes).toBe(25);
  });

  it('stops when cancelled', async () => {
    const port = await http(() => ({ status: 500, body: 'no' }));
    const controller = new AbortController();
    const waiting = waitHealthy(port, { ...fast, startPeriodMs: 60_000 }, { signal: controller.signal, onProbe: () => controller.abort(new Error('stop')) });
    await expect(waiting).rejects.toThrow('stop');
  });
});
