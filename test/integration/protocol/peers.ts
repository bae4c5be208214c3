/**
 * One connection to a real daemon, whatever the transport — the WebSocket (token in the
 * runtime file) or `--stdio` (Content-Length framing) — with typed and raw access; the
 * protocol tests run over both with `describe.each(transports)`.
 */
import type { BranchboxClient } from '../../../schemas/src/client';
import { connectClient, startTestDaemon } from '../../helpers/daemon';
import { Inbox, spawnStdioDaemon } from '../../helpers/stdio-client';

export interface Peer {
  readonly client: BranchboxClient;
  readonly inbox: Inbox;
  /** Sends one raw message text (framed for stdio). */
  send(text: string): void;
  readonly daemonPid: number;
  readonly stateDir: string;
  readonly exited: Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
  dispose(): Promise<void>;
}

export async function websocketPeer(): Promise<Peer> {
  const daemon = await startTestDaemon();
  try {
    const client = await connectClient(daemon.url, daemon.runtime.token, 'vitest', false);
    const inbox = new Inbox();
    client.ws.on('message', (data) => inbox.push(data.toString()));
    client.ws.on('close', () => inbox.close('socket closed'));
    return {
      client,
      inbox,
      send: (text) => client.ws.send(text),
      daemonPid: daemon.runtime.pid,
      stateDir: daemon.stateDir,
      exited: daemon.exited,
      signal: (s) => daemon.process.kill(s),
      dispose: async () => {
        client.ws.terminate();
        await daemon.dispose();
      },
    };
  } catch (e) {
    await daemon.dispose();
    throw e;
  }
}

export function stdioPeer(): Promise<Peer> {
  const daemon = spawnStdioDaemon();
  return Promise.resolve({
    client: daemon.client,
    inbox: daemon.inbox,
    send: daemon.send,
    daemonPid: daemon.process.pid!,
    stateDir: daemon.stateDir,
    exited: daemon.exited,
    signal: (s) => daemon.process.kill(s),
    dispose: () => daemon.dispose(),
  });
}

export const transports = [
  ['websocket', websocketPeer],
  ['stdio', stdioPeer],
] as const;
