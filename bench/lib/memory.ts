/**
 * Memory figures of a process for the memory benchmarks: what /proc/<pid>/status says it
 * holds (resident set, split into anonymous memory and mapped files), and the growth of a
 * series of samples over time.
 *
 *   const m = readProcMemory(pid);            // { rss, anon, file } in bytes
 *   const g = growth(samples);                // { start, end, max, slopePerMin, endMinusStart }
 */
import { readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

export interface ProcMemory {
  /** VmRSS: everything resident. */
  readonly rss: number;
  /** RssAnon: the heap, stacks, buffers — what a leak grows. */
  readonly anon: number;
  /** RssFile: mapped files (the node binary, libraries), shared with other processes. */
  readonly file: number;
}

/** The memory lines of a /proc/<pid>/status text; throws naming a line that is missing. */
export function parseProcStatus(text: string): ProcMemory {
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!m) throw new Error(`/proc status has no ${key} line`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
}

export function readProcMemory(pid: number): ProcMemory {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/**
 * Where the anonymous resident memory is, from /proc/<pid>/smaps: the malloc heap grown with
 * brk (`[heap]`: small allocations of native code) and the other anonymous mappings (the V8
 * heap's pages, large buffers, malloc's mmapped blocks and thread arenas).
 */
export interface AnonSplit {
  readonly brkHeap: number;
  readonly otherAnon: number;
}

export function parseSmaps(text: string): AnonSplit {
  let brkHeap = 0;
  let otherAnon = 0;
  let kind: 'heap' | 'anon' | 'other' = 'other';
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const [, inode, name] = header as unknown as [string, string, string];
      kind = name === '[heap]' ? 'heap' : inode === '0' && (name === '' || name.startsWith('[anon')) ? 'anon' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (!rss) continue;
    if (kind === 'heap') brkHeap += Number(rss[1]) * 1024;
    else if (kind === 'anon') otherAnon += Number(rss[1]) * 1024;
  }
  return { brkHeap, otherAnon };
}

export function readAnonSplit(pid: number): AnonSplit {
  return parseSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
}

export interface Sample {
  /** Seconds since the first sample. */
  readonly seconds: number;
  readonly bytes: number;
}

/**
 * The slope of the least-squares line through the samples, in bytes per second; NaN for
 * fewer than two samples or samples all at one time.
 */
export function slope(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const mx = samples.reduce((s, p) => s + p.seconds, 0) / n;
  const my = samples.reduce((s, p) => s + p.bytes, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of samples) {
    sxy += (p.seconds - mx) * (p.bytes - my);
    sxx += (p.seconds - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

export interface Growth {
  readonly start: number;
  readonly end: number;
  readonly max: number;
  /** Slope over the second half of the samples (the first settles: caches fill, the heap finds its size), bytes per minute. */
  readonly slopePerMin: number;
  readonly endMinusStart: number;
}

/** How a series of samples grew; throws for fewer than four (no second half to fit a line through). */
export function growth(samples: readonly Sample[]): Growth {
  if (samples.length < 4) throw new Error(`${samples.length} samples are too few to tell growth (at least 4)`);
  const start = samples[0]!.bytes;
  const end = samples[samples.length - 1]!.bytes;
  return {
    start,
    end,
    max: Math.max(...samples.map((s) => s.bytes)),
    slopePerMin: slope(samples.slice(Math.floor(samples.length / 2))) * 60,
    endMinusStart: end - start,
  };
}

/** Bytes in MiB with one decimal: `104.3 MiB`. */
export function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
