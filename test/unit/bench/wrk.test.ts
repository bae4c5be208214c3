/** bench/lib/wrk.ts: wrk's figures and its error counts, which the gateway bench fails on. */
import { describe, expect, it } from 'vitest';
import { readWrk } from '../../../bench/lib/wrk';

const clean = `Running 2s test @ http://127.0.0.1:4000/account/hello
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms  300.00us   9.00ms   90.00%
    Req/Sec    26.50k     1.00k   28.00k    70.00%
  Latency Distribution
     50%    1.15ms
     75%    1.30ms
     90%    1.50ms
     99%    2.50ms
  52731 requests in 2.00s, 6.10MB read
Requests/sec:  26365.50
Transfer/sec:      3.05MB
`;

describe('readWrk', () => {
  it('reads requests/s, the request count and the latency percentiles in ms', () => {
    expect(readWrk(clean)).toEqual({ rps: 26365.5, requests: 52731, p50: 1.15, p99: 2.5, non2xx: 0, socketErrors: 0 });
  });

  it('counts non-2xx answers and every kind of socket error', () => {
    const failing = clean.replace(
      'Requests/sec',
      '  Socket errors: connect 2, read 3, write 0, timeout 5\n  Non-2xx or 3xx responses: 52731\nRequests/sec',
    );
    expect(readWrk(failing)).toMatchObject({ non2xx: 52731, socketErrors: 10 });
    expect(readWrk(failing).socketErrorKinds).toBe('connect 2, read 3, write 0, timeout 5');
  });

  it('reads latencies in µs and s', () => {
    const f = readWrk(clean.replace('50%    1.15ms', '50%  870.00us').replace('99%    2.50ms', '99%    1.20s'));
    expect(f.p50).toBeCloseTo(0.87);
    expect(f.p99).toBe(1200);
  });

  it('throws on output it cannot read', () => {
    expect(() => readWrk('unable to connect to 127.0.0.1:4000 Connection refused')).toThrow(/unreadable wrk output/);
  });
});
