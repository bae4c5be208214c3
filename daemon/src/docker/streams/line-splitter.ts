/**
 * Splits a byte stream into text lines, correctly across chunk boundaries: a line cut by a
 * chunk boundary (even inside a multi-byte UTF-8 character) waits for its end, and the last
 * partial line is handed out by `flush()` when the stream ends. Lines are returned without
 * their `\n` (and without a `\r` before it, so TTY output reads the same as plain output).
 *
 * Memory is bounded: a "line" longer than `maxLineBytes` without a newline (a binary blob, a
 * progress bar that only prints `\r`) is cut and handed out in pieces of that size.
 */
const NEWLINE = 0x0a;
const CR = 0x0d;

/** Longest line kept whole by default; longer ones are cut into pieces of this size. */
export const DEFAULT_MAX_LINE_BYTES = 256 * 1024;

/** Bytes in, whole lines out (see the file comment). */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /** Whether a line has started but not ended yet. */
  get hasPartial(): boolean {
    return this.pendingBytes > 0;
  }

  /** The lines this chunk completes, oldest first. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline < 0) break;
      lines.push(this.take(chunk.subarray(start, newline)));
      start = newline + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start), lines);
    return lines;
  }

  /** The final line when the stream ends without a newline; resets the splitter. */
  flush(): string | undefined {
    if (this.pendingBytes === 0) return undefined;
    return this.take(Buffer.alloc(0));
  }

  /** Completes the pending line with `tail` and returns it as text. */
  private take(tail: Buffer): string {
    let bytes = tail;
    if (this.pendingBytes > 0) {
      this.pending.push(tail);
      bytes = Buffer.concat(this.pending, this.pendingBytes + tail.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    return bytes.toString('utf8', 0, end);
  }

  /** Holds an unfinished line, cutting it when it outgrows the limit. */
  private keep(rest: Buffer, lines: string[]): void {
    // Copy: the chunk may be a view into a larger buffer that would otherwise stay alive.
    this.pending.push(Buffer.from(rest));
    this.pendingBytes += rest.length;
    while (this.pendingBytes >= this.maxLineBytes) {
      const all = Buffer.concat(this.pending, this.pendingBytes);
      const cut = safeCut(all, this.maxLineBytes);
      lines.push(all.toString('utf8', 0, cut));
      const remainder = all.subarray(cut);
      this.pending = remainder.length > 0 ? [remainder] : [];
      this.pendingBytes = remainder.length;
    }
  }
}

/** An offset at or before `limit` that does not split a UTF-8 character. */
function safeCut(bytes: Buffer, limit: number): number {
  let cut = Math.min(limit, bytes.length);
  // Step back over continuation bytes (10xxxxxx) to the start of the character.
  for (let back = 0; back < 3 && cut > 0 && cut < bytes.length && ((bytes[cut] ?? 0) & 0xc0) === 0x80; back++) cut--;
  return cut > 0 ? cut : Math.min(limit, bytes.length);
}
