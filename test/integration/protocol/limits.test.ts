/**
 * The protocol limits over both transports, on a real branchboxd (dist/): a batch of ten
 * thousand `rpc.discover` once built an answer longer than V8 allows and ended the process;
 * number ids beyond 2^53 came back rounded; `params: []` (a call by position with no
 * arguments) was refused. Each case ends with the same connection still answering.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_LIMITS } from '../../../schemas/src/limits';
import type { Inbox, Message } from '../../helpers/stdio-client';
import { transports, type Peer } from './peers';

const request = (id: unknown, method: string, params?: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
const nextBatch = (inbox: Inbox) =>
  inbox.next<Record<string, unknown>[]>((m: Message) => Array.isArray(m), 'a batch answer');

async function stillAnswers(peer: Peer, id: string): Promise<void> {
  peer.send(request(id, 'system/info'));
  expect(await peer.inbox.response(id)).toMatchObject({ result: { pid: peer.daemonPid } });
}

describe.each(transports)('protocol limits over %s', (_name, open) => {
  let peer: Peer | undefined;
  afterEach(async () => {
    await peer?.dispose();
    peer = undefined;
  });

  async function initialized(): Promise<Peer> {
    peer = await open();
    peer.send(request('__init', 'initialize', { clientInfo: { name: 'limits' } }));
    const answer = await peer.inbox.response('__init');
    expect(answer).toMatchObject({ result: { serverInfo: { name: 'branchboxd' } } });
    initializeAnswer = answer;
    return peer;
  }
  let initializeAnswer: Record<string, unknown> | undefined;

  const discover = (n: number, prefix: string) =>
    `[${Array.from({ length: n }, (_, i) => request(`${prefix}${i}`, 'rpc.discover', {})).join(',')}]`;

  it('a batch of 10 000 answers one InvalidRequest and runs nothing; a full batch whose answer outgrows a message answers ResponseTooLarge for what does not fit', async () => {
    const p = await initialized();
    p.send(discover(10_000, 'huge'));
    expect(await p.inbox.response(null)).toMatchObject({
      error: { code: -32600, message: expect.stringContaining(`limit of ${PROTOCOL_LIMITS.maxBatchLength}`) },
    });
    await stillAnswers(p, 'after-huge');

    const n = PROTOCOL_LIMITS.maxBatchLength;
    p.send(discover(n, 'full'));
    const answers = await nextBatch(p.inbox);
    expect(Buffer.byteLength(JSON.stringify(answers))).toBeLessThanOrEqual(PROTOCOL_LIMITS.maxMessageBytes);
    expect(answers.map((a) => a.id)).toEqual(Array.from({ length: n }, (_, i) => `full${i}`));
    const firstError = answers.findIndex((a) => 'error' in a);
    expect(firstError).toBeGreaterThan(0); // some documents fit, in order...
    expect(
      answers.slice(0, firstError).every((a) => typeof (a.result as { openrpc?: unknown }).openrpc === 'string'),
    ).toBe(true);
    for (const a of answers.slice(firstError)) {
      // ...and every other id is answered ResponseTooLarge.
      expect(a).toMatchObject({
        error: { code: 1601, data: { name: 'ResponseTooLarge', limit: PROTOCOL_LIMITS.maxMessageBytes } },
      });
    }
    await stillAnswers(p, 'after-full');
  });

  it('initialize tells the client the limits', async () => {
    await initialized();
    expect(initializeAnswer).toMatchObject({ result: { capabilities: { limits: { ...PROTOCOL_LIMITS } } } });
  });

  it('number ids beyond 2^53 answer InvalidRequest with id null; the largest exact one comes back exactly', async () => {
    const p = await initialized();
    for (const id of ['9007199254740993', '-9007199254740993', '9007199254740992', '1e300']) {
      p.send(`{"jsonrpc":"2.0","id":${id},"method":"system/info"}`);
      expect(await p.inbox.response(null), id).toMatchObject({
        error: { code: -32600, message: expect.stringContaining('would not come back exactly') },
      });
    }
    p.send(
      '[{"jsonrpc":"2.0","id":9007199254740993,"method":"system/info"},{"jsonrpc":"2.0","id":"neighbour","method":"system/info"}]',
    );
    expect(await nextBatch(p.inbox)).toEqual([
      expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
      expect.objectContaining({ id: 'neighbour', result: expect.any(Object) }),
    ]);
    p.send('{"jsonrpc":"2.0","id":9007199254740991,"method":"system/info"}');
    expect(await p.inbox.response(9007199254740991)).toMatchObject({ result: { pid: p.daemonPid } });
  });

  it('a method without params takes [] like {} and none; arguments by position are refused clearly', async () => {
    const p = await initialized();
    for (const [i, params] of [[], {}, undefined].entries()) {
      p.send(request(`discover${i}`, 'rpc.discover', params));
      expect(await p.inbox.response(`discover${i}`)).toMatchObject({ result: { openrpc: expect.any(String) } });
      p.send(request(`info${i}`, 'system/info', params));
      expect(await p.inbox.response(`info${i}`)).toMatchObject({ result: { pid: p.daemonPid } });
    }
    p.send(request('list', 'container/list', []));
    expect(await p.inbox.response('list')).toMatchObject({ result: { containers: expect.any(Array) } });
    p.send(request('missing', 'container/inspect', []));
    expect(await p.inbox.response('missing')).toMatchObject({
      error: { code: -32602, data: { violations: [{ path: '/id', message: 'is required' }] } },
    });
    p.send(request('positional', 'system/info', [1]));
    expect(await p.inbox.response('positional')).toMatchObject({
      error: { code: -32602, message: expect.stringContaining('by position are not supported') },
    });
  });
});
