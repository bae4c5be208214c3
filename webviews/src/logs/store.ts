/**
 * The lines a Logs panel holds: a chunked ring with a cap. Lines get increasing absolute
 * indices (`base` … `end - 1`); past the cap, whole oldest chunks are dropped, so an append
 * costs O(lines appended) and a drop O(1) per chunk, whatever the size. Pure (no DOM).
 */
import type { LogLine } from '../../../schemas/src/webview';

export const DEFAULT_CAP = 1_000_000;
export const CHUNK = 16_384;

export class LogStore {
  private chunks: LogLine[][] = [];
  /** Absolute index of the first line kept. */
  private first = 0;
  private total = 0;

  constructor(readonly cap = DEFAULT_CAP) {}

  /** Absolute index of the oldest line kept. */
  get base(): number {
    return this.first;
  }

  /** One past the absolute index of the newest line. */
  get end(): number {
    return this.total;
  }

  get size(): number {
    return this.total - this.first;
  }

  /** The line at absolute index `i`, if kept. */
  get(i: number): LogLine | undefined {
    if (i < this.first || i >= this.total) return undefined;
    const firstChunk = Math.floor(this.first / CHUNK);
    return this.chunks[Math.floor(i / CHUNK) - firstChunk]?.[i % CHUNK];
  }

  /** Appends lines; returns how many old lines were dropped to stay within the cap. */
  append(lines: readonly LogLine[]): number {
    for (const line of lines) {
      let last = this.chunks[this.chunks.length - 1];
      if (!last || last.length === CHUNK) {
        last = [];
        this.chunks.push(last);
      }
      last.push(line);
    }
    this.total += lines.length;
    let dropped = 0;
    // Drop whole chunks while what stays is still at least the cap.
    while (this.size - this.chunks[0]!.length >= this.cap && this.chunks.length > 1) {
      const head = this.chunks.shift()!;
      const kept = CHUNK - (this.first % CHUNK);
      dropped += Math.min(kept, head.length);
      this.first += Math.min(kept, head.length);
    }
    return dropped;
  }

  clear(): void {
    this.chunks = [];
    this.first = this.total = 0;
  }
}
