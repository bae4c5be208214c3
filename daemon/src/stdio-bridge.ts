/**
 * `branchboxd --stdio` when a daemon already owns the state directory: instead of a second
 * daemon, relay Content-Length framed messages between stdio and the running daemon's
 * WebSocket, so an editor that spawns its tools still shares the one daemon with everyone.
 */
import WebSocket from 'ws';
import { DEFAULT_MAX_PAYLOAD } from './config';
import { readRuntimeFile } from '../../schemas/node/runtime-file';
import { FrameReader, frame, parseErrorText, readFrames } from './rpc/stdio';

export async function bridgeStdioToDaemon(stateDir: string): Promise<number> {
  const runtime = readRuntimeFile(stateDir);
  if (!runtime) {
    process.stderr.write(`branchboxd: a daemon owns ${stateDir} but has not written its runtime file yet; retry\n`);
    return 1;
  }
  const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}`, {
    headers: { Authorization: `Bearer ${runtime.token}` },
    maxPayload: DEFAULT_MAX_PAYLOAD,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  // An unreadable frame is answered here, as the daemon itself would answer it over stdio.
  const reader = new FrameReader(
    DEFAULT_MAX_PAYLOAD,
    (text) => ws.send(text),
    (reason) => {
      process.stderr.write(`branchboxd: unreadable frame skipped: ${reason}\n`);
      process.stdout.write(frame(parseErrorText(reason)));
    },
  );
  ws.on('message', (data) => process.stdout.write(frame(data.toString())));
  return new Promise<number>((resolve) => {
    readFrames(process.stdin, reader, () => ws.close());
    ws.on('close', () => resolve(0));
    ws.on('error', (e) => {
      process.stderr.write(`branchboxd: connection to the daemon failed: ${e.message}\n`);
      resolve(1);
    });
  });
}
