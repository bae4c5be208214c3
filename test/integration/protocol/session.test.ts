/**
 * The protocol's session (initialize, shutdown) and error codes, over both transports, against a real branchboxd
 * process: the WebSocket (token in the runtime file) and `--stdio` (Content-Length framing).
 * Then what is only about the process: shutdown, SIGTERM, the instance lock, and `--stdio`
 * bridging to a daemon that already owns the state directory.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as openRpcMetaSchema from '@open-rpc/meta-schema';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it } from 'vitest';
import pkg from '../../../package.json';
import { ProtocolError } from '../../../schemas/src/client';
import { PROTOCOL_VERSION, errorTable, methods, notifications } from '../../../schemas/src/index';
import { instanceId } from '../../../daemon/src/docker/labels';
import { DAEMON_JS, startTestDaemon, type TestDaemon } from '../../helpers/daemon';
import { spawnStdioDaemon, type StdioDaemon } from '../../helpers/stdio-client';
import { transports, type Peer } from './peers';

/** The daemon rejects with ProtocolError; resolves with it so its fields can be checked. */
async function protocolError(call: Promise<unknown>): Promise<ProtocolError> {
  try {
    await call;
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error('expected an error answer, got a result');
}

/**
 * A validator for OpenRPC documents: @open-rpc/meta-schema exports the meta-schema as
 * `openrpcDocument` (a draft-07 style schema). Its JSON Schema fields refer to
 * https://meta.json-schema.tools, which the package does not bundle; that meta-schema is the
 * draft-07 one with `$ref` as a uri-reference, so the draft-07 meta-schema stands in for it,
 * both as the `$schema` of the meta-schema (with the trailing slash) and as the `$ref` target.
 */
function openRpcValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const jsonSchemaMeta = {
    allOf: [{ $ref: 'http://json-schema.org/draft-07/schema#' }],
    definitions: { JSONSchemaObject: { properties: { $ref: { type: 'string', format: 'uri-reference' } } } },
  };
  ajv.addSchema(jsonSchemaMeta, 'https://meta.json-schema.tools');
  ajv.addSchema(jsonSchemaMeta, 'https://meta.json-schema.tools/');
  // The package's typings declare only types; its value export is `openrpcDocument`.
  const { openrpcDocument } = openRpcMetaSchema as unknown as { openrpcDocument: Record<string, unknown> };
  return ajv.compile(openrpcDocument);
}

describe.each(transports)('the protocol over %s', (_name, open) => {
  let peer: Peer | undefined;
  afterEach(async () => {
    await peer?.dispose();
    peer = undefined;
  });

  async function initialized(): Promise<Peer> {
    peer = await open();
    await peer.client.request('initialize', { clientInfo: { name: 'vitest', version: '1' }, processId: process.pid });
    return peer;
  }

  it('initialize answers serverInfo, the protocol version and every method as a capability', async () => {
    peer = await open();
    const result = await peer.client.request('initialize', { clientInfo: { name: 'vitest' }, capabilities: {} });
    expect(result.serverInfo).toEqual({ name: 'branchboxd', version: pkg.version });
    expect(result.protocolVersion).toBe(PROTOCOL_VERSION);
    expect([...result.capabilities.methods].sort()).toEqual(Object.keys(methods).sort());
    const toClient = Object.entries(notifications)
      .filter(([, n]) => n.direction === 'toClient')
      .map(([name]) => name);
    expect([...result.capabilities.notifications].sort()).toEqual(toClient.sort());
    expect(typeof result.capabilities.docker).toBe('boolean');
  });

  it('rpc.discover answers a valid OpenRPC document naming every method, notification and error', async () => {
    const { client } = await initialized();
    const doc = await client.request('rpc.discover');
    const validate = openRpcValidator();
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 5), null, 2)).toBe(true);
    const names = (doc.methods as { name: string }[]).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining([...Object.keys(methods), ...Object.keys(notifications)]));
    const errors = (doc.components as { errors: Record<string, { code: number }> }).errors;
    for (const [name, e] of Object.entries(errorTable)) expect(errors[name]?.code, name).toBe(e.code);
  });

  it('the validator refuses a broken OpenRPC document (so the check above means something)', async () => {
    const { client } = await initialized();
    const validate = openRpcValidator();
    const doc = structuredClone(await client.request('rpc.discover')) as {
      methods: { params: { schema: unknown }[] }[];
      info?: unknown;
    };
    doc.methods[0]!.params[0]!.schema = { type: 'no-such-type' };
    expect(validate(doc)).toBe(false);
    delete doc.info;
    expect(validate(doc)).toBe(false);
  });

  it('system/info tells version, pid, state directory, database and Docker status', async () => {
    const { client, daemonPid, stateDir } = await initialized();
    const info = await client.request('system/info');
    expect(info).toMatchObject({ version: pkg.version, protocolVersion: PROTOCOL_VERSION, pid: daemonPid, stateDir });
    expect(info.instance).toBe(instanceId(stateDir));
    expect(info.database.path).toBe(join(stateDir, 'state.db'));
    expect(info.database.schemaVersion).toBeGreaterThanOrEqual(1);
    expect(info.connections).toBeGreaterThanOrEqual(1);
    expect(typeof info.docker.available).toBe('boolean');
    if (!info.docker.available) expect(info.docker.reason).toEqual(expect.any(String));
  });

  it('a request before initialize answers -32002; rpc.discover is allowed before it', async () => {
    peer = await open();
    const e = await protocolError(peer.client.request('system/info'));
    expect(e.code).toBe(-32002);
    expect(e.message).toMatch(/initialize/);
    await expect(peer.client.request('rpc.discover')).resolves.toMatchObject({ openrpc: expect.any(String) });
  });

  it('initialize twice answers AlreadyInitialized (1105)', async () => {
    const { client } = await initialized();
    const e = await protocolError(client.request('initialize', { clientInfo: { name: 'again' } }));
    expect(e.code).toBe(1105);
    expect(e.errorName).toBe('AlreadyInitialized');
    expect(e.data).toMatchObject({ name: 'AlreadyInitialized' });
  });

  it('an unknown method answers -32601', async () => {
    const { send, inbox } = await initialized();
    send(JSON.stringify({ jsonrpc: '2.0', id: 'u1', method: 'sandbox/frobnicate', params: {} }));
    send(JSON.stringify({ jsonrpc: '2.0', id: 'u2', method: 'toString' }));
    expect(await inbox.response('u1')).toMatchObject({ error: { code: -32601 } });
    expect(await inbox.response('u2')).toMatchObject({ error: { code: -32601 } });
  });

  it('unparsable JSON answers -32700 with id null', async () => {
    const { send, inbox } = await initialized();
    send('{"jsonrpc":"2.0","id":7,"method":"system/info"');
    const answer = await inbox.response(null);
    expect(answer).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('invalid requests answer -32600: wrong method type, no method, an empty batch, non-objects, bad ids', async () => {
    const { send, inbox } = await initialized();
    send('{"jsonrpc":"2.0","method":5,"id":"r1"}');
    expect(await inbox.response('r1')).toMatchObject({ error: { code: -32600 } });
    send('{"id":9002}');
    expect(await inbox.response(9002)).toMatchObject({ error: { code: -32600 } });
    send('{"jsonrpc":"1.0","method":"system/info","id":"r3"}');
    expect(await inbox.response('r3')).toMatchObject({ error: { code: -32600 } });
    send('{"jsonrpc":"2.0","method":"system/info","id":"r4","params":"x"}');
    expect(await inbox.response('r4')).toMatchObject({ error: { code: -32600 } });

    // Answers without a usable id carry id null: check them one at a time.
    for (const text of [
      '[]',
      'null',
      '42',
      '"text"',
      '{"jsonrpc":"2.0","method":"system/info","id":{"a":1}}',
      '{"jsonrpc":"2.0","method":"system/info","id":true}',
    ]) {
      send(text);
      const answer = await inbox.next((m) => !Array.isArray(m) && m.id === null, `the answer to ${text}`);
      expect(answer, text).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    }
    send('[null, 1]');
    const batch = await inbox.next((m) => Array.isArray(m), 'the batch answer');
    expect(batch).toEqual([
      expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
      expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
    ]);
  });

  it('wrong params answer -32602 with each violation as {path, message}', async () => {
    peer = await open();
    const { send, inbox } = peer;
    send(JSON.stringify({ jsonrpc: '2.0', id: 'p1', method: 'initialize', params: { clientInfo: {} } }));
    const missing = await inbox.response('p1');
    expect(missing).toMatchObject({ error: { code: -32602 } });
    const violations = (missing.error as { data: { violations: { path: string; message: string }[] } }).data.violations;
    expect(violations).toContainEqual({ path: '/clientInfo/name', message: expect.any(String) });

    send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'p2',
        method: 'initialize',
        params: { clientInfo: { name: 'x' }, bogus: 1 },
      }),
    );
    expect(await inbox.response('p2')).toMatchObject({
      error: {
        code: -32602,
        data: { violations: expect.arrayContaining([{ path: '/bogus', message: expect.any(String) }]) },
      },
    });
    send(JSON.stringify({ jsonrpc: '2.0', id: 'p3', method: 'initialize', params: [{ clientInfo: { name: 'x' } }] }));
    expect(await inbox.response('p3')).toMatchObject({
      error: { code: -32602, data: { violations: [{ path: '', message: expect.any(String) }] } },
    });
    send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'p4',
        method: 'initialize',
        params: { clientInfo: { name: 5 }, processId: 1.5 },
      }),
    );
    const typed = await inbox.response('p4');
    expect(
      (typed.error as { data: { violations: { path: string }[] } }).data.violations.map((v) => v.path).sort(),
    ).toEqual(['/clientInfo/name', '/processId']);
    // None of these initialized the session.
    await expect(peer.client.request('system/info')).rejects.toMatchObject({ code: -32002 });
  });

  it('a batch of mixed requests is answered as one batch; a batch of one as a batch of one', async () => {
    const { send, inbox } = await initialized();
    send(
      JSON.stringify([
        { jsonrpc: '2.0', id: 'b1', method: 'system/info' },
        { jsonrpc: '2.0', id: 'b2', method: 'no/such' },
        { jsonrpc: '2.0', method: 'system/info' },
        { jsonrpc: '2.0', id: 'b3', method: 'system/info', params: { verbose: true } },
        { jsonrpc: '2.0', id: 'b4', method: 'subscription/cancel', params: { subscription: 'none' } },
        { id: 'b5' },
      ]),
    );
    const batch = (await inbox.next((m) => Array.isArray(m), 'the batch answer')) as Record<string, unknown>[];
    const byId = new Map(batch.map((r) => [r.id, r]));
    expect(batch).toHaveLength(5);
    expect(byId.get('b1')).toMatchObject({ result: { pid: expect.any(Number) } });
    expect(byId.get('b2')).toMatchObject({ error: { code: -32601 } });
    expect(byId.get('b3')).toMatchObject({ error: { code: -32602 } });
    expect(byId.get('b4')).toMatchObject({ error: { code: 1005 } });
    expect(byId.get('b5')).toMatchObject({ error: { code: -32600 } });

    send(JSON.stringify([{ jsonrpc: '2.0', id: 'single', method: 'system/info' }]));
    const one = await inbox.next((m) => Array.isArray(m), 'the batch of one');
    expect(one).toEqual([expect.objectContaining({ id: 'single', result: expect.any(Object) })]);

    // A batch of notifications only gets no answer at all.
    send(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'system/info' },
        { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 1 } },
      ]),
    );
    send(JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'system/info' }));
    await inbox.response('after');
    expect(inbox.all.filter(Array.isArray)).toHaveLength(2);
  });

  it('a notification gets no answer, even to a method that has a result', async () => {
    const { send, inbox } = await initialized();
    const before = inbox.all.length;
    send(JSON.stringify({ jsonrpc: '2.0', method: 'system/info' }));
    send(JSON.stringify({ jsonrpc: '2.0', method: 'system/info', params: { wrong: 1 } }));
    send(JSON.stringify({ jsonrpc: '2.0', method: 'no/such/method' }));
    send(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'nothing' } }));
    // Messages on one connection are answered in order when their handlers answer at once.
    send(JSON.stringify({ jsonrpc: '2.0', id: 'barrier', method: 'system/info' }));
    await inbox.response('barrier');
    expect(inbox.all.slice(before)).toHaveLength(1);
  });

  it('shutdown answers null, the process exits 0 and removes runtime.json', async () => {
    const p = await initialized();
    const runtimeFile = join(p.stateDir, 'runtime.json');
    expect(existsSync(runtimeFile)).toBe(true);
    await expect(p.client.request('shutdown')).resolves.toBeNull();
    expect(await p.exited).toBe(0);
    expect(existsSync(runtimeFile)).toBe(false);
  });

  it('SIGTERM stops the daemon gracefully: exit 0, runtime.json removed', async () => {
    const p = await initialized();
    const runtimeFile = join(p.stateDir, 'runtime.json');
    expect(existsSync(runtimeFile)).toBe(true);
    p.signal('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(existsSync(runtimeFile)).toBe(false);
  });
});

describe('one daemon per state directory', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function firstDaemon(): Promise<TestDaemon> {
    const daemon = await startTestDaemon();
    cleanup.push(() => daemon.dispose());
    return daemon;
  }

  it('a second daemon on the same state dir exits 1 and names the pid of the first', async () => {
    const first = await firstDaemon();
    const second = spawn(process.execPath, [DAEMON_JS, '--state-dir', first.stateDir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(async () => {
      if (second.exitCode === null && second.signalCode === null) second.kill('SIGKILL');
    });
    let stderr = '';
    second.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('close', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toContain(`pid ${first.runtime.pid}`);
    // The first is untouched: still serving, its runtime file still its own.
    const client = await first.connect();
    expect((await client.request('system/info')).pid).toBe(first.runtime.pid);
    await client.closeSocket();
  });

  it('--stdio on a state dir owned by a running daemon bridges to it', async () => {
    const first = await firstDaemon();
    const bridge: StdioDaemon = spawnStdioDaemon({ stateDir: first.stateDir });
    cleanup.push(() => bridge.dispose());
    const init = await bridge.client.request('initialize', { clientInfo: { name: 'through-the-bridge' } });
    expect(init.serverInfo.name).toBe('branchboxd');
    const info = await bridge.client.request('system/info');
    expect(info.pid).toBe(first.runtime.pid);
    expect(info.pid).not.toBe(bridge.process.pid);
    expect(info.stateDir).toBe(first.stateDir);
    // Errors pass through the bridge unchanged.
    bridge.send('{"broken');
    expect(await bridge.inbox.response(null)).toMatchObject({ error: { code: -32700 } });
    // Closing the editor's end ends the bridge, not the daemon.
    expect(await bridge.closeStdin()).toBe(0);
    const client = await first.connect();
    expect((await client.request('system/info')).pid).toBe(first.runtime.pid);
    await client.closeSocket();
  });
});
