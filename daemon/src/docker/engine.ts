/**
 * The daemon's connection to Docker. It discovers the engine at start, holds the one
 * long-lived `docker events` stream (whose end or failure is how it learns the engine went
 * away), says at any moment whether Docker is available and why not, and reconnects by
 * retrying discovery with capped exponential backoff — the only timer of the Docker layer —
 * and, for an engine on a unix socket, at once when its socket file reappears (a restarted
 * engine is back within milliseconds, not at the next backoff step).
 * The daemon runs without an engine: `client()` then throws `DockerUnavailable` with the reason.
 */
import type Docker from 'dockerode';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { RpcError, isRpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import { DockerUnavailableError, discoverEngine, type DiscoverOptions, type TriedStrategy } from './discovery';
import { createDockerodeClient } from './dockerode/client';
import { TypedEmitter } from './typed-emitter';
import type { DockerClient, EngineEvent } from './types';

/** What `system/info` reports about Docker. */
export interface EngineStatus {
  readonly available: boolean;
  /** Why Docker is unavailable; absent when it is available. */
  readonly reason?: string;
  readonly endpoint?: string;
  readonly version?: string;
  readonly apiVersion?: string;
}

/** The engine the daemon is connected to. */
export interface EngineConnection {
  readonly strategy: string;
  readonly endpoint: string;
  readonly version: string;
  readonly apiVersion: string;
}

export interface DockerEngineEvents {
  /** An engine answered (at start or after a loss); the event stream is open. */
  connected: [EngineConnection];
  /** The engine that was connected went away; retrying has begun. */
  disconnected: [reason: string];
  /** An event of the engine's stream (containers, images, networks, volumes). */
  event: [EngineEvent];
}

/** Delays between reconnection attempts: `initialMs`, times `factor` after each failure, at most `maxMs`. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 10_000, factor: 2 };

/**
 * What a long-lived stream (logs, stats) needs to survive the engine going away: after a
 * connection failure, wait until the engine answers again, then reopen.
 */
export interface EngineRecovery {
  /**
   * Resolves true once the engine answers again: at once if it is connected and answers a
   * ping, else at the next reconnection. Resolves false when `signal` aborts.
   */
  recovered(signal: AbortSignal): Promise<boolean>;
}

/** The timer functions the retry loop uses (injectable for tests). */
export interface RetryTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A connection as the connector makes it. */
export interface EngineLink {
  readonly client: DockerClient;
  readonly strategy: string;
  /** The dockerode instance behind `client`, for Docker-layer code that streams (logs, stats, exec). */
  readonly docker?: Docker;
}

export interface DockerEngineOptions extends Omit<DiscoverOptions, 'strategies'> {
  readonly strategies?: DiscoverOptions['strategies'];
  readonly backoff?: Partial<Backoff>;
  readonly timers?: RetryTimers;
  readonly log?: Logger;
  /** Replaces discovery and dockerode (tests). */
  readonly connect?: () => Promise<EngineLink>;
}

type State =
  | { readonly kind: 'starting' }
  | {
      readonly kind: 'up';
      readonly link: EngineLink;
      readonly connection: EngineConnection;
      readonly stream: AbortController;
    }
  | { readonly kind: 'down'; readonly reason: string; readonly tried?: readonly TriedStrategy[] }
  | { readonly kind: 'stopped' };

export class DockerEngine extends TypedEmitter<DockerEngineEvents> implements EngineRecovery {
  private state: State = { kind: 'starting' };
  private readonly backoff: Backoff;
  private readonly timers: RetryTimers;
  private readonly log: Logger;
  private retryTimer: unknown;
  /** While down: the directory of the lost engine's unix socket, watched for the socket's return. */
  private socketWatch: FSWatcher | undefined;
  private failures = 0;
  private attempt: Promise<void> | undefined;

  constructor(private readonly opts: DockerEngineOptions = {}) {
    const log = opts.log ?? nullLogger;
    super((event, e) => log.error('Docker engine listener failed', { event, error: String(e) }));
    this.log = log;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
  }

  /** Makes the first connection attempt; resolves with the status either way (never throws). */
  async start(): Promise<EngineStatus> {
    await this.connect();
    return this.status();
  }

  /** Stops the event stream and the retry loop. */
  stop(): void {
    if (this.state.kind === 'up') this.state.stream.abort();
    this.clearRetry();
    this.unwatchSocket();
    this.state = { kind: 'stopped' };
  }

  status(): EngineStatus {
    switch (this.state.kind) {
      case 'up': {
        const { endpoint, version, apiVersion } = this.state.connection;
        return { available: true, endpoint, version, apiVersion };
      }
      case 'down':
        return { available: false, reason: this.state.reason };
      case 'starting':
        return { available: false, reason: 'Looking for a Docker engine…' };
      case 'stopped':
        return { available: false, reason: 'The daemon is shutting down.' };
    }
  }

  /** The connected engine's client; throws RpcError `DockerUnavailable` (with the reason) when there is none. */
  client(): DockerClient {
    return this.link().client;
  }

  /** The dockerode instance of the connected engine, for the Docker layer's stream code only. */
  dockerode(): Docker {
    const docker = this.link().docker;
    if (!docker) throw new RpcError('DockerUnavailable', 'This Docker connection has no dockerode instance.');
    return docker;
  }

  /** The connection, when there is one. */
  get connection(): EngineConnection | undefined {
    return this.state.kind === 'up' ? this.state.connection : undefined;
  }

  /**
   * Treats the connection as lost (e.g. the container model could not resync): emits
   * `disconnected` and lets the retry loop reconnect.
   */
  reportLost(reason: string): void {
    if (this.state.kind !== 'up') return;
    this.state.stream.abort();
    this.lose(reason);
  }

  async recovered(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted || this.state.kind === 'stopped') return false;
    if (this.state.kind === 'up') {
      try {
        await this.state.link.client.system.ping({ signal });
        return true;
      } catch (e) {
        if (signal.aborted) return false;
        // The stream that failed noticed before the event stream did.
        this.reportLost(`it does not answer a ping (${isRpcError(e) ? e.message : shortReason(e)})`);
      }
    }
    return this.next('connected', () => true, signal).then(
      () => true,
      () => false,
    );
  }

  private link(): EngineLink {
    if (this.state.kind === 'up') return this.state.link;
    const tried = this.state.kind === 'down' ? this.state.tried : undefined;
    throw new RpcError(
      'DockerUnavailable',
      this.status().reason ?? 'Docker is unavailable.',
      tried ? { tried: [...tried] } : undefined,
    );
  }

  /** One connection attempt (concurrent callers share it); once it has failed, the retry is scheduled. */
  private connect(): Promise<void> {
    this.attempt ??= this.tryConnect().then((connected) => {
      this.attempt = undefined;
      if (!connected) this.scheduleRetry();
    });
    return this.attempt;
  }

  /** Resolves false when the attempt failed (the state then says why). */
  private async tryConnect(): Promise<boolean> {
    if (this.state.kind === 'stopped' || this.state.kind === 'up') return true;
    const stream = new AbortController();
    try {
      const link = await (this.opts.connect ?? (() => this.discover()))();
      const { client } = link;
      const version = await client.system.version();
      // Events from the engine's own "now" on are replayed, so nothing between this moment and
      // the list the container model takes once connected is lost (even with clock skew).
      const since = await client.system.time();
      const events = await client.events.stream({ since, signal: stream.signal });
      if ((this.state.kind as State['kind']) === 'stopped') {
        stream.abort();
        return true;
      }
      const connection: EngineConnection = {
        strategy: link.strategy,
        endpoint: client.endpoint,
        version: version.version,
        apiVersion: version.apiVersion,
      };
      this.state = { kind: 'up', link, connection, stream };
      this.failures = 0;
      this.unwatchSocket();
      this.log.info(`Connected to Docker ${connection.version} at ${connection.endpoint}`, { ...connection });
      this.emit('connected', connection);
      void this.pump(events, stream.signal);
      return true;
    } catch (e) {
      stream.abort();
      if ((this.state.kind as State['kind']) === 'stopped') return true;
      const reason = e instanceof Error ? e.message : String(e);
      const wasStarting = this.state.kind === 'starting';
      this.state = { kind: 'down', reason, ...(e instanceof DockerUnavailableError ? { tried: e.tried } : {}) };
      if (wasStarting || this.failures === 0) this.log.warn('Docker is unavailable', { reason });
      else this.log.debug('Docker is still unavailable', { reason });
      return false;
    }
  }

  private async discover(): Promise<EngineLink> {
    const found = await discoverEngine(this.opts);
    return {
      client: createDockerodeClient(found.docker, found.endpoint),
      strategy: found.strategy,
      docker: found.docker,
    };
  }

  /** Forwards the event stream; its end or failure means the engine is gone. */
  private async pump(events: AsyncIterable<EngineEvent>, signal: AbortSignal): Promise<void> {
    let reason = 'its event stream ended';
    try {
      for await (const event of events) this.emit('event', event);
    } catch (e) {
      reason = `its event stream failed (${isRpcError(e) ? e.message : shortReason(e)})`;
    }
    if (!signal.aborted) this.lose(reason);
  }

  private lose(why: string): void {
    if (this.state.kind !== 'up') return;
    const { endpoint } = this.state.connection;
    const reason = `Lost the Docker engine at ${endpoint}: ${why}. Reconnecting…`;
    this.state = { kind: 'down', reason };
    this.log.warn('Lost the Docker engine', { endpoint, reason: why });
    this.emit('disconnected', reason);
    this.scheduleRetry();
    this.watchSocket(endpoint);
  }

  /** Retries as soon as the engine's unix socket file is created again (best effort: backoff goes on regardless). */
  private watchSocket(endpoint: string): void {
    if (!endpoint.startsWith('unix://')) return;
    const socket = endpoint.slice('unix://'.length);
    try {
      this.socketWatch = watch(dirname(socket), (_event, file) => {
        if (file !== basename(socket) || this.state.kind !== 'down' || this.attempt) return;
        this.clearRetry();
        void this.connect();
      });
      this.socketWatch.on('error', () => this.unwatchSocket());
      this.socketWatch.unref();
    } catch {
      // The directory went away with the engine: the backoff alone will find it.
    }
  }

  private unwatchSocket(): void {
    this.socketWatch?.close();
    this.socketWatch = undefined;
  }

  private scheduleRetry(): void {
    if (this.state.kind === 'stopped') return;
    this.clearRetry();
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * this.backoff.factor ** this.failures);
    this.failures++;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

function shortReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return code;
  return e instanceof Error ? e.message : String(e);
}
