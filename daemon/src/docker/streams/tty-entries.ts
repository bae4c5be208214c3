/**
 * The raw log of a TTY container read with timestamps, with the timestamps the engine puts in
 * the middle of long lines taken out.
 *
 * The engine stores output as entries of at most {@link ENGINE_ENTRY_BYTES} bytes: a longer
 * line becomes several entries. Read raw (TTY) with timestamps, every entry starts with its
 * own `<RFC 3339> ` — also the ones that continue a line — so a line longer than 16 KiB would
 * arrive with a timestamp inside it, cutting the text there (a secret cut so would escape the
 * Redactor). This keeps the first timestamp of each line and drops those of continuation
 * entries, so what follows sees each line whole, once stamped.
 */
import { parseTimestampNs } from './log-cursor';

/** The engine's entry size: a line longer than this is stored (and stamped) in several entries. */
export const ENGINE_ENTRY_BYTES = 16 * 1024;
/** A timestamp is shorter than this; a longer first word is not one, and the stream is passed on as it is. */
const MAX_STAMP_BYTES = 64;
const SPACE = 0x20;
const NEWLINE = 0x0a;

/** Bytes in, the same bytes out without continuation timestamps (see the file comment). */
export class TtyEntryJoiner {
  /** Bytes of the timestamp being read at the start of an entry (null while in an entry's text). */
  private stamp: Buffer[] | null = [];
  private stampBytes = 0;
  /** Text bytes of the current entry so far. */
  private entryBytes = 0;
  /** The entry being started continues a line the previous (full-size) entry began. */
  private continuation = false;
  /** Not a stamped stream after all: everything passes as it is. */
  private passThrough = false;

  push(chunk: Buffer): Buffer {
    if (this.passThrough) return chunk;
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.stamp) {
        const space = chunk.indexOf(SPACE, at);
        const end = space < 0 ? chunk.length : space + 1;
        this.stamp.push(chunk.subarray(at, end));
        this.stampBytes += end - at;
        at = end;
        if (space < 0 && this.stampBytes < MAX_STAMP_BYTES) break;
        const stamp = Buffer.concat(this.stamp);
        this.stamp = null;
        this.entryBytes = 0;
        if (space < 0 || parseTimestampNs(stamp.toString('latin1', 0, stamp.length - 1)) === undefined) {
          this.passThrough = true;
          out.push(stamp, chunk.subarray(at));
          break;
        }
        if (!this.continuation) out.push(stamp);
        continue;
      }
      const room = ENGINE_ENTRY_BYTES - this.entryBytes;
      const newline = chunk.indexOf(NEWLINE, at);
      if (newline >= 0 && newline - at < room) {
        out.push(chunk.subarray(at, newline + 1));
        at = newline + 1;
        this.nextEntry(false);
      } else if (chunk.length - at >= room) {
        out.push(chunk.subarray(at, at + room));
        at += room;
        this.nextEntry(true);
      } else {
        out.push(chunk.subarray(at));
        this.entryBytes += chunk.length - at;
        at = chunk.length;
      }
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** What was held at the end of the stream (a timestamp without its entry). */
  end(): Buffer {
    const held = this.stamp && this.stampBytes > 0 ? Buffer.concat(this.stamp) : Buffer.alloc(0);
    this.stamp = [];
    this.stampBytes = 0;
    return held;
  }

  private nextEntry(continuation: boolean): void {
    this.continuation = continuation;
    this.stamp = [];
    this.stampBytes = 0;
  }
}
