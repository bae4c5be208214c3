/**
 * The daemon's one redactor: it knows every secret value in force and the one rule that says
 * which keys name a secret, and masks them wherever text or bytes leave the daemon — the log
 * file, the audit trail, answers and notifications on the wire, container logs, exec output,
 * inspected containers, error messages.
 *
 * - Secret values come from named sources, each replaced whole when it changes
 *   ({@link Redactor.setSecrets}): the environments of every sandbox (sandbox/environment.ts)
 *   and the daemon's own connection token. The values of ALL sandboxes apply to everything:
 *   a container of one sandbox printing another sandbox's secret is masked too.
 * - A value shorter than {@link MIN_SECRET_LENGTH} characters is not searched for in text
 *   (masking every "1" or "true" would make output unreadable); it is still masked where a
 *   whole value is compared (an environment value equal to it). A value with line breaks is
 *   also masked line by line, since most output travels as lines.
 * - Streams of bytes (exec output, container logs) go through a {@link StreamRedactor}, which
 *   masks a secret even when it is cut across chunks.
 */

/** The mask that replaces a secret. */
export const REDACTED = '***';

/** Secret values shorter than this (in characters) are not searched for in text; see the file comment. */
export const MIN_SECRET_LENGTH = 6;

/**
 * The one rule for keys (environment variables, log fields) whose value is always masked,
 * whatever it is: secret, token, password, passphrase, authorization, credential, API /
 * private / access keys and any `*_KEY`, `*-KEY` or `*.key`.
 */
const SECRET_KEY =
  /secret|token|passw(?:or)?d|passphrase|authorization|credential|api[-_.]?key|private[-_.]?key|access[-_.]?key|[-_.]key$/i;

/** Whether `key` names a value that is always masked (see {@link SECRET_KEY}). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Whether a secret value is long enough to be searched for in text. */
export function isMaskable(value: string): boolean {
  return value.length >= MIN_SECRET_LENGTH;
}

/** The secret values in force, prepared for searching; immutable, rebuilt when a source changes. */
export class SecretSet {
  static readonly EMPTY = new SecretSet([]);

  /** Every value, whatever its length (for whole-value comparisons). */
  readonly values: ReadonlySet<string>;
  /** What is searched for in text: maskable values and the maskable lines of multi-line ones, longest first. */
  readonly texts: readonly string[];
  /** The same as UTF-8, for streams. */
  readonly bytes: readonly Buffer[];
  /** How each text appears inside a JSON string, for a quick look at a serialized message. */
  readonly wire: readonly string[];
  /** Length in bytes of the longest secret: a stream holds back at most one byte less. */
  readonly longest: number;
  /** KMP failure tables of {@link bytes}, same order. */
  private readonly failures: readonly Int32Array[];

  constructor(values: Iterable<string>) {
    this.values = new Set(values);
    const texts = new Set<string>();
    for (const value of this.values) {
      if (!isMaskable(value)) continue;
      texts.add(value);
      if (/[\r\n]/.test(value)) for (const line of value.split(/\r?\n|\r/)) if (isMaskable(line)) texts.add(line);
    }
    this.texts = [...texts].sort((a, b) => b.length - a.length);
    this.bytes = this.texts.map((t) => Buffer.from(t, 'utf8'));
    this.wire = [...new Set(this.texts.map((t) => JSON.stringify(t).slice(1, -1)))];
    this.longest = this.bytes.reduce((max, b) => Math.max(max, b.length), 0);
    this.failures = this.bytes.map(failureTable);
  }

  get empty(): boolean {
    return this.texts.length === 0;
  }

  /**
   * The length of the longest end of `data` that begins a secret without completing it: the
   * bytes a stream must hold back until it knows whether the secret follows.
   */
  pendingPrefix(data: Buffer): number {
    let best = 0;
    this.bytes.forEach((secret, i) => {
      const window = Math.min(secret.length - 1, data.length);
      if (window <= best) return;
      const fail = this.failures[i]!;
      let state = 0;
      for (let at = data.length - window; at < data.length; at++) {
        const byte = data[at]!;
        while (state > 0 && secret[state] !== byte) state = fail[state - 1]!;
        if (secret[state] === byte) state++;
        if (state === secret.length) state = fail[state - 1]!;
      }
      if (state > best) best = state;
    });
    return best;
  }
}

/** KMP: for each prefix of `pattern`, the length of its longest proper prefix that is also its suffix. */
function failureTable(pattern: Buffer): Int32Array {
  const fail = new Int32Array(pattern.length);
  let k = 0;
  for (let i = 1; i < pattern.length; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fail[k - 1]!;
    if (pattern[i] === pattern[k]) k++;
    fail[i] = k;
  }
  return fail;
}

type Range = [start: number, end: number];

/**
 * Where the needles occur in `haystack`, as sorted ranges; overlapping matches are merged, so
 * two secrets that share characters are masked as one (two secrets side by side stay two masks).
 */
function matchRanges<T extends string | Buffer>(haystack: T, needles: readonly T[]): Range[] {
  const found: Range[] = [];
  for (const needle of needles) {
    // Both string and Buffer search the same way; the union type only hides that.
    const search = haystack as unknown as { indexOf(n: T, from: number): number };
    for (let at = search.indexOf(needle, 0); at >= 0; at = search.indexOf(needle, at + 1)) {
      found.push([at, at + needle.length]);
    }
  }
  if (found.length < 2) return found;
  found.sort((a, b) => a[0] - b[0]);
  const merged: Range[] = [found[0]!];
  for (const range of found.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (range[0] < last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

/** `text` with every occurrence of the given secret texts masked (the deploy log's own values use this too). */
export function maskText(text: string, secrets: readonly string[]): string {
  if (!secrets.some((s) => text.includes(s))) return text;
  let out = '';
  let at = 0;
  for (const [start, end] of matchRanges(text, secrets)) {
    out += text.slice(at, start) + REDACTED;
    at = end;
  }
  return out + text.slice(at);
}

const MAX_DEPTH = 8;
const EXTRA = 'extra';

/** The daemon's redactor; see the file comment. One per daemon, shared by everything that emits. */
export class Redactor {
  private readonly sources = new Map<string, readonly string[]>();
  private set = SecretSet.EMPTY;

  /** Replaces the values `source` contributes (e.g. 'environment' after a secret changed). */
  setSecrets(source: string, values: Iterable<string>): void {
    this.sources.set(source, [...values]);
    this.rebuild();
  }

  /** Adds one value to mask (the daemon token; tests). Empty strings are ignored. */
  addSecret(value: string): void {
    if (value.length === 0) return;
    const extra = this.sources.get(EXTRA) ?? [];
    if (!extra.includes(value)) this.setSecrets(EXTRA, [...extra, value]);
  }

  /** Stops masking a value added with {@link addSecret}. */
  removeSecret(value: string): void {
    this.setSecrets(
      EXTRA,
      (this.sources.get(EXTRA) ?? []).filter((v) => v !== value),
    );
  }

  /** The values in force now. */
  get secrets(): SecretSet {
    return this.set;
  }

  /** Whether `key` names a value that is always masked. */
  isSecretKey(key: string): boolean {
    return isSecretKey(key);
  }

  /** Whether `value` is, whole, one of the secret values (any length). */
  isSecretValue(value: string): boolean {
    return this.set.values.has(value);
  }

  /** `text` with every secret masked. */
  redactText(text: string): string {
    const set = this.set;
    return set.empty ? text : maskText(text, set.texts);
  }

  /** A masker for one stream of bytes (see {@link StreamRedactor}). */
  stream(): StreamRedactor {
    return new StreamRedactor(() => this.set);
  }

  /**
   * A deep copy of a JSON-like value with every string (and object key) masked; structure,
   * numbers and booleans kept. For answers and notifications.
   */
  redactStrings<T>(value: T): T {
    if (this.set.empty) return value;
    return this.strings(value, 0) as T;
  }

  /**
   * A serialized JSON-RPC message with every secret masked: the last net before the wire.
   * Cheap when no secret is in it (a substring test per secret); otherwise parsed, masked
   * string by string, and serialized again, so the message stays valid JSON.
   */
  redactWire(message: string): string {
    const set = this.set;
    if (!set.wire.some((w) => message.includes(w))) return message;
    try {
      return JSON.stringify(this.strings(JSON.parse(message) as unknown, 0));
    } catch {
      return this.redactText(message);
    }
  }

  /**
   * A JSON-safe, redacted copy of `value` for the log: strings masked, the values of
   * secret-looking keys masked at any depth, Errors expanded to `{ name, message, code?, stack? }`,
   * bigints as strings, cycles and depth beyond 8 cut off.
   */
  redactValue(value: unknown): unknown {
    return this.copy(value, 0, new WeakSet<object>());
  }

  /** Redacted copy of a log line's fields, masking secret-looking keys. */
  redactFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
    return this.copyEntries(Object.entries(fields), -1, new WeakSet<object>());
  }

  private rebuild(): void {
    const all = new Set<string>();
    for (const values of this.sources.values()) for (const v of values) if (v.length > 0) all.add(v);
    this.set = new SecretSet(all);
  }

  private strings(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (typeof value !== 'object' || value === null || depth > 64) return value;
    if (Array.isArray(value)) return value.map((v: unknown) => this.strings(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[this.redactText(key)] = this.strings(v, depth + 1);
    return out;
  }

  private copy(value: unknown, depth: number, seen: WeakSet<object>): unknown {
    switch (typeof value) {
      case 'string':
        return this.redactText(value);
      case 'number':
      case 'boolean':
      case 'undefined':
        return value;
      case 'bigint':
        return value.toString();
      case 'symbol':
      case 'function':
        return this.redactText(String(value));
    }
    if (value === null) return null;
    if (typeof value !== 'object') return this.redactText(String(value));
    if (seen.has(value)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Truncated]';
    seen.add(value);
    try {
      if (value instanceof Error) return this.copyError(value, depth, seen);
      if (value instanceof Date) return value.toISOString();
      if (Array.isArray(value)) return value.map((v: unknown) => this.copy(v, depth + 1, seen));
      if (value instanceof Map) return this.copyEntries([...value.entries()].map(([k, v]) => [String(k), v]), depth, seen);
      if (value instanceof Set) return [...value].map((v: unknown) => this.copy(v, depth + 1, seen));
      if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
      return this.copyEntries(Object.entries(value), depth, seen);
    } finally {
      seen.delete(value);
    }
  }

  private copyEntries(entries: readonly (readonly [string, unknown])[], depth: number, seen: WeakSet<object>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries) {
      out[this.redactText(key)] = isSecretKey(key) && v !== undefined ? REDACTED : this.copy(v, depth + 1, seen);
    }
    return out;
  }

  private copyError(error: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
    const out: Record<string, unknown> = { name: error.name, message: this.redactText(error.message) };
    const code = (error as Error & { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') out.code = code;
    if (error.stack !== undefined) out.stack = this.redactText(error.stack);
    if (error.cause !== undefined) out.cause = this.copy(error.cause, depth + 1, seen);
    return out;
  }
}

const NOTHING = Buffer.alloc(0);

/**
 * Masks secrets in one stream of bytes, chunk by chunk, even when a secret is cut across
 * chunks: the end of a chunk that could begin a secret (at most the longest secret's length
 * less one byte) is held back until the next chunk tells, and handed out by {@link end}.
 * Nothing is held when no secret could be pending, so output without secrets is not delayed.
 * Works on bytes: a secret is masked as a whole UTF-8 sequence, so valid UTF-8 stays valid.
 */
export class StreamRedactor {
  private pending: Buffer = NOTHING;
  /** How many leading bytes of `pending` belong to a secret whose mask was already handed out. */
  private masked = 0;

  constructor(private readonly secrets: () => SecretSet) {}

  /** Bytes held back now (the start of what may be a secret). */
  get holding(): number {
    return this.pending.length;
  }

  /** The masked bytes that can go out now (possibly empty). */
  push(chunk: Buffer): Buffer {
    const set = this.secrets();
    if (this.pending.length === 0 && set.empty) return chunk;
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    return this.emit(data, data.length - set.pendingPrefix(data), set);
  }

  /** The end of the stream: whatever was held back, masked. */
  end(): Buffer {
    const data = this.pending;
    if (data.length === 0) return NOTHING;
    return this.emit(data, data.length, this.secrets());
  }

  /** Hands out `data` up to `cut` with secrets masked, and keeps the rest. */
  private emit(data: Buffer, cut: number, set: SecretSet): Buffer {
    if (cut === 0) {
      // All of it may still begin a secret: hold it (a mask already handed out stays counted).
      this.pending = Buffer.from(data);
      return NOTHING;
    }
    const ranges = set.empty ? [] : matchRanges(data, set.bytes);
    if (this.masked > 0) {
      // The first bytes finish a secret already masked: part of the same range, no second mask.
      const first = ranges[0];
      if (first && first[0] < this.masked) first[0] = 0;
      else ranges.unshift([0, this.masked]);
      ranges[0]![1] = Math.max(ranges[0]![1], this.masked);
    }
    const continuing = this.masked > 0;
    this.masked = 0;
    const parts: Buffer[] = [];
    let at = 0;
    for (const [start, end] of ranges) {
      if (start >= cut) break;
      if (start > at) parts.push(data.subarray(at, start));
      if (!(continuing && start === 0)) parts.push(MASK_BYTES);
      if (end <= cut) {
        at = end;
      } else {
        this.masked = end - cut;
        at = cut;
        break;
      }
    }
    if (at === 0 && cut === data.length) parts.push(data);
    else if (at < cut) parts.push(data.subarray(at, cut));
    // Copy what is kept: the chunk may be a view into a larger buffer.
    this.pending = cut < data.length ? Buffer.from(data.subarray(cut)) : NOTHING;
    if (parts.length === 1) return parts[0]!;
    return parts.length === 0 ? NOTHING : Buffer.concat(parts);
  }
}

const MASK_BYTES = Buffer.from(REDACTED, 'utf8');

/** What {@link redactedConnection} needs of a transport connection (rpc/transport.ts's `Connection`). */
interface OutgoingConnection {
  readonly label: string;
  send(message: string): void;
  bufferedAmount(): number;
  whenDrained(): Promise<void>;
  close(code?: number, reason?: string): void;
}

/**
 * The same connection, with every message it sends passed through {@link Redactor.redactWire}:
 * whatever path a secret value took into an answer, a notification or an error, it does not
 * reach the client.
 */
export function redactedConnection<C extends OutgoingConnection>(connection: C, redactor: Redactor): OutgoingConnection {
  return {
    label: connection.label,
    send: (message) => connection.send(redactor.redactWire(message)),
    bufferedAmount: () => connection.bufferedAmount(),
    whenDrained: () => connection.whenDrained(),
    close: (code, reason) => connection.close(code, reason),
  };
}
