/**
 * The words of a failed deployment's one-line diagnosis, "<stage> failed: <cause>": causes
 * already worded by the pipeline ({@link DeployCause}), errors of the protocol and Docker
 * layers, and the last lines of a build or a container quoted after the cause.
 */
import { isRpcError } from '../rpc/errors';

/** A cause that is already worded for the diagnosis. */
export class DeployCause extends Error {}

/** The cause of a failure, worded for a diagnosis. */
export function causeOf(e: unknown): string {
  if (e instanceof DeployCause) return e.message;
  if (isRpcError(e)) {
    if (e.errorName === 'DockerUnavailable') return `Docker is unavailable: ${e.message}`;
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Build output without the lines that only say what the builder did with its containers and layers. */
export function buildNoiseRemoved(lines: readonly string[]): string[] {
  return lines.filter((l) => !/^\s*(---> |Removing intermediate container )/.test(l));
}

/** `message; last lines: a | b | c` with the last `n` non-empty lines, or `message` alone. */
export function withLines(message: string, lines: readonly string[], n: number): string {
  const quoted = lines
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n);
  return quoted.length ? `${message}; last lines: ${quoted.join(' | ')}` : message;
}

