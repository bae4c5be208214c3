/**
 * Container logs as a stream of records `{stream, line, t?}` delivered to a sink that can ask
 * for a pause (backpressure reaches the engine: while the sink is full the HTTP stream is not
 * read). A followed stream survives restarts of the container: when the engine ends it because
 * the container stopped, it waits for the container's next `start` event and resumes right
 * after the last entry delivered (timestamps are always requested internally to know where
 * that was), until the container is destroyed or the stream is cancelled. Given an
 * {@link EngineRecovery}, it survives the engine going away the same way: it waits until the
 * engine answers again, watches the container again and reads on after the last entry delivered.
 *
 * Given the daemon's {@link Redactor}, every line is masked before it is delivered. Lines are
 * masked whole, after the decoder has joined what the engine cut into several entries (a line
 * printed in several writes, a line longer than the engine's 16 KiB entries — for a TTY
 * container, with the timestamps the engine puts between them taken out: tty-entries.ts), so a
 * secret cut by the engine is masked too; a secret with line breaks is masked line by line.
 */
import type Docker from 'dockerode';
import { engineError } from '../dockerode/engine-error';
import { RpcError } from '../../rpc/errors';
import type { Redactor } from '../../runtime/redactor';
import type { EngineRecovery } from '../engine';
import { openEngineStream, watchEngineEvents, type RawEngineEvent } from './engine-stream';
import { LogCursor, parseTimestampNs, dockerTime, toDockerSince } from './log-cursor';
import { LogDecoder, LogStreamError, type LogRecord } from './log-decoder';
import { TtyEntryJoiner } from './tty-entries';

export type { LogRecord } from './log-decoder';

/** What part of the log to read, and how. */
export interface LogOptions {
  /** Lines from the end of the log to start with: a count, or 'all' (the default). */
  readonly tail?: number | 'all';
  /** Only entries at or after this time: RFC 3339 text or unix seconds. */
  readonly since?: string | number;
  /** Keep streaming new lines (and across restarts) until cancelled or the container is destroyed. */
  readonly follow?: boolean;
  /** Put each line's engine timestamp in `t`. */
  readonly timestamps?: boolean;
}

/** Where records go. `push` returning false means "slow down": wait for `waitForDrain()`. */
export interface RecordSink<T> {
  push(item: T): boolean;
  waitForDrain(): Promise<void>;
}

/** How a log stream ended: the log was read to its end, the container was removed, or cancel. */
export type LogStreamEnd = 'completed' | 'removed' | 'cancelled';

/** Opens log streams of containers through the engine. */
export class ContainerLogs {
  /** `recovery`: when given, a followed stream outlives the engine going away (see {@link ContainerLogStream.run}). */
  constructor(
    private readonly docker: () => Docker,
    private readonly recovery?: EngineRecovery,
    private readonly redactor?: Redactor,
  ) {}

  /**
   * Checks the container and prepares its log stream; nothing is read until `run`.
   * Throws `ContainerNotFound`, `InvalidParams` (a `since` that is not a time), `DockerUnavailable`.
   */
  async open(id: string, options: LogOptions = {}): Promise<ContainerLogStream> {
    const since = options.since === undefined ? undefined : toDockerSince(options.since);
    if (options.since !== undefined && since === undefined) throw invalidSince(options.since);
    const docker = this.docker();
    const target = { action: 'read logs of', kind: 'container', ref: id } as const;
    let watch: RestartWatch | undefined;
    try {
      // Watch before looking, so a restart between the look and the first read is not missed.
      if (options.follow) watch = await RestartWatch.start(docker, id);
      const info = await docker.getContainer(id).inspect();
      return new ContainerLogStream(this.docker, info.Id, info.Config.Tty, { ...options, since }, watch, this.recovery, this.redactor);
    } catch (e) {
      watch?.close();
      throw engineError(e, target);
    }
  }
}

/** The `InvalidParams` error for a `since` that is neither RFC 3339 text nor unix seconds. */
export function invalidSince(since: string | number): RpcError {
  return new RpcError(
    'InvalidParams',
    `"since" must be an RFC 3339 time or unix seconds, not ${JSON.stringify(since)}`,
    {
      violations: [{ path: '/since', message: 'must be an RFC 3339 time or unix seconds' }],
    },
  );
}

/** Engine recoveries in a row that did not get as far as a log read before a followed stream gives up. */
const MAX_FRUITLESS_RECOVERIES = 5;

/** One container's log, ready to be read once into a sink. */
export class ContainerLogStream {
  private readonly cursor = new LogCursor();
  private started = false;

  constructor(
    private readonly docker: () => Docker,
    /** The full container id. */
    readonly containerId: string,
    private tty: boolean,
    private readonly options: Omit<LogOptions, 'since'> & { readonly since?: string },
    private watch: RestartWatch | undefined,
    private readonly recovery: EngineRecovery | undefined,
    private readonly redactor?: Redactor,
  ) {}

  /**
   * Reads the log into `sink` until it ends (or, when following, until the container is
   * destroyed or `signal` aborts). Throws an RpcError when the engine fails — except, when
   * following with a `recovery`, for the engine going away: the stream then waits for it to
   * answer again and resumes right after the last entry delivered.
   */
  async run(sink: RecordSink<LogRecord>, signal: AbortSignal): Promise<LogStreamEnd> {
    if (this.started) throw new Error('a log stream runs once');
    this.started = true;
    const onAbort = () => this.watch?.close();
    signal.addEventListener('abort', onAbort, { once: true });
    let at: { since?: string; tail: number | 'all' } = { since: this.options.since, tail: this.options.tail ?? 'all' };
    let resume: 'restart' | 'engine' | undefined;
    let fruitless = 0;
    try {
      for (;;) {
        try {
          if (resume) {
            this.watch ??= await RestartWatch.start(this.docker(), this.containerId);
            const next = await this.resumePoint(resume, at);
            if (!next) return 'removed';
            at = next;
          }
          await this.readOnce(at, sink, signal, () => (fruitless = 0));
          if (signal.aborted) return 'cancelled';
          if (!this.watch) return 'completed';
          const next = await this.watch.next(this.containerId, signal);
          if (next !== 'start') return next === 'destroy' ? 'removed' : 'cancelled';
          resume = 'restart';
        } catch (e) {
          if (signal.aborted) return 'cancelled';
          const error = this.asRpcError(e);
          if (!this.options.follow || !this.recovery || error.errorName !== 'DockerUnavailable') throw error;
          if (++fruitless > MAX_FRUITLESS_RECOVERIES) throw error;
          // The engine went away: wait for it, watch again, then read on from where delivery stopped.
          this.watch?.close();
          this.watch = undefined;
          if (!(await this.recovery.recovered(signal))) return 'cancelled';
          resume = 'engine';
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.watch?.close();
    }
  }

  /**
   * Where to read on after the container restarted or the engine came back: right after the
   * last entry delivered; if none was, after the previous run ended (restart) or where the
   * stream began (engine). Undefined when the container is gone.
   */
  private async resumePoint(
    why: 'restart' | 'engine',
    at: { since?: string; tail: number | 'all' },
  ): Promise<{ since?: string; tail: number | 'all' } | undefined> {
    const info = await this.docker()
      .getContainer(this.containerId)
      .inspect()
      .catch((e: unknown) => {
        if ((e as { statusCode?: number }).statusCode === 404) return undefined;
        throw e;
      });
    if (!info) return undefined;
    this.tty = info.Config.Tty;
    this.cursor.beginResume();
    const finished = parseTimestampNs(info.State.FinishedAt.replace(/^(.*?)(\.\d{9})\d*/, '$1$2'));
    const previousEnd = why === 'restart' && finished !== undefined && finished > 0n ? dockerTime(finished) : undefined;
    const since = this.cursor.resumeSince() ?? previousEnd;
    return since === undefined ? at : { since, tail: 'all' };
  }

  private asRpcError(e: unknown): RpcError {
    if (e instanceof LogStreamError)
      return new RpcError('DockerError', `Cannot read logs of container "${this.containerId}": ${e.message}`);
    return engineError(e, { action: 'read logs of', kind: 'container', ref: this.containerId });
  }

  /** The records with every secret in their lines masked. */
  private masked(records: LogRecord[]): LogRecord[] {
    const redactor = this.redactor;
    if (!redactor || redactor.secrets.empty) return records;
    return records.map((r) => {
      const line = redactor.redactText(r.line);
      return line === r.line ? r : { ...r, line };
    });
  }

  /** Releases what `open` set up, for a stream that will never run. */
  close(): void {
    this.watch?.close();
  }

  /** One request to the engine, read to its end. */
  private async readOnce(
    at: { since?: string; tail: number | 'all' },
    sink: RecordSink<LogRecord>,
    signal: AbortSignal,
    onOpen: () => void,
  ): Promise<void> {
    const follow = this.options.follow ?? false;
    const keepTimestamps = this.options.timestamps ?? false;
    // Following needs timestamps to resume after a restart without repeating lines.
    const timestamped = follow || keepTimestamps;
    const stream = await openEngineStream(
      this.docker(),
      `/containers/${encodeURIComponent(this.containerId)}/logs`,
      { stdout: true, stderr: true, follow, timestamps: timestamped, since: at.since, tail: at.tail },
      signal,
    );
    onOpen();
    const decoder = new LogDecoder({ tty: this.tty, timestamped, keepTimestamps, cursor: this.cursor });
    // Raw (TTY) and stamped: the engine stamps each 16 KiB piece of a long line; keep lines whole.
    const joiner = this.tty && timestamped ? new TtyEntryJoiner() : undefined;
    try {
      for await (const chunk of stream) {
        const bytes = joiner ? joiner.push(chunk as Buffer) : (chunk as Buffer);
        if (!(await deliver(this.masked(decoder.push(bytes)), sink, signal))) return;
      }
      const held = joiner ? decoder.push(joiner.end()) : [];
      await deliver(this.masked([...held, ...decoder.end()]), sink, signal);
    } finally {
      stream.destroy();
    }
  }
}

/** Pushes records, waiting whenever the sink asks to; false once `signal` aborted. */
async function deliver(
  records: readonly LogRecord[],
  sink: RecordSink<LogRecord>,
  signal: AbortSignal,
): Promise<boolean> {
  for (const record of records) {
    if (signal.aborted) return false;
    if (!sink.push(record)) await untilAborted(sink.waitForDrain(), signal);
  }
  return !signal.aborted;
}

/** Resolves when `promise` does or `signal` aborts, whichever comes first. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * The container's `start` and `destroy` events, watched for the whole life of a followed
 * stream. Several starts while the stream was busy count as one: the resumed read covers
 * everything since the last entry delivered anyway.
 */
class RestartWatch {
  private readonly controller = new AbortController();
  /** Ids of containers the filter matched that started / were destroyed since last asked. */
  private readonly started = new Set<string>();
  private readonly destroyed = new Set<string>();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private constructor() {}

  /**
   * Watches the container named `ref`. The engine matches its `container` filter by prefix
   * of id and name, so events are kept by id and `next` takes only the container's own.
   */
  static async start(docker: Docker, ref: string): Promise<RestartWatch> {
    const watch = new RestartWatch();
    await watchEngineEvents(
      docker,
      { type: ['container'], container: [ref], event: ['start', 'destroy'] },
      { onEvent: (e) => watch.onEvent(e), onEnd: (error) => watch.onEnd(error) },
      watch.controller.signal,
    );
    return watch;
  }

  /** The next thing that happened to container `id` (full id), waiting for it if need be. */
  async next(id: string, signal: AbortSignal): Promise<'start' | 'destroy' | 'cancelled'> {
    for (;;) {
      if (signal.aborted) return 'cancelled';
      if (this.destroyed.has(id)) return 'destroy';
      if (this.started.delete(id)) return 'start';
      if (this.failure) throw this.failure;
      await untilAborted(new Promise<void>((resolve) => (this.wake = resolve)), signal);
      this.wake = undefined;
    }
  }

  close(): void {
    this.controller.abort();
    this.wake?.();
  }

  private onEvent(event: RawEngineEvent): void {
    const id = event.Actor?.ID;
    if (!id) return;
    if (event.Action === 'start') this.started.add(id);
    else if (event.Action === 'destroy') this.destroyed.add(id);
    this.wake?.();
  }

  private onEnd(error: Error | undefined): void {
    if (this.controller.signal.aborted) return;
    this.failure = error ?? Object.assign(new Error('the engine closed the event stream'), { code: 'ECONNRESET' });
    this.wake?.();
  }
}
