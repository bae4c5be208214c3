/**
 * Is the new container ready? Probes its published port on 127.0.0.1: an HTTP GET of the
 * service's health path (healthy on 2xx/3xx) or, without a health check, a TCP connection
 * that the container keeps open (a published port is accepted by Docker's proxy even when
 * nothing listens inside; the proxy then closes it at once).
 *
 * Readiness at deploy follows Docker's timing, probed faster: a probe every
 * `min(interval, 50 ms)` for the first 2 s and every `min(interval, 250 ms)` after (like
 * Docker's start interval; most services answer within a second), healthy at the first success, and
 * failed once probes have kept failing for `startPeriod + retries × interval` — the time
 * Docker takes to call a container that never answers unhealthy. The last probe's result is
 * the cause.
 */
import { request } from 'node:http';
import type { ServiceConfig } from '../../../schemas/src/project';
import { connect } from 'node:net';

export interface HealthSpec {
  /** HTTP path; absent for a TCP probe. */
  readonly path?: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** What the probe saw, e.g. "GET /healthz answered 500: boom" or "connection refused". */
  readonly detail: string;
}

export interface HealthOutcome {
  readonly healthy: boolean;
  readonly probes: number;
  /** The last probe's result. */
  readonly last: ProbeResult;
  readonly elapsedMs: number;
}

/** Timing used when the service declares no health check (TCP probe). */
export const TCP_DEFAULTS: HealthSpec = { intervalMs: 1_000, timeoutMs: 2_000, retries: 3, startPeriodMs: 10_000 };

/**
 * How a serving container's port is probed after the deploy (health monitor, resume): an HTTP
 * GET of the health path when the service is served over HTTP, else TCP (with its health
 * timing when it declares one).
 */
export function serviceProbeSpec(config: Pick<ServiceConfig, 'http' | 'health'> | undefined): HealthSpec {
  const health = config?.health;
  if (!health) return TCP_DEFAULTS;
  const { path, command: _command, ...timing } = health;
  return config.http && path !== undefined ? { ...timing, path } : timing;
}
/** The cadence of readiness probes: fast while a service usually starts, then slower. */
export const START_INTERVAL_MS = 50;
export const LATER_INTERVAL_MS = 250;
const FAST_PROBING_MS = 2_000;
/** How long a TCP connection must stay open to count as answered. */
const TCP_HOLD_MS = 150;
/** The most characters of a failing answer's body quoted. */
const BODY_QUOTE = 120;

/** Runs one probe of `port` on 127.0.0.1. */
export function probeOnce(port: number, spec: HealthSpec, signal?: AbortSignal): Promise<ProbeResult> {
  return spec.path !== undefined ? httpProbe(port, spec.path, spec.timeoutMs, signal) : tcpProbe(port, spec.timeoutMs, signal);
}

export interface WaitOptions {
  readonly signal: AbortSignal;
  /** Called with each probe's result. */
  readonly onProbe?: (result: ProbeResult, n: number) => void;
  /** Clock (tests). */
  readonly now?: () => number;
  readonly probe?: (port: number, spec: HealthSpec, signal: AbortSignal) => Promise<ProbeResult>;
}

/** Probes until healthy or out of time; rejects with the abort reason when `signal` aborts. */
export async function waitHealthy(port: number, spec: HealthSpec, opts: WaitOptions): Promise<HealthOutcome> {
  const now = opts.now ?? Date.now;
  const probe = opts.probe ?? probeOnce;
  const started = now();
  const budget = spec.startPeriodMs + spec.retries * spec.intervalMs;
  let probes = 0;
  for (;;) {
    opts.signal.throwIfAborted();
    const probeStarted = now();
    const last = await probe(port, spec, opts.signal);
    probes++;
    opts.onProbe?.(last, probes);
    opts.signal.throwIfAborted();
    const elapsedMs = now() - started;
    if (last.ok) return { healthy: true, probes, last, elapsedMs };
    if (elapsedMs >= budget && probes > spec.retries) return { healthy: false, probes, last, elapsedMs };
    const cadence = Math.max(10, Math.min(spec.intervalMs, elapsedMs < FAST_PROBING_MS ? START_INTERVAL_MS : LATER_INTERVAL_MS));
    await delay(Math.max(0, cadence - (now() - probeStarted)), opts.signal);
  }
}

function httpProbe(port: number, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const what = `GET ${path}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, detail: `${what}: cancelled` });
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { 'user-agent': 'branchboxd-health', connection: 'close' } },
      (res) => {
        const status = res.statusCode ?? 0;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < BODY_QUOTE * 2) body += c;
        });
        const done = () => {
          const text = body.replace(/\s+/g, ' ').trim().slice(0, BODY_QUOTE);
          finish({ ok: status >= 200 && status < 400, detail: `${what} answered ${status}${text ? `: ${text}` : ''}` });
        };
        res.on('end', done);
        res.on('error', done);
      },
    );
    const timer = setTimeout(() => finish({ ok: false, detail: `${what} timed out after ${timeoutMs} ms` }), timeoutMs);
    req.on('error', (e) => finish({ ok: false, detail: `${what}: ${describeSocketError(e)}` }));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}

function tcpProbe(port: number, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let holdTimer: NodeJS.Timeout | undefined;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (holdTimer) clearTimeout(holdTimer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, detail: 'cancelled' });
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => finish({ ok: false, detail: `TCP connect to port ${port} timed out after ${timeoutMs} ms` }), timeoutMs);
    socket.on('connect', () => {
      holdTimer = setTimeout(() => finish({ ok: true, detail: `TCP port ${port} accepts connections` }), TCP_HOLD_MS);
    });
    socket.on('data', () => finish({ ok: true, detail: `TCP port ${port} answers` }));
    socket.on('end', () => finish({ ok: false, detail: `TCP connection to port ${port} closed at once (nothing listening in the container yet?)` }));
    socket.on('close', () => finish({ ok: false, detail: `TCP connection to port ${port} closed at once (nothing listening in the container yet?)` }));
    socket.on('error', (e) => finish({ ok: false, detail: `TCP connect to port ${port}: ${describeSocketError(e)}` }));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describeSocketError(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset (the container closed it before answering)';
    default:
      return /socket hang up/i.test(e.message) ? 'connection closed before an answer' : (code ?? e.message);
  }
}

/** Waits `ms`; rejects with the abort reason when `signal` aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
