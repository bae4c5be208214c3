/**
 * The dispatcher with handlers that take as long as the test wants, over a fake in-memory
 * connection: what only shows when a request is still running — `$/cancelRequest` answering
 * -32800 exactly once, a closed connection aborting its requests — and the error mapping.
 * (No method of the daemon is slow yet, so cancellation of a running request is shown here;
 * the integration tests cancel over the real transports.)
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, type AuditEntry } from '../../../daemon/src/rpc/dispatcher';
import { RpcError } from '../../../daemon/src/rpc/errors';
import type { Handlers, RequestContext } from '../../../daemon/src/rpc/handlers';
import { Session } from '../../../daemon/src/rpc/session';
import type { Connection } from '../../../daemon/src/rpc/transport';
import { nullLogger } from '../../../daemon/src/runtime/log';

/** A connection that keeps what the session sends, parsed. */
function memoryConnection() {
  const sent: unknown[] = [];
  const connection: Connection = {
    label: 'memory',
    send: (text) => sent.push(JSON.parse(text)),
    bufferedAmount: () => 0,
    whenDrained: () => Promise.resolve(),
    close: () => undefined,
  };
  return { connection, sent };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * `system/info` here waits until its signal aborts (it never finishes by itself), and tells
 * the test when it started and whether it saw the abort.
 */
function slowDispatcher(audit?: (entry: AuditEntry) => void) {
  const started = deferred<RequestContext>();
  const shutdownFails = { now: false };
  const shutdownHangs = { now: false };
  const sawAbort = deferred<boolean>();
  const handlers = {
    initialize: (params: { clientInfo: { name: string } }, ctx: RequestContext) => {
      ctx.session.markInitialized(params.clientInfo);
      return {
        serverInfo: { name: 'branchboxd', version: '0' },
        protocolVersion: '1',
        capabilities: { methods: [], notifications: [], docker: false },
      };
    },
    'system/info': (_params: unknown, ctx: RequestContext) => {
      started.resolve(ctx);
      return new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          sawAbort.resolve(true);
          resolve({});
        });
      });
    },
    'rpc.discover': () => {
      throw new Error('disk on fire');
    },
    'log/subscribe': () => {
      throw new RpcError('Conflict', 'not now', { reason: 'test' });
    },
    shutdown: () => {
      if (shutdownFails.now) throw new RpcError('Conflict', 'refusing to stop');
      // Answers later, never looking at its signal.
      return shutdownHangs.now ? new Promise(() => undefined) : null;
    },
  } as unknown as Handlers;
  const dispatcher = new Dispatcher({ handlers, log: nullLogger, ...(audit ? { audit } : {}) });
  const { connection, sent } = memoryConnection();
  const session = new Session(connection, nullLogger);
  const receive = (message: unknown) => dispatcher.receive(JSON.stringify(message), session);
  return { dispatcher, session, sent, receive, shutdownFails, shutdownHangs, started: started.promise, sawAbort: sawAbort.promise };
}

const request = (id: string | number, method: string, params: unknown = {}) => ({ jsonrpc: '2.0', id, method, params });
const answersTo = (sent: unknown[], id: unknown) => sent.filter((m) => (m as { id?: unknown }).id === id);

describe('Dispatcher: cancellation', () => {
  it('$/cancelRequest of a running request answers it -32800, exactly once, and aborts its signal', async () => {
    const d = slowDispatcher();
    await d.receive(request('init', 'initialize', { clientInfo: { name: 't' } }));
    const slow = d.receive(request('slow', 'system/info'));
    const ctx = await d.started;
    expect(ctx.signal.aborted).toBe(false);
    expect(answersTo(d.sent, 'slow')).toHaveLength(0);

    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'slow' } });
    await slow;
    expect(await d.sawAbort).toBe(true);
    expect(answersTo(d.sent, 'slow')).toEqual([
      {
        jsonrpc: '2.0',
        id: 'slow',
        error: { code: -32800, message: 'Request cancelled', data: { name: 'RequestCancelled' } },
      },
    ]);
    // The cancel itself is a notification: no answer. Cancelling again changes nothing.
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'slow' } });
    await d.dispatcher.idle();
    expect(d.sent).toHaveLength(2); // initialize's answer and the one -32800
  });

  it('cancels by numeric id too, and a cancel of an unknown id is ignored', async () => {
    const d = slowDispatcher();
    await d.receive(request(1, 'initialize', { clientInfo: { name: 't' } }));
    const slow = d.receive(request(42, 'system/info'));
    await d.started;
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'unknown' } });
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 43 } });
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: { not: 'an id' } } });
    expect(answersTo(d.sent, 42)).toHaveLength(0);
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 42 } });
    await slow;
    expect(answersTo(d.sent, 42)).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ code: -32800 }) }),
    ]);
    expect(d.sent).toHaveLength(2);
  });

  it('cancels a request whose handler never looks at its signal', async () => {
    const d = slowDispatcher();
    await d.receive(request('i', 'initialize', { clientInfo: { name: 't' } }));
    d.shutdownHangs.now = true;
    const deaf = d.receive(request('deaf', 'shutdown'));
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'deaf' } });
    await deaf;
    expect(answersTo(d.sent, 'deaf')).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: -32800 }) })]);
  });

  it('$/cancelRequest sent as a request (with an id) is refused, not executed', async () => {
    const d = slowDispatcher();
    await d.receive(request('i', 'initialize', { clientInfo: { name: 't' } }));
    await d.receive(request('c', '$/cancelRequest', { id: 'x' }));
    expect(answersTo(d.sent, 'c')).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ code: -32601 }) }),
    ]);
  });

  it('a closed connection aborts its running requests and gets no answer', async () => {
    const d = slowDispatcher();
    await d.receive(request('i', 'initialize', { clientInfo: { name: 't' } }));
    const slow = d.receive(request('slow', 'system/info'));
    await d.started;
    d.session.close();
    expect(await d.sawAbort).toBe(true);
    await slow;
    await d.dispatcher.idle();
    expect(answersTo(d.sent, 'slow')).toHaveLength(0);
  });

  it('idle() waits for the requests in flight', async () => {
    const d = slowDispatcher();
    await d.receive(request('i', 'initialize', { clientInfo: { name: 't' } }));
    const slow = d.receive(request('slow', 'system/info'));
    await d.started;
    let idle = false;
    const idlePromise = d.dispatcher.idle().then(() => (idle = true));
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'other' } });
    expect(idle).toBe(false);
    await d.receive({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'slow' } });
    await slow;
    await idlePromise;
    expect(idle).toBe(true);
  });
});

describe('Dispatcher: error mapping and audit', () => {
  it('a thrown Error answers InternalError -32603 (never code 0); an RpcError keeps its code and name', async () => {
    const d = slowDispatcher();
    await d.receive(request('i', 'initialize', { clientInfo: { name: 't' } }));
    await d.receive(request('boom', 'rpc.discover'));
    await d.receive(request('conflict', 'log/subscribe'));
    expect(answersTo(d.sent, 'boom')).toEqual([
      {
        jsonrpc: '2.0',
        id: 'boom',
        error: { code: -32603, message: 'Internal error: disk on fire', data: { name: 'InternalError' } },
      },
    ]);
    expect(answersTo(d.sent, 'conflict')).toEqual([
      {
        jsonrpc: '2.0',
        id: 'conflict',
        error: { code: 1104, message: 'not now', data: { name: 'Conflict', reason: 'test' } },
      },
    ]);
  });

  it('records one audit entry per state-changing request, with the client and the outcome', async () => {
    const entries: AuditEntry[] = [];
    const d = slowDispatcher((e) => entries.push(e));
    await d.receive(request('i', 'initialize', { clientInfo: { name: 'auditor' } }));
    await d.receive(request('s', 'shutdown'));
    await d.receive(request('bad', 'shutdown', { extra: 1 })); // refused before the handler: not audited
    expect(entries).toEqual([expect.objectContaining({ client: 'auditor', method: 'shutdown', outcome: 'ok' })]);
  });

  it('audits a state-changing request that fails, with its error, whether a request or a notification', async () => {
    const entries: AuditEntry[] = [];
    const d = slowDispatcher((e) => entries.push(e));
    await d.receive(request('i', 'initialize', { clientInfo: { name: 'auditor' } }));
    d.shutdownFails.now = true;
    await d.receive(request('s', 'shutdown'));
    await d.receive({ jsonrpc: '2.0', method: 'shutdown' });
    expect(answersTo(d.sent, 's')).toEqual([
      { jsonrpc: '2.0', id: 's', error: { code: 1104, message: 'refusing to stop', data: { name: 'Conflict' } } },
    ]);
    expect(d.sent).toHaveLength(2); // the notification got no answer
    expect(entries).toEqual([
      expect.objectContaining({ method: 'shutdown', outcome: 'error Conflict: refusing to stop' }),
      expect.objectContaining({ method: 'shutdown', outcome: 'error Conflict: refusing to stop' }),
    ]);
  });
});

describe('Dispatcher: the JSON-RPC envelope', () => {
  async function answers(...texts: string[]) {
    const d = slowDispatcher();
    await d.receive(request('i', 'initialize', { clientInfo: { name: 't' } }));
    d.sent.length = 0;
    for (const text of texts) await d.dispatcher.receive(text, d.session);
    return d.sent;
  }

  it('answers a batch with an array, even a batch with one answer', async () => {
    expect(await answers('[{"jsonrpc":"2.0","id":"a","method":"nope"}]')).toEqual([
      [expect.objectContaining({ id: 'a', error: expect.objectContaining({ code: -32601 }) })],
    ]);
    expect(await answers('[{"jsonrpc":"2.0","id":"a","method":"nope"},{"jsonrpc":"2.0","method":"nope"}]')).toEqual([
      [expect.objectContaining({ id: 'a' })],
    ]);
  });

  it('never answers a notification, even one whose handler returns a result', async () => {
    expect(await answers('{"jsonrpc":"2.0","method":"shutdown"}', '[{"jsonrpc":"2.0","method":"shutdown"}]')).toEqual(
      [],
    );
  });

  it.each([
    ['null', null],
    ['5', null],
    ['{"jsonrpc":"2.0","method":5,"id":"m"}', 'm'],
    ['{"jsonrpc":"2.0","method":"x","id":{"a":1}}', null],
    ['{"jsonrpc":"2.0","method":"x","id":[1]}', null],
    ['{"jsonrpc":"2.0","method":"x","id":true}', null],
    ['{"jsonrpc":"2.0","method":"x","id":"p","params":7}', 'p'],
    ['{"jsonrpc":"2.0","method":"x","id":"r","result":1}', 'r'],
    ['{"method":"x","id":"v"}', 'v'],
    ['[]', null],
  ])('%s → one -32600 with id %j', async (text, id) => {
    expect(await answers(text)).toEqual([
      {
        jsonrpc: '2.0',
        id,
        error: { code: -32600, message: expect.stringMatching(/^Invalid Request/), data: { name: 'InvalidRequest' } },
      },
    ]);
  });

  it('answers unparsable text -32700 with id null, and a batch of invalid elements element by element', async () => {
    expect(await answers('{"jsonrpc"')).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error', data: { name: 'ParseError' } } },
    ]);
    expect(await answers('[null, 1]')).toEqual([
      [
        expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
        expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
      ],
    ]);
  });
});
