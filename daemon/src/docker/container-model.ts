/**
 * The daemon's live picture of every container, so `container/list` never has to ask Docker.
 * It is built from a full list each time the engine (re)connects — then `resync` is emitted —
 * and kept current by the engine's one event stream: each container event refreshes that one
 * container (a `destroy` removes it). Every event is re-emitted, normalized, for subscribers;
 * container events carry the container as it is after the change.
 */
import { RpcError, isRpcError } from '../rpc/errors';
import { nullLogger, type Logger } from '../runtime/log';
import { describeStatus } from '../../../schemas/src/container-status';
import type { DockerEngine } from './engine';
import { matchesLabels } from './labels';
import { TypedEmitter } from './typed-emitter';
import type { ContainerState, ContainerSummary, DockerEvent, EngineEvent } from './types';

/** Which containers `list` answers with. */
export interface ContainerFilter {
  /** Include containers that are not running (implied by `state` and `sandbox`). */
  readonly all?: boolean;
  /** Every one must match: `key` or `key=value`. */
  readonly label?: readonly string[];
  /** Any one must match. */
  readonly state?: readonly ContainerState[];
  /** The `branchbox.sandbox` label. */
  readonly sandbox?: string;
}

export interface ContainerModelEvents {
  /** An engine event, normalized; container events carry the refreshed container. */
  event: [DockerEvent];
  /** The model was rebuilt from a full list (after a (re)connect): anything derived from it should be refetched. */
  resync: [reason: string];
}

export interface ContainerModelOptions {
  readonly log?: Logger;
  /** The clock `status` texts are computed against. */
  readonly now?: () => number;
  /** How many containers are inspected at once while resyncing. */
  readonly concurrency?: number;
}

/** Actions after which a container's state may differ; others (exec_*, attach, resize...) leave it as is. */
const REFRESHING_ACTIONS = new Set([
  'create',
  'start',
  'restart',
  'stop',
  'die',
  'pause',
  'unpause',
  'oom',
  'health_status',
  'rename',
  'update',
]);

export class ContainerModel extends TypedEmitter<ContainerModelEvents> {
  private containers = new Map<string, ContainerSummary>();
  private synced = false;
  private sync: Promise<void> | undefined;
  /** Events that arrived while a resync was listing; applied once it is done. */
  private backlog: EngineEvent[] | undefined;
  /** Per container, the tail of its event processing, so its events apply in order. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Bumped on every (dis)connect; work of an older generation is discarded. */
  private generation = 0;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly engine: DockerEngine,
    opts: ContainerModelOptions = {},
  ) {
    const log = opts.log ?? nullLogger;
    super((event, e) => log.error('Container model listener failed', { event, error: String(e) }));
    this.log = log;
    this.now = opts.now ?? Date.now;
    this.concurrency = opts.concurrency ?? 8;
    this.unsubscribe = [
      engine.on('connected', (c) => void this.resync(`Connected to the Docker engine at ${c.endpoint}`)),
      engine.on('disconnected', () => this.invalidate()),
      engine.on('event', (e) => this.receive(e)),
    ];
    if (engine.status().available) void this.resync('The container model started');
  }

  /** Stops following the engine. */
  close(): void {
    for (const off of this.unsubscribe) off();
    this.invalidate();
  }

  /**
   * The containers matching `filter`, newest first, with `status` as of now. Waits for a
   * resync in progress; throws `DockerUnavailable` when there is no engine.
   */
  async list(filter: ContainerFilter = {}): Promise<ContainerSummary[]> {
    await this.ready();
    const now = this.now();
    const all = filter.all || (filter.state?.length ?? 0) > 0 || filter.sandbox !== undefined;
    const out: ContainerSummary[] = [];
    for (const c of this.containers.values()) {
      if (!all && c.state !== 'running') continue;
      if (filter.state?.length && !filter.state.includes(c.state)) continue;
      if (filter.sandbox !== undefined && c.sandbox !== filter.sandbox) continue;
      if (!matchesLabels(c.labels, filter.label)) continue;
      out.push(c.startedAt ? { ...c, status: describeStatus(c, now) } : c);
    }
    return out.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : a.name.localeCompare(b.name)));
  }

  private async ready(): Promise<void> {
    if (this.synced) return;
    this.engine.client(); // throws DockerUnavailable with the reason when there is no engine
    if (this.sync) await this.sync;
    if (!this.synced)
      throw new RpcError(
        'DockerUnavailable',
        this.engine.status().reason ?? 'The container list is being rebuilt; try again.',
      );
  }

  private invalidate(): void {
    this.generation++;
    this.synced = false;
    this.backlog = undefined;
  }

  /** Rebuilds the model from a full list, then applies the events that arrived meanwhile. */
  private resync(reason: string): Promise<void> {
    this.invalidate();
    const generation = this.generation;
    this.backlog = [];
    const run = this.rebuild(generation).then(
      () => {
        if (generation !== this.generation) return;
        const backlog = this.backlog ?? [];
        this.backlog = undefined;
        this.synced = true;
        this.log.debug('Container model in sync', {
          containers: this.containers.size,
          reason,
          backlog: backlog.length,
        });
        this.emit('resync', reason);
        for (const event of backlog) this.receive(event);
      },
      (e: unknown) => {
        if (generation !== this.generation) return;
        const why = e instanceof Error ? e.message : String(e);
        this.log.warn('Could not list the containers of the Docker engine', { reason: why });
        this.engine.reportLost(`listing its containers failed (${why})`);
      },
    );
    const tracked: Promise<void> = run.finally(() => {
      if (this.sync === tracked) this.sync = undefined;
    });
    this.sync = tracked;
    return tracked;
  }

  private async rebuild(generation: number): Promise<void> {
    const client = this.engine.client();
    const listed = await client.containers.list({ all: true });
    const fresh = new Map<string, ContainerSummary>();
    let next = 0;
    const worker = async () => {
      while (next < listed.length && generation === this.generation) {
        const entry = listed[next++]!;
        const summary = await client.containers.summary(entry.id).catch((e: unknown) => {
          if (isRpcError(e) && e.errorName === 'ContainerNotFound') return undefined; // removed meanwhile
          throw e;
        });
        if (summary) fresh.set(summary.id, summary);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, listed.length) }, worker));
    if (generation === this.generation) this.containers = fresh;
  }

  private receive(event: EngineEvent): void {
    if (this.backlog) {
      this.backlog.push(event);
      return;
    }
    if (!this.synced) return;
    if (event.type !== 'container') {
      this.emit('event', event);
      return;
    }
    const generation = this.generation;
    const previous = this.chains.get(event.id) ?? Promise.resolve();
    const current = previous.then(() => this.apply(event, generation));
    this.chains.set(event.id, current);
    void current.finally(() => {
      if (this.chains.get(event.id) === current) this.chains.delete(event.id);
    });
  }

  /** Brings one container up to date after `event`, then re-emits the event with it. */
  private async apply(event: EngineEvent, generation: number): Promise<void> {
    if (generation !== this.generation) return;
    if (event.action === 'destroy') {
      const gone = this.containers.get(event.id);
      this.containers.delete(event.id);
      this.emit('event', { ...event, ...(gone ? { labels: gone.labels, name: gone.name } : {}) });
      return;
    }
    if (!REFRESHING_ACTIONS.has(event.action)) {
      const known = this.containers.get(event.id);
      this.emit('event', known ? { ...event, container: known } : event);
      return;
    }
    let summary: ContainerSummary | undefined;
    try {
      summary = await this.engine.client().containers.summary(event.id);
    } catch (e) {
      if (!(isRpcError(e) && e.errorName === 'ContainerNotFound')) {
        this.log.debug('Could not refresh a container after an event', {
          id: event.id,
          action: event.action,
          error: String(e),
        });
        return; // the engine is going away; the resync after reconnecting repairs the model
      }
    }
    if (generation !== this.generation) return;
    if (summary) this.containers.set(summary.id, summary);
    else this.containers.delete(event.id); // removed before we could look
    this.emit('event', summary ? { ...event, container: summary } : event);
  }
}
