/** {@link EventClient} over dockerode: the engine's `/events` stream, normalized. */
import type Docker from 'dockerode';
import type { RawEngineEvent } from '../streams/engine-stream';
import { LineSplitter } from '../streams/line-splitter';
import type { Cancellable, DockerObjectType, EngineEvent, EventClient, HealthState } from '../types';
import { engineCall } from './engine-error';

const TYPES: readonly DockerObjectType[] = ['container', 'image', 'network', 'volume'];
const HEALTH: readonly HealthState[] = ['starting', 'healthy', 'unhealthy'];
/** Attributes of container and image events that are not labels. */
const NOT_LABELS = new Set(['name', 'image', 'exitCode', 'signal', 'execID']);

export class DockerodeEventClient implements EventClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
  ) {}

  async stream(opts: { since?: number } & Cancellable): Promise<AsyncIterable<EngineEvent>> {
    const response = await engineCall({ action: 'watch events', endpoint: this.endpoint }, () =>
      this.docker.getEvents({
        ...(opts.since !== undefined ? { since: opts.since / 1000 } : {}),
        filters: { type: [...TYPES] },
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      } as Docker.GetEventsOptions),
    );
    return eventsOf(response, opts.signal);
  }
}

/**
 * Splits the stream into JSON lines (a character cut between chunks stays whole) and
 * normalizes each; ends quietly when `signal` aborts.
 */
async function* eventsOf(stream: NodeJS.ReadableStream, signal: AbortSignal | undefined): AsyncGenerator<EngineEvent> {
  const splitter = new LineSplitter(16 * 1024 * 1024);
  try {
    for await (const chunk of stream) {
      for (const text of splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
        const line = text.trim();
        if (!line) continue;
        const event = normalizeEvent(JSON.parse(line) as RawEngineEvent);
        if (event) yield event;
      }
    }
  } catch (e) {
    if (signal?.aborted) return;
    throw e;
  } finally {
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

/** Branchbox's form of an engine event; undefined for kinds it does not report (plugins, daemon, swarm...). */
export function normalizeEvent(raw: RawEngineEvent): EngineEvent | undefined {
  const type = TYPES.find((t) => t === raw.Type);
  if (!type || !raw.Action || !raw.Actor?.ID) return undefined;
  const attributes = raw.Actor.Attributes ?? {};
  const colon = raw.Action.indexOf(':');
  const action = colon >= 0 ? raw.Action.slice(0, colon) : raw.Action;
  const detail = colon >= 0 ? raw.Action.slice(colon + 1).trim() : undefined;
  const health = action === 'health_status' ? HEALTH.find((h) => h === detail) : undefined;
  const exitCode = action === 'die' && attributes.exitCode !== undefined ? Number(attributes.exitCode) : undefined;
  const ms = raw.timeNano !== undefined ? Math.floor(raw.timeNano / 1e6) : (raw.time ?? 0) * 1000;
  const labels =
    type === 'container' || type === 'image'
      ? Object.fromEntries(Object.entries(attributes).filter(([k]) => !NOT_LABELS.has(k)))
      : undefined;
  return {
    type,
    action,
    id: raw.Actor.ID,
    ...(attributes.name ? { name: attributes.name } : {}),
    ...(labels ? { labels } : {}),
    time: new Date(ms).toISOString(),
    ...(health ? { health } : {}),
    ...(exitCode !== undefined && Number.isInteger(exitCode) ? { exitCode } : {}),
  };
}
