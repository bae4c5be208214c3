/** The build API's answer: JSON objects, one per line. */
import type { Readable } from 'node:stream';

export interface BuildMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: unknown;
}

/** Reads a stream of JSON objects separated by newlines (the build API's answer). */
export function readJsonLines(stream: Readable, onMessage: (m: BuildMessage) => void, signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let buffered = '';
    const parse = (text: string) => {
      if (!text.trim()) return;
      try {
        onMessage(JSON.parse(text) as BuildMessage);
      } catch {
        onMessage({ stream: `${text}\n` });
      }
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      parse(buffered);
      resolvePromise();
    });
    stream.on('error', (e) => reject(e));
    stream.on('close', () => {
      if (signal.aborted) reject(abortError(signal));
    });
  });
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}
