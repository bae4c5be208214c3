/**
 * The stdio transport after frames it cannot read: a real `branchboxd --stdio` process (dist/),
 * written to byte for byte. Each unreadable frame is answered with one ParseError (id null),
 * and the valid frames after it are all answered — before, one frame without Content-Length
 * made the daemon deaf to every frame after it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon';
import { lspFrame, spawnStdioDaemon, type StdioDaemon } from '../../helpers/stdio-client';

let stdio: StdioDaemon | undefined;
let owner: TestDaemon | undefined;
afterEach(async () => {
  await stdio?.dispose();
  stdio = undefined;
  await owner?.dispose();
  owner = undefined;
});

const ping = (id: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'system/info', params: {} });

/** Starts a stdio daemon (or a relay to `stateDir`'s running daemon) and initializes it. */
async function initialized(stateDir?: string): Promise<StdioDaemon> {
  stdio = spawnStdioDaemon(stateDir === undefined ? {} : { stateDir });
  stdio.send(
    JSON.stringify({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { clientInfo: { name: 'framing' } } }),
  );
  expect(await stdio.inbox.response('init')).toMatchObject({ result: { serverInfo: { name: 'branchboxd' } } });
  return stdio;
}

/** Writes `bad`, then three valid frames; expects one ParseError and the three answers. */
async function badThenThree(s: StdioDaemon, label: string, bad: (string | Buffer)[]): Promise<Record<string, unknown>> {
  for (const piece of bad) s.writeRaw(piece);
  const ids = [1, 2, 3].map((n) => `${label}-${n}`);
  for (const id of ids) s.writeRaw(lspFrame(ping(id)));
  for (const id of ids) expect(await s.inbox.response(id), id).toMatchObject({ result: { pid: expect.any(Number) } });
  const parseError = await s.inbox.response(null);
  expect(parseError).toMatchObject({ error: { code: -32700, data: { name: 'ParseError' } } });
  return parseError;
}

describe('stdio framing errors', () => {
  it('a frame without Content-Length is answered with ParseError and the next three frames are answered', async () => {
    const s = await initialized();
    const error = await badThenThree(s, 'noheader', [
      'X-Nothing: 1\r\n\r\n{"jsonrpc":"2.0","id":"lost","method":"system/info"}',
    ]);
    expect(error.error).toMatchObject({ message: expect.stringContaining('missing Content-Length') });
    expect(s.inbox.responsesTo('lost')).toEqual([]);
  });

  it('a message with no header at all, then three frames', async () => {
    const s = await initialized();
    await badThenThree(s, 'bare', ['{"jsonrpc":"2.0","id":"bare","method":"system/info"}']);
  });

  it('negative and non-numeric Content-Length values', async () => {
    const s = await initialized();
    await badThenThree(s, 'negative', ['Content-Length: -5\r\n\r\nhello']);
    await badThenThree(s, 'words', ['Content-Length: twelve\r\n\r\n{"x":1}']);
  });

  it('a Content-Length over the 4 MiB limit: the body is skipped as it streams, then reading goes on', async () => {
    const s = await initialized();
    const size = 4 * 1024 * 1024 + 1;
    const chunk = Buffer.alloc(256 * 1024, 'x');
    const pieces: Buffer[] = [Buffer.from(`Content-Length: ${size}\r\n\r\n`)];
    for (let left = size; left > 0; left -= chunk.length) pieces.push(chunk.subarray(0, Math.min(chunk.length, left)));
    const error = await badThenThree(s, 'oversized', pieces);
    expect(error.error).toMatchObject({
      message: expect.stringContaining(`${size} bytes exceeds the 4194304-byte limit`),
    });
  });

  it('the relay to a running daemon answers an unreadable frame the same way', async () => {
    owner = await startTestDaemon();
    const s = await initialized(owner.stateDir);
    const error = await badThenThree(s, 'relay', ['Content-Length: nope\r\n\r\n{}']);
    expect(error.error).toMatchObject({ message: expect.stringContaining('is not a byte count') });
    expect(s.stderr()).toContain('unreadable frame skipped');
  });

  it('headers and bodies split across writes are put back together', async () => {
    const s = await initialized();
    const whole = lspFrame(ping('split'));
    for (let i = 0; i < whole.length; i += 5) s.writeRaw(whole.subarray(i, i + 5));
    expect(await s.inbox.response('split')).toMatchObject({ result: { pid: expect.any(Number) } });
    // The header alone, then the body in two.
    const body = Buffer.from(ping('split2'));
    s.writeRaw('Content-Le');
    s.writeRaw(`ngth: ${body.length}\r`);
    s.writeRaw('\n\r\n');
    s.writeRaw(body.subarray(0, 10));
    s.writeRaw(body.subarray(10));
    expect(await s.inbox.response('split2')).toMatchObject({ result: { pid: expect.any(Number) } });
    expect(s.inbox.responsesTo(null)).toEqual([]);
    expect(s.process.exitCode).toBeNull();
  });
});
