/**
 * Long-lived HTTP streams from the engine (logs, stats, events), opened through dockerode's
 * modem so they share its connection settings, and always as streams: dockerode would read a
 * non-followed log into one Buffer, which a large log must never be.
 */
import type { IncomingMessage } from 'node:http';
import type Docker from 'dockerode';
import { LineSplitter } from './line-splitter';

/** Query parameters of an engine request; objects are sent as JSON (Docker's `filters`). */
export type Query = Readonly<Record<string, string | number | boolean | object | undefined>>;

/**
 * GETs `path` (e.g. `/containers/<id>/logs`) and resolves with the response stream once the
 * engine has answered 200. Rejects with dockerode's error (with `statusCode`) otherwise.
 * Aborting `signal` destroys the request and the stream.
 */
export function openEngineStream(
  docker: Docker,
  path: string,
  query: Query,
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) options[key] = value;
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `${path}?`,
        method: 'GET',
        options,
        isStream: true,
        statusCodes: {
          200: true,
          400: 'bad parameter',
          404: 'no such container',
          500: 'server error',
          501: 'not implemented',
        },
        ...(signal ? { abortSignal: signal } : {}),
      },
      (err, result) => {
        if (err) return reject(err);
        const stream = result as IncomingMessage;
        if (signal) {
          if (signal.aborted) stream.destroy();
          else signal.addEventListener('abort', () => stream.destroy(), { once: true });
        }
        resolve(stream);
      },
    );
  });
}

/** Reads a stream of newline-separated JSON documents, calling `onDocument` for each. */
export function readJsonLines<T>(stream: NodeJS.ReadableStream, onDocument: (doc: T) => void): void {
  const splitter = new LineSplitter(16 * 1024 * 1024);
  stream.on('data', (chunk: Buffer) => {
    for (const line of splitter.push(chunk)) {
      if (line.trim() === '') continue;
      let doc: T;
      try {
        doc = JSON.parse(line) as T;
      } catch {
        continue; // Not JSON: the engine never writes this; skip rather than kill the stream.
      }
      onDocument(doc);
    }
  });
}

/** A Docker event as the engine writes it (API 1.41). */
export interface RawEngineEvent {
  readonly Type?: string;
  readonly Action?: string;
  readonly Actor?: { readonly ID?: string; readonly Attributes?: Readonly<Record<string, string>> };
  readonly time?: number;
  readonly timeNano?: number;
}

/** Filters of the engine's `/events` endpoint. */
export type EventFilters = Readonly<Record<string, readonly string[]>>;

/**
 * A watch on the engine's events: `onEvent` for each event matching `filters`, `onEnd` once
 * when the stream ends (with the error, if it failed). Resolves once the engine has
 * registered the watch, so no event after that point is missed.
 */
export async function watchEngineEvents(
  docker: Docker,
  filters: EventFilters,
  handlers: { onEvent(event: RawEngineEvent): void; onEnd(error?: Error): void },
  signal: AbortSignal,
): Promise<void> {
  const stream = await openEngineStream(docker, '/events', { filters }, signal);
  let ended = false;
  const end = (error?: Error) => {
    if (ended) return;
    ended = true;
    handlers.onEnd(signal.aborted ? undefined : error);
  };
  readJsonLines<RawEngineEvent>(stream, (event) => {
    if (!ended) handlers.onEvent(event);
  });
  stream.on('end', () => end());
  stream.on('close', () => end());
  stream.on('error', (e) => end(e));
}
