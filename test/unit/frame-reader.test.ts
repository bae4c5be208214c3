import { describe, expect, it } from 'vitest';
import { FrameReader, frame } from '../../daemon/src/rpc/stdio';

function reader(max = 1024) {
  const messages: string[] = [];
  const bad: string[] = [];
  const r = new FrameReader(max, (m) => messages.push(m), (reason) => bad.push(reason));
  return { r, messages, bad };
}

describe('Content-Length framing', () => {
  it('reads messages split at every byte and several in one chunk', () => {
    const { r, messages } = reader();
    const bytes = Buffer.from(frame('{"a":"é"}') + frame('{"b":2}'));
    for (let i = 0; i < bytes.length; i++) r.push(bytes.subarray(i, i + 1));
    r.push(Buffer.from(frame('1') + frame('2') + frame('3')));
    expect(messages).toEqual(['{"a":"é"}', '{"b":2}', '1', '2', '3']);
  });

  it('accepts other headers and any header case', () => {
    const { r, messages } = reader();
    r.push(Buffer.from('Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}'));
    expect(messages).toEqual(['{}']);
  });

  it('skips a frame without Content-Length and goes on', () => {
    const { r, messages, bad } = reader();
    r.push(Buffer.from('X-Nothing: 1\r\n\r\n' + frame('ok')));
    expect(bad).toEqual(['missing Content-Length header']);
    expect(messages).toEqual(['ok']);
  });

  it('skips an oversized body as it streams past without holding it', () => {
    const { r, messages, bad } = reader(10);
    r.push(Buffer.from('Content-Length: 100\r\n\r\n' + 'x'.repeat(40)));
    r.push(Buffer.from('x'.repeat(60) + frame('after')));
    expect(bad[0]).toMatch(/100 bytes exceeds the 10 byte limit/);
    expect(messages).toEqual(['after']);
  });
});
