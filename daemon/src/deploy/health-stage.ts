/**
 * The health-check stage of a deployment (./deploy-run.ts): is the new container ready to
 * serve? One check, the first that applies, in this order:
 *
 * 1. a job (`job: true`) is waited on until it exits: 0 is `completed`, anything else fails
 *    with the exit code and its last lines;
 * 2. Docker's HEALTHCHECK, when the container has one (the service's, or its image's unless
 *    NONE): its health status is followed until healthy; unhealthy fails quoting the last
 *    probe ("unhealthy: pg_isready exited 2: ...");
 * 3. an HTTP GET of the health path on the primary port, for `http` services declaring one;
 * 4. a TCP connection to the primary port;
 * 5. the service's `health.command`, run in the container (exec) until it exits 0, timed like
 *    the other probes;
 * 6. else (no port, no check): the container started and keeps running.
 *
 * Meanwhile the container's output goes to the deployment log, and a container that exits
 * (a service, not a job) fails the stage with its exit code and last lines.
 */
import type { Prepared } from './build-stage';
import type { DeployContainerState, DeployDocker } from './deploy-docker';
import type { RunContext, RunDeps } from './deploy-run';
import { DeployCause, withLines } from './diagnosis';
import { delay, serviceProbeSpec, waitHealthy, type HealthSpec, type ProbeResult, type WaitOptions } from './health-probe';

/** Once ready, how long the deployment log waits for the container's output printed so far (at most that many lines). */
const LOG_CATCH_UP_MS = 1_000;
const LOG_CATCH_UP_LINES = 200;
/** How many container log lines an "exited" diagnosis quotes. */
const EXIT_TAIL = 5;
/** How often Docker's health status is read while it is starting. */
const DOCKER_HEALTH_POLL_MS = 100;
/** How much of the last health probe's output an "unhealthy" diagnosis quotes. */
const HEALTH_OUTPUT_QUOTE = 200;
/** How long a service without any check must keep running after its start to count as started. */
const RUNNING_SETTLE_MS = 500;

/** How the stage ended: a service ready to serve, or a job that ran to completion. */
export type Readiness = 'healthy' | 'completed';

interface Started {
  readonly containerId?: string;
  readonly hostPort?: number;
}

/** Runs the stage; throws DeployCause with the cause when the container is not ready. */
export async function checkHealth(ctx: RunContext, deps: RunDeps, p: Prepared, created: Started): Promise<Readiness> {
  const rec = ctx.recorder;
  const docker = deps.docker();
  const id = created.containerId!;
  const watch = new AbortController();
  const signal = AbortSignal.any([ctx.signal, watch.signal]);
  let followed = 0;
  let caughtUp: (() => void) | undefined;
  const following = docker
    .followLogs(id, watch.signal, (line) => {
      rec.log('runtime', line);
      followed++;
      caughtUp?.();
    })
    .catch(() => undefined);
  /** Resolves with the exit code; never when `signal` aborts first. */
  const exited = docker.waitExit(id, watch.signal).then((code) => (code === undefined ? new Promise<never>(() => undefined) : code));
  const exitCause = async (what: string, code: number, inspected?: DeployContainerState): Promise<DeployCause> => {
    const state = inspected ?? (await docker.inspectContainer(id));
    const lines = await docker.lastLogLines(id, EXIT_TAIL);
    const exitCode = state?.exitCode ?? code;
    const message = state?.oomKilled ? `${what} ran out of memory (OOMKilled, exit code ${exitCode})` : `${what} exited with code ${exitCode}`;
    return new DeployCause(withLines(message, lines, EXIT_TAIL));
  };

  try {
    if (p.config.job) {
      rec.log('daemon', `Job: waiting until the container exits (exit code 0 completes the deployment)`);
      const code = await Promise.race([exited, abortedWith(ctx.signal)]);
      const state = await docker.inspectContainer(id);
      const exitCode = state?.exitCode ?? code;
      await settle(following, watch);
      if (exitCode !== 0) throw await exitCause('the job', exitCode, state);
      rec.log('daemon', 'The job completed (exit code 0)');
      return 'completed';
    }

    const state = await docker.inspectContainer(id);
    const outcome = await Promise.race([readiness(ctx, docker, p, created, state, signal), exited.then((code) => ({ exited: code }))]);
    if ('exited' in outcome) {
      watch.abort();
      await following;
      throw await exitCause('the container', outcome.exited);
    }
    // What the container printed until now belongs to this deployment's log: let the follow
    // catch up with it (briefly) before it stops.
    const printed = (await docker.lastLogLines(id, LOG_CATCH_UP_LINES).catch(() => [])).length;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, LOG_CATCH_UP_MS);
      caughtUp = () => {
        if (followed < printed) return;
        clearTimeout(timer);
        resolve();
      };
      caughtUp();
    });
    return 'healthy';
  } finally {
    watch.abort();
    await following;
  }
}

/** Resolves once the container is ready by the first check that applies (see the module comment); throws DeployCause when it is not. */
async function readiness(
  ctx: RunContext,
  docker: DeployDocker,
  p: Prepared,
  created: Started,
  state: DeployContainerState | undefined,
  signal: AbortSignal,
): Promise<{ ready: true }> {
  const rec = ctx.recorder;
  const config = p.config;
  const id = created.containerId!;
  if (state?.health !== undefined) {
    const test = config.healthcheck?.test;
    rec.log('daemon', `Waiting until Docker's health check${test ? ` (${commandOf(test)})` : ' of the image'} says healthy`);
    await dockerHealthy(docker, id, test, signal, (line) => rec.log('daemon', line));
    return { ready: true };
  }
  const port = created.hostPort;
  if (port !== undefined) {
    const spec = serviceProbeSpec(config);
    rec.log(
      'daemon',
      spec.path !== undefined
        ? `Waiting until GET ${spec.path} on 127.0.0.1:${port} answers 2xx/3xx (start period ${spec.startPeriodMs} ms, ${spec.retries} retries every ${spec.intervalMs} ms)`
        : `${config.health ? 'TCP health check' : 'No health check declared'}: waiting until 127.0.0.1:${port} accepts TCP connections`,
    );
    let lastDetail = '';
    await probeUntilHealthy(rec, port, spec, {
      signal,
      onProbe: (r, n) => {
        if (r.ok) rec.log('daemon', `Probe ${n}: ${r.detail}`);
        else if (r.detail !== lastDetail || n % 10 === 0) rec.log('daemon', `Probe ${n} failed: ${r.detail}`);
        lastDetail = r.detail;
      },
    });
    return { ready: true };
  }
  const command = config.health?.command;
  if (command && config.health) {
    // The command check's timing is the service's health timing (serviceProbeSpec without an HTTP path).
    const spec = serviceProbeSpec({ http: false, health: config.health });
    const what = command.join(' ');
    rec.log('daemon', `Waiting until ${what} exits 0 in the container (start period ${spec.startPeriodMs} ms, ${spec.retries} retries every ${spec.intervalMs} ms)`);
    const owner = { sandbox: ctx.sandbox, service: ctx.service };
    const probe = async (_port: number, s: HealthSpec, sig: AbortSignal): Promise<ProbeResult> => {
      const timeout = AbortSignal.any([sig, AbortSignal.timeout(s.timeoutMs)]);
      try {
        const r = await docker.runCommand(id, command, timeout, owner);
        return { ok: r.exitCode === 0, detail: `${what} exited ${r.exitCode}${oneLine(r.output) ? `: ${oneLine(r.output)}` : ''}` };
      } catch (e) {
        sig.throwIfAborted();
        return { ok: false, detail: timeout.aborted ? `${what} timed out after ${s.timeoutMs} ms` : `${what} could not run: ${(e as Error).message}` };
      }
    };
    // One run at a time (each an exec), at the cadence of the other probes.
    await probeUntilHealthy(rec, 0, spec, { signal, probe, onProbe: (r, n) => rec.log('daemon', `Probe ${n}${r.ok ? '' : ' failed'}: ${r.detail}`) });
    return { ready: true };
  }
  rec.log('daemon', 'No port and no health check: waiting until the container keeps running');
  await delay(RUNNING_SETTLE_MS, signal);
  const now = await docker.inspectContainer(id);
  if (!now?.running) throw new DeployCause('the container is not running');
  rec.log('daemon', 'The container is running');
  return { ready: true };
}

/** Probes until healthy (logging how long it took); throws DeployCause with the last probe's result when out of time. */
async function probeUntilHealthy(rec: RunContext['recorder'], port: number, spec: HealthSpec, opts: WaitOptions): Promise<void> {
  const o = await waitHealthy(port, spec, opts);
  if (!o.healthy) throw new DeployCause(`${o.last.detail} — still failing after ${o.probes} probes over ${(o.elapsedMs / 1000).toFixed(1)} s`);
  rec.log('daemon', `Healthy after ${(o.elapsedMs / 1000).toFixed(1)} s (${o.probes} probe${o.probes === 1 ? '' : 's'})`);
}

/** Follows Docker's health status until healthy; throws DeployCause quoting the last probe when unhealthy. */
async function dockerHealthy(docker: DeployDocker, id: string, test: readonly string[] | undefined, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  let lastOutput = '';
  for (;;) {
    signal.throwIfAborted();
    const state = await docker.inspectContainer(id);
    if (!state) throw new DeployCause('the container is gone');
    const probe = state.lastHealthProbe;
    if (probe && probe.output !== lastOutput) {
      lastOutput = probe.output;
      log(`Health probe exited ${probe.exitCode}${probe.output.trim() ? `: ${oneLine(probe.output)}` : ''}`);
    }
    if (state.health === 'healthy') {
      log('Docker says healthy');
      return;
    }
    if (state.health === 'unhealthy') {
      const what = test ? commandOf(test) : "the image's health check";
      const output = probe ? oneLine(probe.output) : '';
      throw new DeployCause(`unhealthy: ${what} exited ${probe?.exitCode ?? '?'}${output ? `: ${output}` : ''}`);
    }
    await delay(DOCKER_HEALTH_POLL_MS, signal);
  }
}

/** The health check's command as a person would type it. */
function commandOf(test: readonly string[]): string {
  const [kind, ...rest] = test;
  return kind === 'CMD-SHELL' || kind === 'CMD' ? rest.join(' ') : test.join(' ');
}

function oneLine(text: string): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > HEALTH_OUTPUT_QUOTE ? `${s.slice(0, HEALTH_OUTPUT_QUOTE)}…` : s;
}

/** Never resolves; rejects with the abort reason when `signal` aborts. */
function abortedWith(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** Lets the log follow finish reading an exited container's output (briefly), then stops it. */
async function settle(following: Promise<unknown>, watch: AbortController): Promise<void> {
  const timer = setTimeout(() => watch.abort(), LOG_CATCH_UP_MS);
  await following;
  clearTimeout(timer);
}
