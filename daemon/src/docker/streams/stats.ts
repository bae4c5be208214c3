/**
 * Live container stats and their history. One engine stats stream per container, shared by
 * everyone who wants that container (reference-counted) and feeding a fixed-size ring of
 * history. A container is collected while someone subscribes to it, or while the daemon
 * tracks it (`track`/`untrack`, for Branchbox-managed containers, so history exists when a
 * stats panel opens); once neither holds, its stream closes and its history is released.
 *
 * The engine's stream outlives restarts of the container (it sends empty documents while the
 * container is stopped, which are skipped) and ends when the container is removed. Given an
 * {@link EngineRecovery}, streams and sandbox watches also outlive the engine going away: they
 * wait until it answers again and reopen, and the history carries on.
 */
import type Docker from 'dockerode';
import type { StatsSample } from '../../../../schemas/src/docker-streams';
import { engineError } from '../dockerode/engine-error';
import type { RpcError } from '../../rpc/errors';
import type { EngineRecovery } from '../engine';
import { LABELS } from '../labels';
import { openEngineStream, readJsonLines, watchEngineEvents } from './engine-stream';
import { DEFAULT_HISTORY_SAMPLES, StatsHistory, sumBySecond } from './stats-history';
import { memoryPercent, toPoint, type IoCounters, type RawStats, type StatsPoint } from './stats-math';

export type { StatsSample } from '../../../../schemas/src/docker-streams';

/** Who receives a container's samples. */
export interface StatsListener {
  sample(sample: StatsSample): void;
  /** No more samples: the container was removed (no error) or the engine failed. */
  end(error?: RpcError): void;
}

/** An open subscription; `close` is idempotent. */
export interface StatsSubscription {
  /** The full container id (for a container subscription). */
  readonly id?: string;
  close(): void;
}

/** What `history` reads: one container, or the sum of a sandbox's containers. */
export type StatsTarget = { readonly id: string } | { readonly sandbox: string };

/** Tuning of a {@link StatsCollector}. */
export interface StatsCollectorOptions {
  /** Samples kept per container (default 3600: an hour at one a second). */
  readonly historySamples?: number;
  /** How streams wait for the engine to come back after it went away (without: they end with the error). */
  readonly recovery?: EngineRecovery;
}

/**
 * The daemon's one source of container stats: shared engine streams, history per container,
 * sums per sandbox (see the file comment). Create one per daemon; `close` it on shutdown.
 */
export class StatsCollector {
  private readonly feeds = new Map<string, ContainerFeed>();
  private readonly sandboxWatches = new Set<StatsSubscription>();
  private closed = false;

  constructor(
    private readonly docker: () => Docker,
    private readonly opts: StatsCollectorOptions = {},
  ) {}

  /** Containers being collected right now (full ids). */
  get collecting(): readonly string[] {
    return [...this.feeds.keys()];
  }

  /**
   * Delivers the container's samples to `listener` from now on. Throws `ContainerNotFound`
   * for an unknown id or name, `DockerUnavailable` when the engine does not answer.
   */
  async subscribe(ref: string, listener: StatsListener): Promise<StatsSubscription> {
    const feed = await this.feedFor(ref);
    feed.listeners.add(listener);
    let open = true;
    return {
      id: feed.id,
      close: () => {
        if (!open) return;
        open = false;
        feed.listeners.delete(listener);
        this.release(feed);
      },
    };
  }

  /**
   * Delivers the samples of every running container labelled `branchbox.sandbox=<name>`,
   * including containers that start later (each sample names its container).
   */
  async subscribeSandbox(name: string, listener: StatsListener): Promise<StatsSubscription> {
    const controller = new AbortController();
    const members = new Map<string, StatsSubscription | undefined>();
    let open = true;
    const subscription: StatsSubscription = {
      close: () => {
        if (!open) return;
        open = false;
        controller.abort();
        this.sandboxWatches.delete(subscription);
        for (const member of members.values()) member?.close();
        members.clear();
      },
    };
    const fail = (error: RpcError) => {
      if (!open) return;
      subscription.close();
      listener.end(error);
    };
    const join = async (id: string) => {
      if (!open || members.has(id)) return;
      members.set(id, undefined);
      try {
        const member = await this.subscribe(id, {
          sample: (s) => listener.sample(s),
          end: (error) => {
            members.delete(id);
            if (error) fail(error);
          },
        });
        if (open && members.has(id)) members.set(id, member);
        else member.close();
      } catch {
        members.delete(id); // Gone again before it could be watched: nothing to report.
      }
    };
    const label = `${LABELS.sandbox}=${name}`;
    const recovery = this.opts.recovery;
    const watch = async () => {
      const docker = this.docker();
      // Watch before listing, so a container starting in between is not missed.
      await watchEngineEvents(
        docker,
        { type: ['container'], event: ['start'], label: [label] },
        {
          onEvent: (e) => void (e.Actor?.ID ? join(e.Actor.ID) : undefined),
          onEnd: (cause) => {
            if (!open) return;
            const error = engineError(cause ?? new Error('the engine closed the event stream'), {
              action: 'watch sandbox',
              ref: name,
            });
            if (!recovery || error.errorName !== 'DockerUnavailable') return fail(error);
            // The engine went away: watch again once it answers (members' feeds recover on their own).
            void recovery.recovered(controller.signal).then(async (back) => {
              if (back && open)
                await watch().catch((e: unknown) => fail(engineError(e, { action: 'watch sandbox', ref: name })));
            });
          },
        },
        controller.signal,
      );
      const running = await docker.listContainers({ filters: { label: [label] } });
      await Promise.all(running.map((c) => join(c.Id)));
    };
    try {
      await watch();
    } catch (e) {
      subscription.close();
      throw engineError(e, { action: 'collect stats of sandbox', ref: name });
    }
    this.sandboxWatches.add(subscription);
    return subscription;
  }

  /**
   * Collects the container whether or not anyone subscribes, until `untrack` (or until it is
   * removed). Resolves with the full container id. Tracking twice is the same as once.
   */
  async track(ref: string): Promise<string> {
    const feed = await this.feedFor(ref);
    feed.tracked = true;
    return feed.id;
  }

  /** Stops collecting a tracked container unless someone subscribes to it. Unknown ids are ignored. */
  untrack(ref: string): void {
    const feed = this.lookup(ref);
    if (!feed) return;
    feed.tracked = false;
    this.release(feed);
  }

  /**
   * Samples kept for a container, or summed second by second over the collected containers
   * of a sandbox, at or after `sinceMs`, oldest first. A container that exists but is not
   * collected has none; an unknown one throws `ContainerNotFound`.
   */
  async history(target: StatsTarget, sinceMs?: number): Promise<StatsSample[]> {
    if ('sandbox' in target) {
      const series = [...this.feeds.values()]
        .filter((f) => f.sandbox === target.sandbox)
        .map((f) => f.history.since(sinceMs));
      return sumBySecond(series).map((p) => ({ ...toSample(target.sandbox, p), containers: p.containers }));
    }
    let feed = this.lookup(target.id);
    if (!feed) {
      // A name (or a prefix) is the engine's to resolve: containers are renamed (a deployment
      // renames its new container into place), so a name seen when collection began may be stale.
      let id: string;
      try {
        id = (await this.docker().getContainer(target.id).inspect()).Id;
      } catch (e) {
        throw engineError(e, { action: 'read stats history of', kind: 'container', ref: target.id });
      }
      feed = this.feeds.get(id);
    }
    const found = feed;
    return found ? found.history.since(sinceMs).map((p) => toSample(found.id, p)) : [];
  }

  /** Stops every stream and drops all history (the daemon is stopping). */
  close(): void {
    this.closed = true;
    for (const watch of [...this.sandboxWatches]) watch.close();
    for (const feed of this.feeds.values()) feed.stop();
    this.feeds.clear();
  }

  /** The feed of a container, started if need be. */
  private async feedFor(ref: string): Promise<ContainerFeed> {
    if (this.closed) throw new Error('the stats collector is closed');
    const known = this.lookup(ref);
    if (known) return known;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker().getContainer(ref).inspect();
    } catch (e) {
      throw engineError(e, { action: 'collect stats of', kind: 'container', ref });
    }
    // Another caller may have started it while this one looked.
    const raced = this.feeds.get(info.Id);
    if (raced) return raced;
    const feed = new ContainerFeed(
      info.Id,
      info.Name.replace(/^\//, ''),
      info.Config.Labels?.[LABELS.sandbox],
      new StatsHistory(this.opts.historySamples ?? DEFAULT_HISTORY_SAMPLES),
      this.docker,
      (gone, error) => this.onGone(gone, error),
      this.opts.recovery,
    );
    this.feeds.set(feed.id, feed);
    feed.start();
    return feed;
  }

  /**
   * A collected container by its full id. Names and id prefixes are resolved by the engine
   * (`inspect`), which knows the current names: a name remembered here could be stale.
   */
  private lookup(ref: string): ContainerFeed | undefined {
    return this.feeds.get(ref);
  }

  private release(feed: ContainerFeed): void {
    if (feed.wanted || this.feeds.get(feed.id) !== feed) return;
    feed.stop();
    this.feeds.delete(feed.id);
  }

  private onGone(feed: ContainerFeed, error: RpcError | undefined): void {
    if (this.feeds.get(feed.id) === feed) this.feeds.delete(feed.id);
    for (const listener of [...feed.listeners]) listener.end(error);
    feed.listeners.clear();
  }
}

/** The protocol form of a sample. */
function toSample(id: string, p: StatsPoint): StatsSample {
  return {
    id,
    t: new Date(p.t).toISOString(),
    cpuPercent: p.cpuPercent,
    memoryUsed: p.memoryUsed,
    memoryLimit: p.memoryLimit,
    memoryPercent: memoryPercent(p.memoryUsed, p.memoryLimit),
    netRxRate: p.netRxRate,
    netTxRate: p.netTxRate,
    blockReadRate: p.blockReadRate,
    blockWriteRate: p.blockWriteRate,
  };
}

/** One container's engine stats stream, its history and who listens. */
class ContainerFeed {
  readonly listeners = new Set<StatsListener>();
  tracked = false;
  private controller: AbortController | undefined;
  private previous: IoCounters | undefined;
  /** Documents received since the stream was last (re)opened. */
  private received = 0;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly sandbox: string | undefined,
    readonly history: StatsHistory,
    private readonly docker: () => Docker,
    private readonly onGone: (feed: ContainerFeed, error: RpcError | undefined) => void,
    private readonly recovery: EngineRecovery | undefined,
  ) {}

  get wanted(): boolean {
    return this.tracked || this.listeners.size > 0;
  }

  start(): void {
    const controller = new AbortController();
    this.controller = controller;
    this.received = 0;
    this.previous = undefined;
    void this.read(controller.signal);
  }

  stop(): void {
    this.controller?.abort();
    this.controller = undefined;
  }

  private async read(signal: AbortSignal): Promise<void> {
    let failure: unknown;
    try {
      const stream = await openEngineStream(
        this.docker(),
        `/containers/${encodeURIComponent(this.id)}/stats`,
        { stream: true },
        signal,
      );
      readJsonLines<RawStats>(stream, (doc) => this.onDocument(doc));
      failure = await new Promise<unknown>((resolve) => {
        stream.once('end', () => resolve(undefined));
        stream.once('close', () => resolve(undefined));
        stream.once('error', (e) => resolve(e));
      });
    } catch (e) {
      failure = e;
    }
    if (signal.aborted) return;
    await this.ended(failure, signal);
  }

  private onDocument(doc: RawStats): void {
    this.received++;
    const result = toPoint(doc, this.previous);
    this.previous = result?.counters;
    if (!result?.point) return;
    this.history.push(result.point);
    const sample = toSample(this.id, result.point);
    for (const listener of this.listeners) listener.sample(sample);
  }

  /** The stream ended on its own: the container was removed, the engine went away, or a hiccup. */
  private async ended(failure: unknown, signal: AbortSignal): Promise<void> {
    let state: string;
    try {
      state = (await this.docker().getContainer(this.id).inspect()).State.Status;
    } catch (e) {
      if (signal.aborted) return;
      const error = engineError(e, { action: 'collect stats of', kind: 'container', ref: this.id });
      if (error.errorName === 'DockerUnavailable' && this.recovery) {
        // The engine went away: reopen once it answers (a reopened stream that fails comes back here).
        if ((await this.recovery.recovered(signal)) && !signal.aborted) this.start();
        return;
      }
      this.onGone(this, error.errorName === 'ContainerNotFound' ? undefined : error);
      return;
    }
    if (signal.aborted) return;
    // The engine ends the stream as it removes the container (a new stream would then hang).
    if (state === 'removing' || state === 'dead') {
      this.onGone(this, undefined);
      return;
    }
    // Still there: reopen, unless the stream gave nothing since it was last opened (then it would loop).
    if (this.received > 0) {
      this.start();
      return;
    }
    this.onGone(
      this,
      engineError(failure ?? new Error('the engine ended the stats stream at once'), {
        action: 'collect stats of',
        kind: 'container',
        ref: this.id,
      }),
    );
  }
}
