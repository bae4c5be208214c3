/**
 * The words of a failed deployment's one-line diagnosis, "<stage> failed: <cause>": causes
 * already worded by the pipeline ({@link DeployCause}), errors of the protocol and Docker
 * layers, the failing Dockerfile step of a build, and the last lines of a build or a
 * container quoted after the cause — all as plain text (no terminal escapes).
 */
import { plainLine } from '../../../schemas/src/plain-text';
import { isRpcError } from '../rpc/errors';
import type { BuildStep } from './build-output';

/** A cause that is already worded for the diagnosis. */
export class DeployCause extends Error {}

/** Whether the engine refused to start a container because a host port it publishes is taken. */
export function isPortInUse(engineMessage: string): boolean {
  return /port is already allocated|address already in use|bind for/i.test(engineMessage);
}

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
    .map(plainLine)
    .filter(Boolean)
    .slice(-n);
  return quoted.length ? `${message}; last lines: ${quoted.join(' | ')}` : message;
}

/** The classic builder's error for a RUN step whose command failed. */
const NON_ZERO = /^The command .* returned a non-zero code: (\d+)$/s;
/** What a shell puts before its own messages: `/bin/sh: 1: `, `/bin/bash: line 1: `. */
const SHELL_PREFIX = /^\/(?:usr\/)?bin\/(?:ba|da|a)?sh: (?:line )?(?:\d+: )?/;
/** A line that reads like the reason of a failure. */
const SAYS_WHY = /error|not found|no such|denied|cannot|can't|could not|failed|fatal|missing|unable|invalid/i;
const MAX_CAUSE = 200;
const MAX_INSTRUCTION = 80;

/**
 * A failed Dockerfile step in one line: `npm: not found (Dockerfile step 3: RUN npm install)`.
 * For a RUN whose command failed, the cause is what the step printed last that reads like a
 * reason (else its last line; else its exit code); for any other failure, the engine's error.
 */
export function failedStepText(engineError: string, step: BuildStep): string {
  const code = NON_ZERO.exec(engineError.trim())?.[1];
  const said = step.output.map((l) => plainLine(l).replace(SHELL_PREFIX, '')).filter(Boolean);
  const cause = code === undefined ? plainLine(engineError) : ([...said].reverse().find((l) => SAYS_WHY.test(l)) ?? said.at(-1) ?? `exited with code ${code}`);
  return `${clip(cause, MAX_CAUSE)} (Dockerfile step ${step.number}: ${clip(plainLine(step.instruction), MAX_INSTRUCTION)})`;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

