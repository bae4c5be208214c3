/**
 * Save to File for the Logs panel: the whole log of each source, re-read from the daemon (the
 * panel keeps only its last million lines), merged by timestamp like the panel, filtered by
 * stream, as text. No `vscode`: the host asks where to write.
 */
import type { LogRecord } from '../../../schemas/src/docker-streams';
import { timestampMs, type LogSourceRef } from '../../../schemas/src/webview';
import type { LogClient } from './log-feed';

export interface SaveOptions {
  readonly streams: { readonly stdout: boolean; readonly stderr: boolean };
  readonly timestamps: boolean;
}

/** Reads a source's whole log (not followed). */
export function readWholeLog(client: LogClient, container: string): Promise<LogRecord[]> {
  return new Promise((resolve, reject) => {
    const records: LogRecord[] = [];
    client
      .subscribe('container/logs', { id: container, follow: false, timestamps: true, tail: 'all' }, 'container/logs/data', {
        onItems: (items) => {
          for (const item of items) records.push(item);
        },
        onEnd: (end) =>
          end.reason === 'completed' ? resolve(records) : reject(new Error(end.error?.message ?? `the log of ${container} ended: ${end.reason}`)),
      })
      .catch(reject);
  });
}

/** The text of the merged logs, one line per record; `[label]` prefixes when there are several sources. */
export function formatLogs(sources: readonly LogSourceRef[], logs: readonly (readonly LogRecord[])[], options: SaveOptions): { text: string; lines: number } {
  const heads = logs.map(() => 0);
  const keys = logs.map((records) => records.map((r) => timestampMs(r.t)));
  const parts: string[] = [];
  while (true) {
    let best = -1;
    for (let s = 0; s < logs.length; s++) {
      if (heads[s]! < logs[s]!.length && (best < 0 || keys[s]![heads[s]!]! < keys[best]![heads[best]!]!)) best = s;
    }
    if (best < 0) break;
    const r = logs[best]![heads[best]!++]!;
    if (!options.streams[r.stream]) continue;
    const prefix = (sources.length > 1 ? `[${sources[best]!.label}] ` : '') + (options.timestamps && r.t ? `${r.t} ` : '');
    parts.push(prefix + r.line);
  }
  return { text: parts.length ? parts.join('\n') + '\n' : '', lines: parts.length };
}

export async function collectLogs(client: LogClient, sources: readonly LogSourceRef[], options: SaveOptions): Promise<{ text: string; lines: number }> {
  const logs = await Promise.all(sources.map((s) => readWholeLog(client, s.container)));
  return formatLogs(sources, logs, options);
}
