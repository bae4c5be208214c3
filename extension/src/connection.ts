/**
 * The extension's one connection to branchboxd: a WebSocket and a typed `BranchboxClient`.
 * It finds (or starts) the daemon through a `DaemonHost`, `initialize`s, then keeps the
 * connection alive — reconnecting with capped exponential backoff when the socket closes,
 * restarting a daemon that is gone (but not one that keeps crashing), and recycling a
 * connection whose daemon stops answering (a `system/info` heartbeat with a timeout).
 *
 * Code that needs the daemon takes a `Connected`, never a maybe-undefined client. Each
 * `Connected` has its own disposal scope, disposed when that connection ends; owners of
 * subscriptions re-open them on the next one (`whileConnected`).
 *
 * No `vscode` here: it runs in the extension host and in plain Node tests alike.
 */
import WebSocket from 'ws';
import { BranchboxClient } from '../../schemas/src/client';
import { PROTOCOL_VERSION, type Result } from '../../schemas/src/index';
import { DaemonStartError, type DaemonEndpoint, type DaemonHost } from './bootstrap';
import { closeReasonText, dialFailureText } from './connection-notices';
import { DisposableStore, Emitter, type Disposable, type Event } from './lifetime';
import {
  Backoff,
  DEFAULT_BACKOFF,
  DEFAULT_RESTART_LIMIT,
  RestartLimiter,
  systemClock,
  type BackoffOptions,
  type Clock,
  type RestartLimit,
} from './restart-policy';

export type InitializeResult = Result<'initialize'>;
export type SystemInfo = Result<'system/info'>;

/** A live, initialized connection. */
export interface Connected {
  readonly client: BranchboxClient;
  readonly endpoint: DaemonEndpoint;
  readonly serverInfo: InitializeResult['serverInfo'];
  readonly protocolVersion: string;
  readonly capabilities: InitializeResult['capabilities'];
  /** Disposed when this connection ends: put here what was opened on it. */
  readonly scope: DisposableStore;
  /** 1 for the first connection of this extension's lifetime, then 2, 3... */
  readonly generation: number;
}

export type ConnectionState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'connected'; readonly connected: Connected }
  /** Lost or not reached; the next attempt comes in `retryInMs`. */
  | { readonly kind: 'disconnected'; readonly reason: string; readonly retryInMs: number }
  /** Given up until the user acts (Restart Daemon, Refresh). */
  | { readonly kind: 'failed'; readonly reason: string };

/** What the connection logs through (a `LogOutputChannel` fits). */
export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

/** A message channel to the daemon. */
export interface Transport {
  send(text: string): void;
  onMessage(listener: (text: string) => void): void;
  /** Called once, with why the channel closed. */
  onClose(listener: (reason: string) => void): void;
  /** Closes gracefully. */
  close(reason: string): void;
  /** Drops the channel at once (the peer may be hung). */
  terminate(reason: string): void;
}

export type Dial = (endpoint: DaemonEndpoint, timeoutMs: number) => Promise<Transport>;

export interface HeartbeatOptions {
  readonly intervalMs: number;
  /** A ping not answered within this is a hung daemon. */
  readonly timeoutMs: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 15_000, timeoutMs: 5_000 };

export interface ConnectionOptions {
  readonly host: DaemonHost;
  /** The extension's version, sent in `initialize`. */
  readonly clientVersion: string;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly restartLimit?: RestartLimit;
  readonly heartbeat?: HeartbeatOptions;
  /** Limit for opening the socket and for `initialize`. */
  readonly connectTimeoutMs?: number;
  readonly dial?: Dial;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 5_000;

/** Retrying cannot help; the loop stops in `failed` until the user acts. */
class GiveUp extends Error {}

export class DaemonConnection implements Disposable {
  private readonly stateEmitter = new Emitter<ConnectionState>();
  private readonly infoEmitter = new Emitter<SystemInfo>();
  /** Fires on every state change. */
  readonly onDidChangeState: Event<ConnectionState> = this.stateEmitter.event;
  /** Fires with each heartbeat answer (Docker availability, connections...). */
  readonly onDidReceiveInfo: Event<SystemInfo> = this.infoEmitter.event;

  private current: ConnectionState = { kind: 'connecting', attempt: 0 };
  private host: DaemonHost;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly limiter: RestartLimiter;
  private readonly heartbeat: HeartbeatOptions;
  private readonly connectTimeoutMs: number;
  private readonly dial: Dial;
  private readonly log: Logger;

  private running = false;
  private disposed = false;
  private generation = 0;
  /** A daemon was found or started before: a later start is a restart after a crash. */
  private seenDaemon = false;
  /** The next start was asked for by the user: it does not count as a crash. */
  private restartRequested = false;
  /** While the user's restart waits for the old daemon to exit, nobody connects. */
  private restarting: Promise<void> | undefined;
  private transport: Transport | undefined;
  private wake: (() => void) | undefined;
  /** The next retry comes at once (the user asked to reconnect). */
  private skipDelay = false;

  constructor(private readonly options: ConnectionOptions) {
    this.host = options.host;
    this.clock = options.clock ?? systemClock;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.limiter = new RestartLimiter(this.clock, options.restartLimit ?? DEFAULT_RESTART_LIMIT);
    this.heartbeat = options.heartbeat ?? DEFAULT_HEARTBEAT;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.dial = options.dial ?? dialWebSocket;
    this.log = options.log;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The live connection, if there is one right now. */
  get connected(): Connected | undefined {
    return this.current.kind === 'connected' ? this.current.connected : undefined;
  }

  get daemonHost(): DaemonHost {
    return this.host;
  }

  /** A restart the user asked for (Restart Daemon) is under way. */
  get restartInProgress(): boolean {
    return this.restarting !== undefined;
  }

  /** Starts connecting (once). */
  start(): void {
    if (this.running || this.disposed) return;
    this.running = true;
    void this.run();
  }

  /**
   * Calls `fn` with the current connection, if any, and with every later one — the way
   * owners (re)open what they keep on a connection. Put what `fn` opens into `c.scope`.
   */
  whileConnected(fn: (c: Connected) => void): Disposable {
    const connected = this.connected;
    if (connected) fn(connected);
    return this.onDidChangeState((s) => {
      if (s.kind === 'connected') fn(s.connected);
    });
  }

  /** The live connection, waiting up to `timeoutMs` for one; rejects when there is none by then. */
  whenConnected(timeoutMs: number): Promise<Connected> {
    const connected = this.connected;
    if (connected) return Promise.resolve(connected);
    if (this.current.kind === 'failed') return Promise.reject(new Error(this.current.reason));
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        sub.dispose();
        const s = this.current;
        reject(new Error(s.kind === 'disconnected' ? `Not connected to branchboxd: ${s.reason}` : 'Still connecting to branchboxd.'));
      }, timeoutMs);
      const sub = this.onDidChangeState((s) => {
        if (s.kind !== 'connected' && s.kind !== 'failed') return;
        sub.dispose();
        this.clock.clearTimeout(timer);
        if (s.kind === 'connected') resolve(s.connected);
        else reject(new Error(s.reason));
      });
    });
  }

  /** Drops the connection (if any) and connects again now, forgetting earlier failures. */
  reconnect(reason = 'reconnect requested'): void {
    if (this.disposed) return;
    this.backoff.reset();
    if (this.current.kind === 'failed') {
      // The user asked to try again: the next start is theirs, not a crash restart.
      this.limiter.reset();
      this.restartRequested = true;
    }
    this.skipDelay = true;
    this.transport?.terminate(reason);
    this.wake?.();
    this.start();
  }

  /** Uses another host from now on (the settings changed) and reconnects. */
  setHost(host: DaemonHost): void {
    this.host = host;
    this.seenDaemon = false;
    this.limiter.reset();
    this.reconnect(`now connecting to ${host.description}`);
  }

  /**
   * Restarts the daemon: asks it to shut down, waits for it to exit (terminating it if it
   * does not), and connects to a fresh one. Resets the crash count.
   */
  async restartDaemon(): Promise<void> {
    if (this.restarting) return this.restarting;
    const run = async () => {
      const host = this.host;
      const connected = this.connected;
      const endpoint = connected?.endpoint ?? (await host.find().catch(() => undefined));
      this.limiter.reset();
      this.restartRequested = host.canStart;
      this.log.info(`Restarting ${host.description}${endpoint?.pid ? ` (pid ${endpoint.pid})` : ''}`);
      if (connected) {
        try {
          await withTimeout(connected.client.request('shutdown'), SHUTDOWN_TIMEOUT_MS, this.clock, 'shutdown');
        } catch (e) {
          this.log.warn(`branchboxd did not accept shutdown (${errorText(e)}); stopping its process instead`);
        }
      }
      if (endpoint && host.canStart) await host.stop(endpoint, STOP_GRACE_MS);
    };
    this.restarting = run().finally(() => {
      // The loop waits for this before it looks for a daemon again; let it go now.
      this.restarting = undefined;
      this.backoff.reset();
      this.wake?.();
      this.start();
    });
    return this.restarting;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.transport?.close('extension deactivated');
    this.wake?.();
    this.stateEmitter.dispose();
    this.infoEmitter.dispose();
  }

  private setState(state: ConnectionState): void {
    this.current = state;
    if (!this.disposed) this.stateEmitter.fire(state);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.disposed) {
      attempt++;
      this.skipDelay = false; // a reconnect asked for from here on skips the delay after this attempt
      this.setState({ kind: 'connecting', attempt });
      let reason: string;
      try {
        if (this.restarting) await this.restarting.catch(() => undefined);
        const endpoint = await this.locate();
        if (this.disposed) break;
        reason = await this.session(endpoint, () => (attempt = 0));
      } catch (e) {
        if (this.disposed) break;
        if (e instanceof GiveUp || (e instanceof DaemonStartError && e.permanent)) {
          this.log.error(e.message);
          this.running = false;
          this.setState({ kind: 'failed', reason: e.message });
          return;
        }
        reason = errorText(e);
      }
      if (this.disposed) break;
      const delay = this.skipDelay ? 0 : this.backoff.next();
      this.skipDelay = false;
      this.log.info(`Disconnected from branchboxd: ${reason}; retrying in ${formatMs(delay)}`);
      this.setState({ kind: 'disconnected', reason, retryInMs: delay });
      await this.sleep(delay);
    }
    this.running = false;
  }

  /** The endpoint of a running daemon, starting one when none runs and that is allowed. */
  private async locate(): Promise<DaemonEndpoint> {
    const host = this.host;
    const found = await host.find();
    if (found) {
      this.seenDaemon = true;
      this.restartRequested = false;
      return found;
    }
    if (!host.canStart) {
      throw new Error(`No ${host.description} is running and auto-start is off ("branchbox.daemon.autoStart"); start it or turn auto-start on.`);
    }
    if (this.seenDaemon && !this.restartRequested) {
      if (!this.limiter.recordCrash()) throw new GiveUp(this.limiter.describeRefusal());
      this.log.warn(`branchboxd is gone; restarting it (${this.limiter.recent} of ${this.limiter.limit.maxCrashes} crashes allowed in the window)`);
    }
    this.restartRequested = false;
    this.log.info(`Starting ${host.description}`);
    const started = await host.start();
    this.seenDaemon = true;
    this.log.info(`Started branchboxd ${started.version ?? ''} (pid ${started.pid ?? '?'}) at ${started.url}`);
    return started;
  }

  /** One connection, from dial to close; resolves with why it closed. */
  private async session(endpoint: DaemonEndpoint, onConnected: () => void): Promise<string> {
    const transport = await this.dial(endpoint, this.connectTimeoutMs);
    if (this.disposed) {
      transport.close('extension deactivated');
      return 'extension deactivated';
    }
    this.transport = transport;
    let closedBecause: string | undefined;
    const client = new BranchboxClient((text) => {
      // A request on a connection that has ended fails at once instead of waiting forever.
      if (closedBecause !== undefined) throw new Error(`The connection to branchboxd closed (${closedBecause}).`);
      transport.send(text);
    });
    transport.onMessage((text) => client.receive(text));
    const closed = new Promise<string>((resolve) => transport.onClose(resolve));
    void closed.then((reason) => {
      closedBecause = reason;
      client.close(`The connection to branchboxd closed (${reason}).`);
    });

    let init: InitializeResult;
    try {
      init = await withTimeout(
        client.request('initialize', {
          clientInfo: { name: 'vscode', version: this.options.clientVersion },
          protocolVersion: PROTOCOL_VERSION,
          processId: process.pid,
        }),
        this.connectTimeoutMs,
        this.clock,
        'initialize',
      );
    } catch (e) {
      const why = e instanceof TimeoutError ? `${endpoint.url} did not answer initialize within ${formatMs(this.connectTimeoutMs)} (hung?)` : errorText(e);
      transport.terminate(why);
      this.transport = undefined;
      throw new Error(why);
    }

    const scope = new DisposableStore();
    const connected: Connected = {
      client,
      endpoint,
      serverInfo: init.serverInfo,
      protocolVersion: init.protocolVersion,
      capabilities: init.capabilities,
      scope,
      generation: ++this.generation,
    };
    this.backoff.reset();
    onConnected();
    if (init.protocolVersion.split('.')[0] !== PROTOCOL_VERSION.split('.')[0]) {
      this.log.warn(`branchboxd speaks protocol ${init.protocolVersion}, this extension ${PROTOCOL_VERSION}; some commands may fail`);
    }
    this.log.info(`Connected to branchboxd ${init.serverInfo.version} (pid ${endpoint.pid ?? '?'}) at ${endpoint.url}; Docker ${init.capabilities.docker ? 'available' : 'unavailable'}`);
    this.startHeartbeat(connected, transport, scope);
    this.setState({ kind: 'connected', connected });

    const reason = await closed;
    if (this.transport === transport) this.transport = undefined;
    scope.dispose();
    return reason;
  }

  private startHeartbeat(connected: Connected, transport: Transport, scope: DisposableStore): void {
    let timer: unknown;
    const beat = async () => {
      try {
        const info = await withTimeout(connected.client.request('system/info'), this.heartbeat.timeoutMs, this.clock, 'system/info');
        if (scope.disposed) return;
        this.infoEmitter.fire(info);
      } catch (e) {
        if (scope.disposed) return;
        if (e instanceof TimeoutError) {
          const why = `branchboxd did not answer system/info within ${formatMs(this.heartbeat.timeoutMs)}; treating it as hung`;
          this.log.warn(`${why}; reconnecting`);
          transport.terminate(why);
          return;
        }
        this.log.debug(`Heartbeat failed: ${errorText(e)}`);
      }
      if (!scope.disposed) timer = this.clock.setTimeout(() => void beat(), this.heartbeat.intervalMs);
    };
    timer = this.clock.setTimeout(() => void beat(), this.heartbeat.intervalMs);
    scope.defer(() => this.clock.clearTimeout(timer));
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.clock.clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = this.clock.setTimeout(done, ms);
      this.wake = done;
    });
  }
}

export class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new TimeoutError(`${what} timed out after ${formatMs(ms)}`)), ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (e: unknown) => {
        clock.clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** Opens a WebSocket to the daemon with its token (`Authorization: Bearer`). */
export const dialWebSocket: Dial = (endpoint, timeoutMs) =>
  new Promise<Transport>((resolve, reject) => {
    const ws = new WebSocket(endpoint.url, {
      headers: { Authorization: `Bearer ${endpoint.token}` },
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
    });
    let closeReason: string | undefined;
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      const status = res.statusCode ?? 0;
      reject(
        new Error(
          status === 401
            ? `${endpoint.url} refused the token (HTTP 401); the runtime file may be stale`
            : `${endpoint.url} refused the connection (HTTP ${status})`,
        ),
      );
    });
    ws.once('error', (e) => reject(new Error(dialFailureText(endpoint.url, e as Error & { code?: string }))));
    ws.once('open', () => {
      ws.on('error', (e) => (closeReason ??= e.message));
      resolve({
        send: (text) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(text);
        },
        onMessage: (listener) => ws.on('message', (data) => listener(data.toString())),
        onClose: (listener) =>
          ws.once('close', (code, reason) => listener(closeReason ?? closeReasonText(code, reason.toString()))),
        close: (reason) => {
          closeReason ??= reason;
          ws.close(1000, reason.slice(0, 120));
        },
        terminate: (reason) => {
          closeReason ??= reason;
          ws.terminate();
        },
      });
    });
  });
