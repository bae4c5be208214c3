/**
 * Lets clients follow the daemon log live (`log/subscribe`): the logger hands every line it
 * writes, already redacted, to the listeners registered here.
 */
import type { LogLevel } from './log';

export interface TappedLine {
  readonly t: string;
  readonly level: string;
  readonly msg: string;
  readonly fields?: Record<string, unknown>;
}

const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

export class LogTap {
  private readonly listeners = new Set<{ min: number; fn: (line: TappedLine) => void }>();

  /** Calls `fn` for every line at `level` or above; returns the function that stops it. */
  listen(level: LogLevel, fn: (line: TappedLine) => void): () => void {
    const entry = { min: RANK[level] ?? 30, fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  get active(): boolean {
    return this.listeners.size > 0;
  }

  /** Receives one formatted JSON log line (as written to the file). */
  write(jsonLine: string): void {
    if (this.listeners.size === 0) return;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(jsonLine) as Record<string, unknown>;
    } catch {
      return;
    }
    const { t, level, msg, ...fields } = parsed;
    const line: TappedLine = {
      t: String(t),
      level: String(level),
      msg: String(msg),
      ...(Object.keys(fields).length ? { fields } : {}),
    };
    const rank = RANK[line.level] ?? 30;
    for (const l of this.listeners) if (rank >= l.min) l.fn(line);
  }
}
