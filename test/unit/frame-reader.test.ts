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
    expect(bad[0]).toMatch(/100 bytes exceeds the 10-byte limit/);
    expect(messages).toEqual(['after']);
  });
});

describe('Content-Length framing: resynchronising after a bad frame', () => {
  const valid = ['{"id":1}', '{"id":2}', '{"id":3}'];
  const validFrames = valid.map(frame).join('');

  /** Pushes `text` whole, then again one byte at a time; both must read the same. */
  function readBoth(text: string, max = 1024) {
    const whole = reader(max);
    whole.r.push(Buffer.from(text));
    const bytes = reader(max);
    const buffer = Buffer.from(text);
    for (let i = 0; i < buffer.length; i++) bytes.r.push(buffer.subarray(i, i + 1));
    expect(bytes.messages).toEqual(whole.messages);
    expect(bytes.bad).toEqual(whole.bad);
    return whole;
  }

  it.each([
    ['a header block without Content-Length, with a body', 'X-Nothing: 1\r\n\r\n{"lost":true}', 'missing Content-Length header'],
    ['a body without any header', '{"jsonrpc":"2.0","id":0,"method":"system/info"}', 'bytes that are not a header'],
    ['a negative Content-Length', 'Content-Length: -5\r\n\r\nhello', 'Content-Length "-5" is not a byte count'],
    ['a non-numeric Content-Length', 'Content-Length: five\r\n\r\nhello', 'Content-Length "five" is not a byte count'],
    ['two Content-Length values', 'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 'conflicting Content-Length headers (2, 3)'],
  ])('after %s, the next frames are read (one bad frame reported)', (_what, bad, reason) => {
    const { messages, bad: reported } = readBoth(bad + validFrames);
    expect(reported).toEqual([reason]);
    expect(messages).toEqual(valid);
  });

  it('a body over the limit is reported and skipped, then reading goes on', () => {
    const { messages, bad } = readBoth(`Content-Length: 2000\r\n\r\n${'x'.repeat(2000)}${validFrames}`, 1000);
    expect(bad).toEqual(['a message of 2000 bytes exceeds the 1000-byte limit']);
    expect(messages).toEqual(valid);
  });

  it('kilobytes without a header end are dropped, not held, and the frame after them is read', () => {
    const { r, messages, bad } = reader();
    for (let i = 0; i < 50; i++) r.push(Buffer.from('{"no":"header"}'.repeat(100)));
    expect(bad).toEqual(['bytes that are not a header']);
    const next = Buffer.from(frame('{"id":"after"}'));
    r.push(next.subarray(0, 7)); // "Content" — the header itself split across chunks
    r.push(next.subarray(7, 20));
    r.push(next.subarray(20));
    expect(messages).toEqual(['{"id":"after"}']);
    expect(bad).toHaveLength(1);
  });

  it('each run of bad bytes between good frames is reported once', () => {
    const { messages, bad } = readBoth(`${frame('1')}garbage${frame('2')}X: y\r\n\r\nz${frame('3')}`);
    expect(messages).toEqual(['1', '2', '3']);
    expect(bad).toEqual(['bytes that are not a header', 'missing Content-Length header']);
  });
});
