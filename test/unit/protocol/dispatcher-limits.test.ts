/**
 * The dispatcher with injected handlers that fail in every way a real one could (a real one
 * cannot fail on demand): nothing they do escapes `receive` — every failure answers its own id
 * with a documented error — and the protocol limits hold: answers within the largest message,
 * batches within their length, number ids that come back exactly, by-position params.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../../daemon/src/rpc/dispatcher';
import type { Handlers, RequestContext } from '../../../daemon/src/rpc/handlers';
import { Session } from '../../../daemon/src/rpc/session';
import type { Connection } from '../../../daemon/src/rpc/transport';
import { nullLogger } from '../../../daemon/src/runtime/log';
import { PROTOCOL_LIMITS } from '../../../schemas/src/limits';

type Answer = Record<string, unknown> & {
  id?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

/** `system/info` answers whatever `result` holds (or throws it, or rejects with it), per request. */
function dispatcher(opts: { maxAnswerBytes?: number } = {}) {
  const behaviour: { next: (ctx: RequestContext) => unknown } = { next: () => ({}) };
  const calls = { count: 0 };
  const handlers = {
    initialize: (params: { clientInfo: { name: string } }, ctx: RequestContext) => {
      ctx.session.markInitialized(params.clientInfo);
      return {};
    },
    'system/info': (_p: unknown, ctx: RequestContext) => {
      calls.count++;
      return behaviour.next(ctx);
    },
    'rpc.discover': () => ({ openrpc: '1.2.6' }),
  } as unknown as Handlers;
  const d = new Dispatcher({ handlers, log: nullLogger, ...opts });
  const texts: string[] = [];
  const connection: Connection = {
    label: 'memory',
    send: (text) => texts.push(text),
    bufferedAmount: () => 0,
    whenDrained: () => Promise.resolve(),
    close: () => undefined,
  };
  const session = new Session(connection, nullLogger);
  const receive = (text: string) => d.receive(text, session);
  const last = () => JSON.parse(texts[texts.length - 1]!) as Answer | Answer[];
  return { receive, texts, last, behaviour, calls };
}

async function ready(opts?: { maxAnswerBytes?: number }) {
  const d = dispatcher(opts);
  await d.receive(
    JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { clientInfo: { name: 't' } } }),
  );
  d.texts.length = 0;
  return d;
}

const call = (id: unknown, method = 'system/info', params: unknown = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, params });

// Anything that escaped would surface here, not as a crash of the test process.
const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);
beforeEach(() => {
  escaped.length = 0;
  process.on('unhandledRejection', onEscape);
});
afterEach(() => {
  process.off('unhandledRejection', onEscape);
});

describe('Dispatcher: a failing handler never escapes', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  it.each<[string, () => unknown, RegExp]>([
    [
      'throws an Error',
      () => {
        throw new Error('broken');
      },
      /broken/,
    ],
    [
      'throws undefined',
      () => {
        throw undefined;
      },
      /undefined/,
    ],
    [
      'throws an object String() cannot convert',
      () => {
        throw Object.create(null);
      },
      /a thrown object/,
    ],
    ['rejects with a Symbol', () => Promise.reject(Symbol('odd')), /Symbol\(odd\)/],
    ['answers a BigInt', () => ({ size: 10n }), /cannot be written as JSON.*BigInt/],
    ['answers a cycle', () => circular, /cannot be written as JSON.*circular/i],
    [
      'answers a value whose toJSON throws',
      () => ({
        toJSON: () => {
          throw new Error('toJSON broke');
        },
      }),
      /toJSON broke/,
    ],
  ])('a handler that %s answers InternalError for its id', async (_what, behave, message) => {
    const d = await ready();
    d.behaviour.next = behave;
    await expect(d.receive(call('x'))).resolves.toBeUndefined();
    expect(d.last()).toMatchObject({ id: 'x', error: { code: -32603, message: expect.stringMatching(message) } });
    // The same inside a batch: the other element is still answered.
    await expect(d.receive(`[${call('y')},${call('z', 'rpc.discover')}]`)).resolves.toBeUndefined();
    expect(d.last()).toEqual([
      expect.objectContaining({ id: 'y', error: expect.objectContaining({ code: -32603 }) }),
      expect.objectContaining({ id: 'z', result: { openrpc: '1.2.6' } }),
    ]);
    expect(escaped).toEqual([]);
  });
});

describe('Dispatcher: answers stay within the largest message', () => {
  const limit = 64 * 1024;

  it('a result over the limit answers ResponseTooLarge for its id, and the session goes on', async () => {
    const d = await ready({ maxAnswerBytes: limit });
    d.behaviour.next = () => ({ text: 'x'.repeat(limit) });
    await d.receive(call('big'));
    expect(d.last()).toMatchObject({
      id: 'big',
      error: { code: 1601, data: { name: 'ResponseTooLarge', limit, size: expect.any(Number) } },
    });
    d.behaviour.next = () => ({ ok: true });
    await d.receive(call('small'));
    expect(d.last()).toEqual({ jsonrpc: '2.0', id: 'small', result: { ok: true } });
  });

  it('a batch answer keeps results in order while they fit, then answers ResponseTooLarge for each other id', async () => {
    const d = await ready({ maxAnswerBytes: limit });
    d.behaviour.next = () => ({ text: 'y'.repeat(limit / 5) });
    const ids = Array.from({ length: 12 }, (_, i) => `b${i}`);
    await d.receive(`[${ids.map((id) => call(id)).join(',')}]`);
    const text = d.texts[d.texts.length - 1]!;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(limit);
    const answers = JSON.parse(text) as Answer[];
    expect(answers.map((a) => a.id)).toEqual(ids);
    const fitted = answers.findIndex((a) => a.error);
    expect(fitted).toBeGreaterThanOrEqual(3);
    expect(answers.slice(0, fitted).every((a) => 'result' in a)).toBe(true);
    expect(answers.slice(fitted).every((a) => a.error?.code === 1601)).toBe(true);
  });

  it('a result longer than any string V8 can build answers ResponseTooLarge, not a crash', async () => {
    const d = await ready();
    // What JSON.stringify throws past V8's string limit (building one takes seconds and a gigabyte).
    d.behaviour.next = () => ({
      toJSON: () => {
        throw new RangeError('Invalid string length');
      },
    });
    await d.receive(call('huge'));
    expect(d.last()).toMatchObject({ id: 'huge', error: { code: 1601 } });
  });
});

describe('Dispatcher: batch length, ids and by-position params', () => {
  it(`a batch of more than ${PROTOCOL_LIMITS.maxBatchLength} answers one InvalidRequest and runs nothing`, async () => {
    const d = await ready();
    const batch = Array.from({ length: PROTOCOL_LIMITS.maxBatchLength + 1 }, (_, i) => call(i));
    await d.receive(`[${batch.join(',')}]`);
    expect(d.last()).toMatchObject({
      id: null,
      error: { code: -32600, data: { limit: PROTOCOL_LIMITS.maxBatchLength } },
    });
    expect(d.calls.count).toBe(0);
    await d.receive(`[${batch.slice(1).join(',')}]`);
    expect(d.last()).toHaveLength(PROTOCOL_LIMITS.maxBatchLength);
  });

  it.each(['9007199254740993', '-9007199254740993', '9007199254740992', '1e300', '123456789012345678901234567890'])(
    'refuses the number id %s (it would not come back exactly) with id null',
    async (id) => {
      const d = await ready();
      await d.receive(`{"jsonrpc":"2.0","id":${id},"method":"system/info"}`);
      expect(d.last()).toMatchObject({
        id: null,
        error: { code: -32600, message: expect.stringContaining('use a smaller number or a string') },
      });
      await d.receive(
        `[{"jsonrpc":"2.0","id":${id},"method":"system/info"},{"jsonrpc":"2.0","id":"s","method":"system/info"}]`,
      );
      expect(d.last()).toEqual([
        expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
        expect.objectContaining({ id: 's', result: {} }),
      ]);
      expect(d.calls.count).toBe(1);
    },
  );

  it.each(['9007199254740991', '-9007199254740991', '0', '42', '0.5'])(
    'echoes the number id %s exactly',
    async (id) => {
      const d = await ready();
      await d.receive(`{"jsonrpc":"2.0","id":${id},"method":"system/info"}`);
      expect(d.texts[d.texts.length - 1]).toBe(`{"jsonrpc":"2.0","id":${id},"result":{}}`);
    },
  );

  it('a method without params takes [] like {} and omission; by-position arguments are refused clearly', async () => {
    const d = await ready();
    for (const params of [[], {}, undefined]) {
      await d.receive(call('p', 'rpc.discover', params));
      expect(d.last()).toEqual({ jsonrpc: '2.0', id: 'p', result: { openrpc: '1.2.6' } });
    }
    await d.receive(call('pos', 'rpc.discover', [1]));
    expect(d.last()).toMatchObject({
      id: 'pos',
      error: {
        code: -32602,
        message: expect.stringContaining('by position are not supported'),
        data: { violations: [{ path: '' }] },
      },
    });
  });
});
