/**
 * Docker's multiplexed stream format (logs, attach and exec of a container without a TTY):
 * each frame is an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr, 3 engine error),
 * three zero bytes, the payload length as a big-endian uint32 — followed by the payload.
 * The demuxer takes chunks cut anywhere and hands out whole frames, so stdout and stderr stay
 * apart and one frame is one write of the process (one log entry, for logs).
 */

/** Where a frame came from. `error` is the engine reporting a failure inside the stream. */
export type FrameStream = 'stdout' | 'stderr' | 'error';

/** One frame: which stream, and the bytes of one write. */
export interface Frame {
  readonly stream: FrameStream;
  readonly payload: Buffer;
}

const HEADER_BYTES = 8;
/** Frames larger than this are not Docker's (it writes at most 32 KiB at a time): the stream is corrupt. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Multiplexed bytes in, whole frames out. */
export class FrameDemuxer {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  /** The frames this chunk completes, in order. Throws on a stream that is not multiplexed. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let data = chunk;
    if (this.bufferedBytes > 0) {
      this.buffered.push(chunk);
      data = Buffer.concat(this.buffered, this.bufferedBytes + chunk.length);
      this.buffered = [];
      this.bufferedBytes = 0;
    }
    let offset = 0;
    while (data.length - offset >= HEADER_BYTES) {
      const type = data[offset] ?? 0;
      const size = data.readUInt32BE(offset + 4);
      if (type > 3 || size > MAX_FRAME_BYTES) {
        throw new Error(`not a multiplexed Docker stream (frame type ${type}, length ${size})`);
      }
      const end = offset + HEADER_BYTES + size;
      if (end > data.length) break;
      frames.push({ stream: streamOf(type), payload: data.subarray(offset + HEADER_BYTES, end) });
      offset = end;
    }
    if (offset < data.length) {
      // Keep a copy of the unfinished frame only, not the whole chunk it came in.
      const rest = Buffer.from(data.subarray(offset));
      this.buffered.push(rest);
      this.bufferedBytes = rest.length;
    }
    return frames;
  }

  /** Bytes of an unfinished frame at the end of the stream (0 when it ended cleanly). */
  get leftover(): number {
    return this.bufferedBytes;
  }
}

function streamOf(type: number): FrameStream {
  if (type === 2) return 'stderr';
  if (type === 3) return 'error';
  return 'stdout';
}
