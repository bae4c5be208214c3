/**
 * An exec session over the protocol (extension/src/exec-session.ts) against a scripted
 * daemon: output that arrives before the `container/exec` answer is kept, other sessions'
 * output is not delivered, keystrokes go out in order and coalesce while one write is in
 * flight, and `exec/exit` ends it.
 */
import { describe, expect, it } from 'vitest';
import { BranchboxClient } from '../../../schemas/src/client';
import { openExecSession } from '../../../extension/src/exec-session';

interface Request {
  id: number | string;
  method: string;
  params: Record<string, unknown>;
}

function scriptedDaemon() {
  const requests: Request[] = [];
  const pendingInputs: (() => void)[] = [];
  const client: BranchboxClient = new BranchboxClient((text) => {
    const r = JSON.parse(text) as Request;
    requests.push(r);
    queueMicrotask(() => answer(r));
  });
  const send = (message: unknown) => client.receive(JSON.stringify(message));
  const output = (subscription: string, text: string) =>
    send({ jsonrpc: '2.0', method: 'exec/output', params: { subscription, items: [{ stream: 'stdout', data: Buffer.from(text).toString('base64') }] } });
  function answer(r: Request): void {
    const reply = (result: unknown) => send({ jsonrpc: '2.0', id: r.id, result });
    if (r.method === 'container/exec') {
      // The shell's prompt overtakes the answer; another session's output is interleaved.
      output('sub-exec', '$ ');
      output('sub-other', 'not mine');
      reply({ session: 'sess-1', subscription: 'sub-exec' });
    } else if (r.method === 'exec/input') pendingInputs.push(() => reply(null));
    else reply(null);
  }
  const inputs = () => requests.filter((r) => r.method === 'exec/input').map((r) => Buffer.from(r.params.data as string, 'base64').toString());
  return { client, requests, pendingInputs, output, send, inputs };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('openExecSession', () => {
  it('keeps output that arrives before the answer, and only its own', async () => {
    const d = scriptedDaemon();
    const out: string[] = [];
    const session = await openExecSession(d.client, { id: 'web', tty: true, cols: 80, rows: 24 }, {
      onOutput: (data) => out.push(data.toString()),
      onExit: () => undefined,
    });
    expect(session.id).toBe('sess-1');
    expect(d.requests[0]).toMatchObject({ method: 'container/exec', params: { id: 'web', tty: true, cols: 80, rows: 24 } });
    d.output('sub-exec', 'hello\r\n');
    d.output('sub-other', 'still not mine');
    expect(out).toEqual(['$ ', 'hello\r\n']);
  });

  it('sends keystrokes in order, one request at a time, coalescing what piles up', async () => {
    const d = scriptedDaemon();
    const session = await openExecSession(d.client, { id: 'web' }, { onOutput: () => undefined, onExit: () => undefined });
    session.write('l');
    session.write('s');
    session.write(' -la\r');
    await settle();
    expect(d.inputs()).toEqual(['l']); // the first write is in flight; the rest wait for it
    d.pendingInputs.shift()!();
    await settle();
    expect(d.inputs()).toEqual(['l', 's -la\r']);
    d.pendingInputs.shift()!();
    await session.resize(120, 40);
    expect(d.requests.at(-1)).toMatchObject({ method: 'exec/resize', params: { session: 'sess-1', cols: 120, rows: 40 } });
  });

  it('ends on exec/exit with the exit code, and sends nothing after', async () => {
    const d = scriptedDaemon();
    const exits: (number | null)[] = [];
    const session = await openExecSession(d.client, { id: 'web' }, { onOutput: () => undefined, onExit: (code) => exits.push(code) });
    d.send({ jsonrpc: '2.0', method: 'exec/exit', params: { session: 'another', exitCode: 1 } });
    d.send({ jsonrpc: '2.0', method: 'exec/exit', params: { session: 'sess-1', exitCode: 130 } });
    d.send({ jsonrpc: '2.0', method: 'exec/exit', params: { session: 'sess-1', exitCode: 130 } });
    expect(exits).toEqual([130]);
    const before = d.requests.length;
    session.write('ignored');
    await session.close();
    await settle();
    expect(d.requests.length).toBe(before);
  });

  it('fails when the container cannot run a process, and stops listening', async () => {
    const client = new BranchboxClient((text) => {
      const r = JSON.parse(text) as Request;
      queueMicrotask(() => client.receive(JSON.stringify({ jsonrpc: '2.0', id: r.id, error: { code: 1104, message: 'Container web is not running' } })));
    });
    await expect(openExecSession(client, { id: 'web' }, { onOutput: () => undefined, onExit: () => undefined })).rejects.toThrow('not running');
  });
});
