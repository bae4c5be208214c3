/** A whole log answer as text, through the modem's demuxer (the deploy pipeline's last lines). */
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { outputText } from '../../../daemon/src/docker/dockerode/container-output';

const modem = new Docker({ socketPath: '/nonexistent.sock' }).modem;

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('outputText', () => {
  it('strips the frame headers of a multiplexed answer, stdout and stderr in order', async () => {
    const raw = Buffer.concat([frame(1, 'listening on 8080\n'), frame(2, 'warning: no cache\n'), frame(1, 'ready\n')]);
    expect(await outputText(modem, raw)).toBe('listening on 8080\nwarning: no cache\nready\n');
  });

  it("passes a TTY container's answer through as it is", async () => {
    expect(await outputText(modem, Buffer.from('plain text\nfrom a tty\n'))).toBe('plain text\nfrom a tty\n');
  });

  it('gives nothing for an empty answer', async () => {
    expect(await outputText(modem, Buffer.alloc(0))).toBe('');
  });
});
