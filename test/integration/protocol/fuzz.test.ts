/**
 * A seeded fuzz run against a real daemon: a few thousand malformed or adversarial messages
 * over one WebSocket connection and a few hundred over stdio. Afterwards the daemon must be
 * alive and answering, and every message must have got exactly what JSON-RPC 2.0 says it
 * deserves: one well-formed response with the right id for each request, none for a
 * notification, one with id null for what cannot be parsed or carries no usable id, and a
 * batch answer (an array) for a batch with anything to answer.
 *
 * What a message deserves is computed by a reference model of the JSON-RPC envelope rules
 * from the text as the daemon will decode it, so the generator can be as wild as it likes
 * (both in fuzz-model.ts).
 * The seed is printed; rerun one with BRANCHBOX_FUZZ_SEED=<seed> (or `random`).
 *
 * Safety: the daemon's methods include Docker operations (prune, remove...). A generated
 * request that could reach a handler other than the harmless lifecycle ones is refused by
 * the generator itself (`assertHarmless`), before anything is sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { Inbox, spawnStdioDaemon, type Message, type StdioDaemon } from '../../helpers/stdio-client';
import { assertHarmless, audit, chooseSeed, deserves, fixedMessages, Generator, Rng } from './fuzz-model';

const WS_MESSAGES = 2500;
const STDIO_MESSAGES = 400;

/** The harness's own requests on the fuzzed connection carry ids `__…`; the generator never does. */
const isOwn = (m: Message) => !Array.isArray(m) && typeof m.id === 'string' && m.id.startsWith('__');

/**
 * Round trips on the fuzzed connection until every deserved answer arrived (bounded: no
 * sleeping, no hanging), then one more, so that an extra answer sent late is seen too.
 */
async function settle(inbox: Inbox, send: (text: string) => void, deservedCount: number): Promise<void> {
  const count = () =>
    inbox.all.reduce((n, m) => n + (Array.isArray(m) ? m.length : 'method' in m || isOwn(m) ? 0 : 1), 0);
  const roundTrip = async (id: string) => {
    send(JSON.stringify({ jsonrpc: '2.0', id, method: 'system/info' }));
    expect(await inbox.response(id)).toMatchObject({ result: { pid: expect.any(Number) } });
  };
  for (let round = 0; round < 200 && count() < deservedCount; round++) await roundTrip(`__settle${round}`);
  await roundTrip('__settle-final');
}

function countDeserved(sent: (string | Buffer)[]): number {
  return sent.reduce((n, wire) => {
    const d = deserves(wire);
    return n + (d.kind === 'nothing' ? 0 : d.kind === 'single' ? 1 : d.answers.length);
  }, 0);
}

// ---------------------------------------------------------------------------------------------

describe('fuzzing the protocol', () => {
  const seed = chooseSeed();
  let daemon: TestDaemon | undefined;
  let client: TestClient | undefined;
  let stdio: StdioDaemon | undefined;
  afterEach(async () => {
    client?.ws.terminate();
    client = undefined;
    await daemon?.dispose();
    daemon = undefined;
    await stdio?.dispose();
    stdio = undefined;
  });

  it('the reference model agrees with hand-written cases', () => {
    expect(deserves('{bad')).toEqual({ kind: 'single', answer: { id: 'null', code: -32700 } });
    expect(deserves('[]')).toEqual({ kind: 'single', answer: { id: 'null', code: -32600 } });
    expect(deserves('{"jsonrpc":"2.0","method":"system/info"}')).toEqual({ kind: 'nothing' });
    expect(deserves('{"jsonrpc":"2.0","method":5,"id":1}')).toEqual({
      kind: 'single',
      answer: { id: '1', code: -32600 },
    });
    expect(deserves('{"jsonrpc":"2.0","method":"x","id":{}}')).toEqual({
      kind: 'single',
      answer: { id: 'null', code: -32600 },
    });
    expect(deserves('[1,{"jsonrpc":"2.0","method":"system/info"}]')).toEqual({
      kind: 'batch',
      answers: [{ id: 'null', code: -32600 }],
    });
    expect(deserves('{"jsonrpc":"2.0","method":"toString","id":"t"}')).toEqual({
      kind: 'single',
      answer: { id: '"t"', code: -32601 },
    });
    expect(deserves('{"jsonrpc":"2.0","method":"system/info","id":9007199254740993}')).toEqual({
      kind: 'single',
      answer: { id: 'null', code: -32600 },
    });
    expect(deserves(`[${Array(1001).fill('{"jsonrpc":"2.0","method":"system/info","id":1}').join(',')}]`)).toEqual({
      kind: 'single',
      answer: { id: 'null', code: -32600 },
    });
    expect(deserves('{"jsonrpc":"2.0","method":"container/inspect","id":"d","params":{"id":".."}}')).toEqual({
      kind: 'single',
      answer: { id: '"d"', code: -32602 },
    });
    expect(deserves('{"jsonrpc":"2.0","method":"rpc.discover","id":"p","params":[]}')).toEqual({
      kind: 'single',
      answer: { id: '"p"', code: 'any' },
    });
    expect(() => assertHarmless('{"jsonrpc":"2.0","method":"image/prune","id":1,"params":[]}')).toThrow(/valid call/);
    expect(() => assertHarmless('{"jsonrpc":"2.0","method":"image/prune","id":1,"params":{}}')).toThrow(/valid call/);
    expect(() => assertHarmless('{"jsonrpc":"2.0","method":"image/prune","id":1}')).toThrow(/valid call/);
    expect(() => assertHarmless('{"jsonrpc":"2.0","method":"shutdown"}')).toThrow(/shutdown/);
  });

  it(`${WS_MESSAGES}+ adversarial messages over one WebSocket: the daemon survives and answers each exactly as deserved`, async () => {
    console.log(`fuzz seed ${seed} (rerun with BRANCHBOX_FUZZ_SEED=${seed})`);
    const generator = new Generator(new Rng(seed));
    const sent = [...fixedMessages(), ...Array.from({ length: WS_MESSAGES }, () => generator.message())];
    sent.forEach(assertHarmless);

    daemon = await startTestDaemon();
    client = await connectClient(daemon.url, daemon.runtime.token, 'fuzzer', false);
    const ws = client.ws;
    const inbox = new Inbox();
    const closed: { code?: number } = {};
    ws.on('message', (data) => inbox.push(data.toString()));
    ws.on('close', (code) => (closed.code = code));
    const send = (text: string) => ws.send(text);
    send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: '__init',
        method: 'initialize',
        params: { clientInfo: { name: 'fuzzer' } },
      }),
    );
    expect(await inbox.response('__init')).toMatchObject({ result: { serverInfo: { name: 'branchboxd' } } });

    for (const wire of sent) ws.send(wire, { binary: Buffer.isBuffer(wire) });
    await settle(inbox, send, countDeserved(sent));

    expect(closed.code, 'the daemon closed the fuzzing connection').toBeUndefined();
    expect(daemon.process.exitCode).toBeNull();
    expect(inbox.unparsable).toEqual([]);
    const problems = audit(
      sent,
      inbox.all.filter((m) => !isOwn(m)),
    );
    expect(problems.slice(0, 20), `seed ${seed}: ${problems.length} problems`).toEqual([]);

    // Still whole: a new connection initializes and gets answers.
    const fresh = await daemon.connect('after-fuzz');
    const info = await fresh.request('system/info');
    expect(info.pid).toBe(daemon.runtime.pid);
    expect(info.connections).toBe(2);
    await fresh.closeSocket();
  });

  it(`${STDIO_MESSAGES} adversarial messages over stdio: the daemon survives and answers each exactly as deserved`, async () => {
    const stdioSeed = (seed ^ 0x9e3779b9) >>> 0;
    console.log(`fuzz seed (stdio) ${stdioSeed} (derived from ${seed})`);
    const generator = new Generator(new Rng(stdioSeed));
    const sent = [...fixedMessages(), ...Array.from({ length: STDIO_MESSAGES }, () => generator.message())];
    sent.forEach(assertHarmless);

    stdio = spawnStdioDaemon();
    const s = stdio;
    s.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: '__init',
        method: 'initialize',
        params: { clientInfo: { name: 'fuzzer' } },
      }),
    );
    expect(await s.inbox.response('__init')).toMatchObject({ result: { serverInfo: { name: 'branchboxd' } } });
    // Framed here, byte for byte: random bytes stay random bytes inside a well-formed frame.
    for (const wire of sent) {
      const body = typeof wire === 'string' ? Buffer.from(wire, 'utf8') : wire;
      s.writeRaw(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
    }
    await settle(s.inbox, s.send, countDeserved(sent));

    expect(s.process.exitCode).toBeNull();
    expect(s.inbox.unparsable).toEqual([]);
    const problems = audit(
      sent,
      s.inbox.all.filter((m) => !isOwn(m)),
    );
    expect(problems.slice(0, 20), `seed ${stdioSeed}: ${problems.length} problems`).toEqual([]);
    // Still whole: the typed client (fresh ids, same connection) gets its answer.
    expect((await s.client.request('system/info')).pid).toBe(s.process.pid);
  });
});
