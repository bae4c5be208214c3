/** bench/lib/served.ts: asking a URL until it serves the new body, against a real local HTTP server. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyAnswer, CONFIRMATIONS, waitServed, WrongAnswer } from '../../../bench/lib/served';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server answering the n-th request (1-based) with `answer(n)`; answers its URL. */
async function serve(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  let n = 0;
  server = createServer((req, res) => answer(++n, req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const text = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status);
  res.end(body);
};

describe('classifyAnswer', () => {
  it('tells the new body, the old one and a 5xx apart', () => {
    expect(classifyAnswer(200, 'v2', 'v2', 'v1')).toBe('new');
    expect(classifyAnswer(200, 'v1', 'v2', 'v1')).toBe('old');
    expect(classifyAnswer(502, 'Branchbox gateway: cannot reach', 'v2', 'v1')).toBe('not-ready');
  });

  it('takes a 404 of the service and a beginning of the new body for a file half replaced', () => {
    expect(classifyAnswer(404, '404 Not Found', 'v2 body', 'v1 body')).toBe('torn');
    expect(classifyAnswer(404, '404 Not Found', 'v2 body', 'v1 body', 'web -> sandbox (a1b2c3d)')).toBe('torn');
    expect(classifyAnswer(200, '', 'v2 body', 'v1 body')).toBe('torn');
    expect(classifyAnswer(200, 'v2 b', 'v2 body', 'v1 body')).toBe('torn');
  });

  it("throws for a body that is neither, the gateway's own 404, another 4xx, and any other body when nothing was served before", () => {
    expect(() => classifyAnswer(200, 'v3', 'v2', 'v1')).toThrow(WrongAnswer);
    expect(() => classifyAnswer(200, 'v3', 'v2', 'v1')).toThrow(/neither the new "v2" nor the old "v1"/);
    expect(() => classifyAnswer(200, 'v2 body and more', 'v2 body', 'v1 body')).toThrow(WrongAnswer);
    expect(() => classifyAnswer(404, 'no route', 'v2', 'v1', 'none')).toThrow(/answered 404/);
    expect(() => classifyAnswer(403, 'v2', 'v2', 'v1')).toThrow(/answered 403/);
    expect(() => classifyAnswer(200, 'v1', 'v2', undefined)).toThrow(WrongAnswer);
  });
});

describe('waitServed', () => {
  it('asks until the new body is answered, counting the 5xx on the way', async () => {
    const url = await serve((n, _req, res) => (n <= 3 ? text(res, 200, 'v1') : n <= 6 ? text(res, 502, 'restarting') : text(res, 200, 'v2')));
    const since = performance.now();
    const s = await waitServed(url, { expected: 'v2', previous: 'v1', since });
    expect(s.requests).toBeGreaterThanOrEqual(7);
    expect(s.notReady).toBe(3);
    expect([...s.notReadyKinds]).toEqual([['502 "restarting"', 3]]);
    expect(s.ms).toBeGreaterThan(0);
    expect(s.ms).toBeLessThanOrEqual(performance.now() - since);
  });

  it('counts the answers of a file half replaced, and goes on to the new body', async () => {
    const url = await serve((n, _req, res) => (n === 1 ? text(res, 200, 'v1') : n === 2 ? text(res, 404, 'Not Found') : n === 3 ? text(res, 200, '') : text(res, 200, 'v2')));
    const s = await waitServed(url, { expected: 'v2', previous: 'v1', since: performance.now() });
    expect(s.torn).toBe(2);
    expect(s.notReady).toBe(0);
  });

  it('fails on an answer that is neither old nor new', async () => {
    const url = await serve((n, _req, res) => text(res, 200, n < 3 ? 'v1' : 'something else'));
    await expect(waitServed(url, { expected: 'v2', previous: 'v1', since: performance.now() })).rejects.toThrow(/"something else", neither/);
  });

  it('fails when the new body is answered and then the old one again', async () => {
    const url = await serve((n, _req, res) => text(res, 200, n === 1 ? 'v2' : 'v1'));
    await expect(waitServed(url, { expected: 'v2', previous: 'v1', since: performance.now() })).rejects.toThrow(/answered the new body, then 200 "v1"/);
  });

  it('is not held up by a request that hangs: later ones find the new body while it is still open', async () => {
    let held: ServerResponse | undefined;
    let heldClosed = false;
    let heldOpenAtSecond: boolean | undefined;
    const url = await serve((n, _req, res) => {
      if (n === 1) {
        held = res;
        res.on('close', () => (heldClosed = true));
        return; // never answered
      }
      heldOpenAtSecond ??= !heldClosed;
      text(res, 200, 'v2');
    });
    const s = await waitServed(url, { expected: 'v2', previous: 'v1', since: performance.now() });
    expect(s.requests).toBeGreaterThanOrEqual(2);
    // The second request went out while the first was still waiting for its answer.
    expect(heldOpenAtSecond).toBe(true);
    // The request still on its way was aborted, not left behind.
    await new Promise<void>((resolve) => (heldClosed ? resolve() : held!.on('close', () => resolve())));
    expect(heldClosed).toBe(true);
  });

  it('confirms the new body with further requests', async () => {
    const seen: number[] = [];
    const url = await serve((n, _req, res) => {
      seen.push(n);
      text(res, 200, 'v2');
    });
    await waitServed(url, { expected: 'v2', previous: 'v1', since: performance.now() });
    expect(seen.length).toBeGreaterThanOrEqual(1 + CONFIRMATIONS);
  });

  it('gives up after its timeout, naming the last problem', async () => {
    const url = await serve((_n, _req, res) => text(res, 503, 'no target'));
    await expect(waitServed(url, { expected: 'v2', previous: 'v1', since: performance.now(), timeoutMs: 50 })).rejects.toThrow(
      /did not answer "v2" within 50 ms \(last: 503 "no target"\)/,
    );
  });
});
