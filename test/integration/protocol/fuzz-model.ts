/**
 * What the protocol fuzz test (fuzz.test.ts) sends and what each message deserves: a seeded
 * generator of malformed or adversarial messages, messages every run includes, and a
 * reference model of the JSON-RPC 2.0 envelope rules that computes the deserved answers from
 * the text as the daemon will decode it, and audits what came back against them.
 *
 * Safety: the daemon's methods include Docker operations (prune, remove...). A generated
 * request that could reach a handler other than the harmless lifecycle ones is refused by
 * `assertHarmless`, which the test runs on every message before anything is sent.
 */
import { validateParams } from '../../../daemon/src/rpc/validation';
import { errorTable, methods, type MethodName } from '../../../schemas/src/index';
import { PROTOCOL_LIMITS } from '../../../schemas/src/limits';
import type { Message } from '../../helpers/stdio-client';

const DEFAULT_SEED = 0x5eed_b0b;

export function chooseSeed(): number {
  const env = process.env.BRANCHBOX_FUZZ_SEED;
  if (env === 'random') return (Math.random() * 2 ** 32) >>> 0;
  if (env !== undefined && env !== '') return Number(env) >>> 0;
  return DEFAULT_SEED;
}

/** mulberry32: small, fast, good enough to pick test cases, and the same on every platform. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// ---------------------------------------------------------------------------------------------
// What may be called with params that pass validation: only these, which change nothing that
// matters (initialize on an initialized connection answers AlreadyInitialized).
const HARMLESS: readonly string[] = ['initialize', 'rpc.discover', 'system/info', 'subscription/cancel'];
/** Every method but shutdown, which would end the run. */
const METHODS = Object.keys(methods).filter((m) => m !== 'shutdown');
const ODD_METHODS = [
  'constructor',
  'toString',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  '__defineGetter__',
  'isPrototypeOf',
  '',
  ' ',
  'system/info ',
  'SYSTEM/INFO',
  'system//info',
  '/system/info',
  'rpc.',
  'rpc.discover\u0000',
  '$/cancelRequest',
  'subscription/end',
  'log/message',
  'events/event',
  '$/progress',
  'ñandú/ü',
  '💥/💥',
  '\u202e/ofni/metsys',
  '../../etc/passwd',
  'x'.repeat(10_000),
  'system/info\n',
];
/** Container ids and names that must never reach an Engine API URL (`container/inspect ..` ended the daemon). */
const BAD_CONTAINER_IDS = [
  '..',
  '.',
  '../json',
  '../../containers/json',
  'a/../b',
  '/..',
  '//x',
  'x/',
  '%2e%2e',
  'x?all=1',
  'x#y',
  '-x',
  '',
];
/** Image references outside the distribution grammar. */
const BAD_IMAGES = ['..', '../x', 'a/../b', 'Alpine', 'a//b', 'x:', '%2e%2e', 'sha256:../x', 'x@sha256:zz'];
/** Every method that takes a container id (`id`), with what else it needs to be otherwise valid. */
const CONTAINER_ID_METHODS: readonly [string, Record<string, unknown>][] = [
  ['container/inspect', {}],
  ['container/start', {}],
  ['container/stop', {}],
  ['container/restart', {}],
  ['container/remove', { force: true }],
  ['container/logs', { follow: true }],
  ['container/stats', {}],
  ['stats/history', {}],
  ['container/exec', { cmd: ['sh'] }],
];
const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'id',
  'name',
  'a',
  '',
  'ñ',
  '\ud800',
  '💥',
  '$ref',
];

/** A plain object that may hold a `__proto__` key as data (as JSON.parse would make it). */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

export class Generator {
  private serial = 0;
  private readonly usedIds: unknown[] = [];
  constructor(private readonly rng: Rng) {}

  private string(): string {
    const r = this.rng;
    switch (r.int(9)) {
      case 0:
        return '';
      case 1:
        return r.pick(KEYS);
      case 2:
        return 'é漢字🙂\u0000\u001f\u2028\u2029';
      case 3:
        return '\ud800' + 'x' + '\udfff'; // lone surrogates (escaped by JSON.stringify)
      case 4:
        return 'y'.repeat(r.int(5000));
      case 5:
        return String(r.next());
      case 6:
        return '"\\\'{}[]';
      default:
        return `s${r.int(1000)}`;
    }
  }

  private number(): number {
    const r = this.rng;
    return r.pick([0, -0, 1, -1, 0.5, 1e308, -1e308, 5e-324, 2 ** 53 + 1, -(2 ** 63), r.int(1e9), r.next() * 1e6]);
  }

  /** Any JSON value, nested up to `depth`. */
  value(depth = 3): unknown {
    const r = this.rng;
    switch (depth <= 0 ? r.int(4) : r.int(7)) {
      case 0:
        return null;
      case 1:
        return r.chance(0.5);
      case 2:
        return this.number();
      case 3:
        return this.string();
      case 4:
        return Array.from({ length: r.int(4) }, () => this.value(depth - 1));
      default:
        return objectOf(Array.from({ length: r.int(4) }, () => [r.pick(KEYS), this.value(depth - 1)]));
    }
  }

  /** An id of any type; mostly fresh, sometimes one used before (duplicate ids). */
  id(): unknown {
    const r = this.rng;
    if (this.usedIds.length > 0 && r.chance(0.08)) return r.pick(this.usedIds);
    const n = ++this.serial;
    const id = r.pick<() => unknown>([
      () => `f${n}`,
      () => `f${n}`,
      () => 1_000_000 + n,
      () => 1_000_000 + n,
      () => n + 0.5,
      () => -n,
      () => 0,
      () => -0,
      () => 1e308,
      () => 2 ** 53 + n,
      () => null,
      () => true,
      () => false,
      () => ({}),
      () => [n],
      () => objectOf([['__proto__', n]]),
      () => `ü${n}\ud800`,
      () => '',
      () => 'z'.repeat(3000) + n,
      () => String(n),
    ])();
    this.usedIds.push(id);
    return id;
  }

  /** Params for `method`: for harmless methods sometimes valid; otherwise certainly invalid. */
  params(method: string): unknown {
    const r = this.rng;
    // `[]` is a call by position without arguments: the same as no params.
    if (HARMLESS.includes(method) && r.chance(0.1)) return [];
    if (HARMLESS.includes(method) && r.chance(0.5)) {
      if (method === 'initialize')
        return {
          clientInfo: { name: this.string(), ...(r.chance(0.5) ? { version: '1' } : {}) },
          ...(r.chance(0.3) ? { capabilities: objectOf([[r.pick(KEYS), this.value()]]) } : {}),
        };
      if (method === 'subscription/cancel') return { subscription: this.string() };
      return {};
    }
    if (r.chance(0.15)) return [this.value(1)];
    const spec = Object.hasOwn(methods, method) ? methods[method as MethodName] : undefined;
    const known = Object.keys((spec?.params as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    const entries: [string, unknown][] = known.filter(() => r.chance(0.6)).map((k) => [k, this.value(2)]);
    // An unknown property: every params schema is closed, so this never validates.
    entries.push([
      r.chance(0.3) ? r.pick(['__proto__', 'constructor', 'prototype']) : `fuzz${r.int(100)}`,
      this.value(1),
    ]);
    return objectOf(entries);
  }

  /** A request or notification object with any of its fields mutated. */
  envelope(): Record<string, unknown> {
    const r = this.rng;
    const method: unknown = r.chance(0.75)
      ? r.pick(METHODS)
      : r.chance(0.6)
        ? r.pick(ODD_METHODS)
        : r.pick([5, null, [], {}, true, ['system/info']]);
    const entries: [string, unknown][] = [];
    entries.push([
      'jsonrpc',
      r.chance(0.88) ? '2.0' : r.pick([undefined, '1.0', 2, 2.0, null, '', '2.0 ', ['2.0'], {}, '2']),
    ]);
    entries.push(['method', method]);
    if (r.chance(0.8)) entries.push(['id', this.id()]);
    const harmless = typeof method === 'string' && HARMLESS.includes(method);
    const wrongParams = r.chance(0.12);
    if (wrongParams) entries.push(['params', r.pick([5, 'x', true, null, 0, ''])]);
    else if (harmless && r.chance(0.2)) {
      // no params at all: allowed for harmless methods only (an absent params is `{}`)
    } else entries.push(['params', this.params(typeof method === 'string' ? method : 'x')]);
    if (r.chance(0.08)) entries.push([r.pick(['result', 'error', '__proto__', 'constructor', 'extra']), this.value(1)]);
    if (r.chance(0.2)) entries.reverse();
    return objectOf(entries.filter(([, v]) => v !== undefined));
  }

  /** A container or image method with an id Docker's grammar refuses (and otherwise valid params). */
  badDockerId(): Record<string, unknown> {
    const r = this.rng;
    if (r.chance(0.2))
      return { jsonrpc: '2.0', id: this.id(), method: 'image/remove', params: { image: r.pick(BAD_IMAGES) } };
    const [method, extra] = r.pick(CONTAINER_ID_METHODS);
    return { jsonrpc: '2.0', id: this.id(), method, params: { ...extra, id: r.pick(BAD_CONTAINER_IDS) } };
  }

  private validRequest(): Record<string, unknown> {
    const method = this.rng.pick(['system/info', 'rpc.discover', 'subscription/cancel']);
    return {
      jsonrpc: '2.0',
      id: this.id(),
      method,
      params: method === 'subscription/cancel' ? { subscription: 'x' } : {},
    };
  }

  private batch(): unknown[] {
    const r = this.rng;
    const items = Array.from({ length: 1 + r.int(12) }, (): unknown => {
      switch (r.int(8)) {
        case 0:
          return this.validRequest();
        case 1:
          return { jsonrpc: '2.0', method: 'system/info' }; // a notification
        case 2:
          return r.pick([1, 'x', null, true, [], {}, [this.validRequest()]]);
        default:
          return this.envelope();
      }
    });
    if (r.chance(0.3) && items.length > 0) {
      // the same id twice in one batch
      const dup = { jsonrpc: '2.0', id: `dup${this.serial++}`, method: 'system/info' };
      items.push(dup, { ...dup });
    }
    return items;
  }

  /** One message as it goes on the wire: text, or bytes for a binary frame. */
  message(): string | Buffer {
    const r = this.rng;
    const roll = r.int(100);
    if (roll < 5) return Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256)));
    if (roll < 15) {
      const text = JSON.stringify(r.chance(0.7) ? this.envelope() : this.batch());
      return text.slice(0, 1 + r.int(Math.max(1, text.length - 1)));
    }
    if (roll < 20) return this.rawNumbers();
    if (roll < 24) return this.rawUnicode();
    if (roll < 42) return JSON.stringify(this.batch());
    if (roll < 50) return JSON.stringify(this.validRequest());
    if (roll < 55)
      return JSON.stringify(r.chance(0.7) ? this.badDockerId() : [this.badDockerId(), this.validRequest()]);
    if (roll < 57)
      return r.pick([
        '[]',
        'null',
        '1',
        '"x"',
        'true',
        '{}',
        '[[]]',
        '[{}]',
        '',
        ' ',
        '\n',
        '\u0000',
        '{"__proto__":{"jsonrpc":"2.0","method":"system/info"},"id":"proto"}',
      ]);
    return JSON.stringify(this.envelope());
  }

  /** Numbers JSON.stringify cannot write: beyond double range, huge integers, long fractions. */
  private rawNumbers(): string {
    const r = this.rng;
    const number = r.pick([
      '1e400',
      '-1e400',
      '1e-400',
      '123456789012345678901234567890',
      '0.0000000000000000000000001',
      '-0.0',
      '1E+2',
      `${r.int(1e6)}.${'9'.repeat(400)}`,
    ]);
    return r.chance(0.5)
      ? `{"jsonrpc":"2.0","id":${number},"method":"system/info"}`
      : `{"jsonrpc":"2.0","id":"n${this.serial++}","method":"initialize","params":{"clientInfo":{"name":"n"},"processId":${number}}}`;
  }

  /** Unicode and lone surrogates written raw in the text (the sender encodes them to UTF-8). */
  private rawUnicode(): string {
    const r = this.rng;
    const s = r.pick(['\ud800', '\udc00x', 'a\ud83d', '\ufeff', '\u0000', 'é', '🙂', '\u202e']);
    return r.pick([
      `{"jsonrpc":"2.0","id":"u${this.serial++}${s}","method":"system/info"}`,
      `{"jsonrpc":"2.0","id":"u${this.serial++}","method":"${s}"}`,
      `{"jsonrpc":"2.0","id":"u${this.serial++}","method":"initialize","params":{"clientInfo":{"name":"${s}"}}}`,
      `\ufeff{"jsonrpc":"2.0","id":"bom${this.serial++}","method":"system/info"}`,
      `{"jsonrpc":"2.0","id":"u${this.serial++}","method":"system/info"${s}}`,
    ]);
  }
}

/** Messages every run includes, whatever the seed: the cases worth never losing. */
const batchOf = (n: number, element: (i: number) => string) =>
  `[${Array.from({ length: n }, (_, i) => element(i)).join(',')}]`;

export function fixedMessages(): (string | Buffer)[] {
  const deepArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  return [
    deepArrays(10_000),
    deepArrays(200_000),
    '['.repeat(10_000),
    `{"jsonrpc":"2.0","id":"deep1","method":"system/info","params":{"a":${deepObject(10_000)}}}`,
    `{"jsonrpc":"2.0","id":"deep2","method":"initialize","params":{"clientInfo":{"name":"d"},"capabilities":{"x":${deepArrays(10_000)}}}}`,
    `{"jsonrpc":"2.0","id":"deep3","method":"system/info","params":${deepArrays(10_000)}}`,
    `[${Array.from({ length: 500 }, (_, i) => `{"jsonrpc":"2.0","id":"wide${i}","method":"system/info"}`).join(',')}]`,
    '{"jsonrpc":"2.0","id":"proto1","method":"system/info","params":{"__proto__":{"polluted":true}}}',
    '{"jsonrpc":"2.0","id":"proto2","method":"initialize","params":{"clientInfo":{"name":"x","__proto__":{"name":1}},"constructor":{"prototype":{"x":1}}}}',
    '{"__proto__":{"jsonrpc":"2.0","method":"system/info"},"id":"proto3"}',
    '{"jsonrpc":"2.0","id":"proto4","method":"__proto__","params":{}}',
    '{"jsonrpc":"2.0","id":"proto5","method":"constructor"}',
    '{"jsonrpc":"2.0","id":"dupkey","id":"dupkey2","method":"system/info","method":"rpc.discover"}',
    '{"jsonrpc":"2.0","id":"same","method":"system/info"}',
    '{"jsonrpc":"2.0","id":"same","method":"system/info"}',
    '[{"jsonrpc":"2.0","id":"same","method":"nope"},{"jsonrpc":"2.0","id":"same","method":"system/info"}]',
    '{"jsonrpc":"2.0","id":"cancel-self","method":"$/cancelRequest","params":{"id":"cancel-self"}}',
    '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"same"}}',
    `{"jsonrpc":"2.0","id":"${'k'.repeat(200_000)}","method":"system/info"}`,
    // Batches past the length limit (one answer, nothing run), and one whose answer outgrows a message.
    batchOf(PROTOCOL_LIMITS.maxBatchLength + 1, (i) => `{"jsonrpc":"2.0","id":"over${i}","method":"system/info"}`),
    batchOf(10_000, (i) => `{"jsonrpc":"2.0","id":"discover-all${i}","method":"rpc.discover","params":{}}`),
    batchOf(PROTOCOL_LIMITS.maxBatchLength, (i) => `{"jsonrpc":"2.0","id":"discover${i}","method":"rpc.discover"}`),
    // Number ids that JSON numbers cannot carry exactly, and the largest one they can.
    '{"jsonrpc":"2.0","id":9007199254740993,"method":"system/info"}',
    '{"jsonrpc":"2.0","id":-9007199254740993,"method":"system/info"}',
    '{"jsonrpc":"2.0","id":9007199254740991,"method":"system/info"}',
    // By-position params: none (as `{}`), and some (refused).
    '{"jsonrpc":"2.0","id":"pos0","method":"rpc.discover","params":[]}',
    '{"jsonrpc":"2.0","id":"pos1","method":"system/info","params":[{}]}',
    // Every container and image method, with an id outside Docker's grammar.
    ...CONTAINER_ID_METHODS.flatMap(([method, extra]) =>
      BAD_CONTAINER_IDS.map((id, i) =>
        JSON.stringify({ jsonrpc: '2.0', id: `bad-${method}-${i}`, method, params: { ...extra, id } }),
      ),
    ),
    ...BAD_IMAGES.map((image, i) =>
      JSON.stringify({ jsonrpc: '2.0', id: `bad-image-${i}`, method: 'image/remove', params: { image } }),
    ),
    Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
    Buffer.from([0xff, 0xfe, 0x00]),
  ];
}

// ---------------------------------------------------------------------------------------------
// The reference model: what a message deserves, by the JSON-RPC 2.0 rules.

type Code = number | 'result' | 'any';
interface Expected {
  /** JSON of the id the answer must carry (`null` for parse errors and unusable ids). */
  readonly id: string;
  readonly code: Code;
}
type Deserves = { kind: 'nothing' } | { kind: 'single'; answer: Expected } | { kind: 'batch'; answers: Expected[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A number id must come back exactly: within ±(2^53 − 1). */
const isUsableId = (id: unknown) =>
  typeof id === 'string' ||
  id === null ||
  (typeof id === 'number' && Number.isFinite(id) && Math.abs(id) <= PROTOCOL_LIMITS.maxIntegerId);

/** Params as the daemon validates them: absent or `[]` (by position, no arguments) are `{}`. */
const namedParams = (element: Record<string, unknown>): unknown =>
  !('params' in element) || (Array.isArray(element.params) && element.params.length === 0) ? {} : element.params;
const idKey = (id: unknown) => JSON.stringify(id);

/** The text the daemon reads: UTF-8 decoded, invalid sequences and lone surrogates as U+FFFD. */
const asDecoded = (wire: string | Buffer) =>
  (typeof wire === 'string' ? Buffer.from(wire, 'utf8') : wire).toString('utf8');

function deservedBy(element: unknown): Expected | undefined {
  if (!isObject(element)) return { id: 'null', code: -32600 };
  const usable = isUsableId(element.id);
  const invalid =
    element.jsonrpc !== '2.0' ||
    typeof element.method !== 'string' ||
    ('id' in element && !usable) ||
    ('params' in element && (typeof element.params !== 'object' || element.params === null)) ||
    'result' in element ||
    'error' in element;
  if (invalid) return { id: usable && 'id' in element ? idKey(element.id) : 'null', code: -32600 };
  if (!('id' in element)) return undefined;
  if (!Object.hasOwn(methods, element.method as string)) return { id: idKey(element.id), code: -32601 };
  // The connection is initialized: params are checked next (by-position arguments are refused).
  const params = namedParams(element);
  if (Array.isArray(params) || validateParams(element.method as MethodName, params).length > 0) {
    return { id: idKey(element.id), code: -32602 };
  }
  return { id: idKey(element.id), code: 'any' };
}

export function deserves(wire: string | Buffer): Deserves {
  let message: unknown;
  try {
    message = JSON.parse(asDecoded(wire));
  } catch {
    return { kind: 'single', answer: { id: 'null', code: -32700 } };
  }
  if (!Array.isArray(message)) {
    const answer = deservedBy(message);
    return answer ? { kind: 'single', answer } : { kind: 'nothing' };
  }
  if (message.length === 0 || message.length > PROTOCOL_LIMITS.maxBatchLength) {
    return { kind: 'single', answer: { id: 'null', code: -32600 } };
  }
  const answers = message.map(deservedBy).filter((a): a is Expected => a !== undefined);
  return answers.length > 0 ? { kind: 'batch', answers } : { kind: 'nothing' };
}

/** Refuses to send anything that could run a handler with side effects (see the header). */
export function assertHarmless(wire: string | Buffer): void {
  let message: unknown;
  try {
    message = JSON.parse(asDecoded(wire));
  } catch {
    return;
  }
  for (const element of Array.isArray(message) ? message : [message]) {
    if (!isObject(element) || deservedBy(element)?.code === -32600) continue;
    const method = element.method as string;
    if (method === 'shutdown') throw new Error(`generator made a shutdown: ${asDecoded(wire).slice(0, 200)}`);
    if (!Object.hasOwn(methods, method) || HARMLESS.includes(method)) continue;
    if (validateParams(method as MethodName, namedParams(element)).length === 0) {
      throw new Error(`generator made a valid call of ${method}: ${asDecoded(wire).slice(0, 200)}`);
    }
  }
}

const KNOWN_CODES = new Set<number>(Object.values(errorTable).map((e) => e.code));

/** Why a response is not a well-formed JSON-RPC 2.0 response; undefined when it is. */
function malformation(r: unknown): string | undefined {
  if (!isObject(r)) return 'not an object';
  const extra = Object.keys(r).filter((k) => !['jsonrpc', 'id', 'result', 'error'].includes(k));
  if (extra.length) return `unexpected keys ${extra.join(',')}`;
  if (r.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if (!('id' in r) || !isUsableId(r.id)) return 'no usable id';
  if ('result' in r === 'error' in r) return 'needs exactly one of result and error';
  if ('error' in r) {
    const e = r.error as Record<string, unknown>;
    if (!isObject(e) || !Number.isInteger(e.code) || typeof e.message !== 'string')
      return 'error without integer code and string message';
    if (!KNOWN_CODES.has(e.code as number)) return `undocumented error code ${String(e.code)}`;
    if (e.code === -32603) return `internal error: ${e.message}`;
  }
  return undefined;
}

const codeOf = (r: Record<string, unknown>): Code => ('error' in r ? (r.error as { code: number }).code : 'result');

/**
 * Compares what was received with what was deserved: the number of single and batch answers,
 * the sizes of the batch answers, and, per id, the multiset of answer codes.
 */
export function audit(sent: (string | Buffer)[], received: Message[]): string[] {
  const problems: string[] = [];
  const expectedById = new Map<string, Code[]>();
  const expectedBatchSizes: number[] = [];
  let expectedSingles = 0;
  for (const wire of sent) {
    const d = deserves(wire);
    if (d.kind === 'nothing') continue;
    const answers = d.kind === 'single' ? [d.answer] : d.answers;
    if (d.kind === 'single') expectedSingles++;
    else expectedBatchSizes.push(d.answers.length);
    for (const a of answers) expectedById.set(a.id, [...(expectedById.get(a.id) ?? []), a.code]);
  }

  const actualById = new Map<string, Code[]>();
  const actualBatchSizes: number[] = [];
  let actualSingles = 0;
  for (const m of received) {
    if (!Array.isArray(m) && 'method' in m) continue; // a notification of ours (log lines...)
    const responses = Array.isArray(m) ? m : [m];
    if (Array.isArray(m)) actualBatchSizes.push(m.length);
    else actualSingles++;
    for (const r of responses) {
      const why = malformation(r);
      if (why) problems.push(`malformed response (${why}): ${JSON.stringify(r).slice(0, 300)}`);
      const key = idKey((r as { id?: unknown }).id ?? null);
      actualById.set(key, [...(actualById.get(key) ?? []), codeOf(r)]);
    }
  }

  if (actualSingles !== expectedSingles) problems.push(`${actualSingles} single answers, expected ${expectedSingles}`);
  const sortNum = (a: number[]) => [...a].sort((x, y) => x - y).join(',');
  if (sortNum(actualBatchSizes) !== sortNum(expectedBatchSizes)) {
    problems.push(`batch answers of sizes [${sortNum(actualBatchSizes)}], expected [${sortNum(expectedBatchSizes)}]`);
  }
  for (const id of new Set([...expectedById.keys(), ...actualById.keys()])) {
    const want = expectedById.get(id) ?? [];
    const got = [...(actualById.get(id) ?? [])];
    const label = id.length > 80 ? `${id.slice(0, 80)}…` : id;
    if (want.length !== got.length) {
      problems.push(
        `id ${label}: ${got.length} answers, expected ${want.length} (got ${JSON.stringify(got)}, want ${JSON.stringify(want)})`,
      );
      continue;
    }
    for (const code of want.filter((c) => c !== 'any')) {
      const i = got.indexOf(code);
      if (i < 0) problems.push(`id ${label}: no answer with ${code} (got ${JSON.stringify(got)})`);
      else got.splice(i, 1);
    }
  }
  return problems;
}
