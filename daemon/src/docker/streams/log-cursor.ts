/**
 * Where a log reader got to, so a stream can resume exactly after it: the engine's log
 * timestamps (RFC 3339 with nanoseconds, `2024-05-01T10:00:00.123456789Z`) as nanoseconds,
 * Docker's `since` syntax (`<seconds>.<nanoseconds>`), and a cursor that drops the entries a
 * resumed read repeats (the engine's `since` is inclusive).
 */

/** A Docker log timestamp (or any RFC 3339 time) as nanoseconds since the epoch; undefined if not one. */
export function parseTimestampNs(text: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + fraction;
}

/** Nanoseconds as Docker's `since`/`until` query value: `<seconds>.<9 digits>`. */
export function dockerTime(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const nanos = ns % 1_000_000_000n;
  return `${seconds}.${nanos.toString().padStart(9, '0')}`;
}

/**
 * A caller's `since` (ISO 8601 / RFC 3339 text, or unix seconds, possibly fractional) as
 * Docker's query value; undefined when it is neither.
 */
export function toDockerSince(since: string | number): string | undefined {
  if (typeof since === 'number') return Number.isFinite(since) && since >= 0 ? String(since) : undefined;
  if (/^\d+(\.\d+)?$/.test(since)) return since;
  // Accept ISO text with a fraction of any length and a missing seconds part ("2024-05-01T10:00Z").
  const normalized = since.replace(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(Z|[+-]\d{2}:\d{2})$/, '$1:00$2');
  const ns = parseTimestampNs(normalized.replace(/\.(\d{9})\d+/, '.$1'));
  return ns === undefined ? undefined : dockerTime(ns);
}

/** Splits `<timestamp> <text>` as the engine writes entries when timestamps are on. */
export function splitTimestamp(entry: Buffer): { t: string; ns: bigint; rest: Buffer } | undefined {
  const space = entry.indexOf(0x20);
  // RFC 3339 with nanoseconds is 30 characters; offsets make it at most 35.
  if (space < 20 || space > 40) return undefined;
  const t = entry.toString('latin1', 0, space);
  const ns = parseTimestampNs(t);
  return ns === undefined ? undefined : { t, ns, rest: entry.subarray(space + 1) };
}

/**
 * Remembers the newest entry delivered (its timestamp, and how many entries carried exactly
 * that timestamp) so that a read resumed with `since` = that timestamp skips what was already
 * delivered and nothing else.
 */
export class LogCursor {
  private newest: bigint | undefined;
  private atNewest = 0;
  private skipBefore: bigint | undefined;
  private skipAtNewest = 0;

  /** The `since` to resume with, or undefined when nothing was delivered yet. */
  resumeSince(): string | undefined {
    return this.newest === undefined ? undefined : dockerTime(this.newest);
  }

  /** Starts a resumed read: entries up to the newest delivered one are now repeats. */
  beginResume(): void {
    this.skipBefore = this.newest;
    this.skipAtNewest = this.atNewest;
  }

  /** Whether an entry with this timestamp is new (and if so, records it as delivered). */
  accept(ns: bigint): boolean {
    if (this.skipBefore !== undefined) {
      if (ns < this.skipBefore) return false;
      if (ns === this.skipBefore && this.skipAtNewest > 0) {
        this.skipAtNewest--;
        return false;
      }
    }
    if (this.newest === undefined || ns > this.newest) {
      this.newest = ns;
      this.atNewest = 1;
    } else if (ns === this.newest) {
      this.atNewest++;
    }
    return true;
  }
}
