/**
 * A container's output as lines, for the deploy pipeline's own use (its health-check log and
 * the last lines quoted by a diagnosis): followed live, or its tail. The protocol's
 * `container/logs` is `streams/logs.ts`.
 */
import type Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { engineError, type EngineTarget } from './engine-error';

export type LineSink = (line: string) => void;

/** Streams the output lines (stdout and stderr) until the container stops or `signal` aborts. */
export async function followLines(
  docker: Docker,
  id: string,
  signal: AbortSignal,
  onLine: LineSink,
  target: EngineTarget,
): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.getContainer(id).logs({
      follow: true,
      stdout: true,
      stderr: true,
      abortSignal: signal,
    } as Docker.ContainerLogsOptions & { follow: true })) as NodeJS.ReadableStream;
  } catch (e) {
    if (signal.aborted) return;
    throw engineError(e, target);
  }
  const out = new PassThrough();
  docker.modem.demuxStream(stream, out, out);
  const lines = splitLines(onLine);
  out.on('data', (c: Buffer) => lines.push(c.toString('utf8')));
  await new Promise<void>((resolvePromise) => {
    const end = () => {
      lines.flush();
      resolvePromise();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
    if (signal.aborted) end();
    else signal.addEventListener('abort', end, { once: true });
  });
}

/** The last `n` output lines; none when they cannot be read. */
export async function lastLines(docker: Docker, id: string, n: number): Promise<string[]> {
  try {
    const raw = (await docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail: n, follow: false })) as unknown as Buffer;
    return (await outputText(docker.modem, Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))))
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .slice(-n);
  } catch {
    return [];
  }
}

/** Collects text into lines; `flush` emits the unterminated rest. */
function splitLines(onLine: LineSink): { push(text: string): void; flush(): void } {
  let partial = '';
  return {
    push(text) {
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    },
    flush() {
      if (partial) onLine(partial);
      partial = '';
    },
  };
}

/**
 * The text of a whole (not followed) log answer: the modem's `demuxStream` strips the frame
 * headers of a multiplexed (non-TTY) answer and passes a TTY container's answer through as it is.
 */
export async function outputText(modem: { demuxStream: Docker['modem']['demuxStream'] }, raw: Buffer): Promise<string> {
  const source = Readable.from([raw]);
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  modem.demuxStream(source, out, out);
  await finished(source);
  out.end();
  await finished(out);
  return Buffer.concat(parts).toString('utf8');
}
