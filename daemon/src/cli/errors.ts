/**
 * Exit codes and errors of the `branchbox` CLI, in one place: every failure ends as one line
 * `branchbox: <ErrorName>: <message>` on stderr and a documented exit code.
 */
import { ProtocolError } from '../../../schemas/src/client';

export const ExitCode = {
  /** The command did what it was asked. */
  Ok: 0,
  /** The daemon answered with an error (the line names it), or the operation failed. */
  Failed: 1,
  /** The command line is wrong. */
  Usage: 2,
  /** No daemon runs for the state directory, or it cannot be reached. */
  Unreachable: 3,
  /** A deployment ended in a state other than running. */
  DeployFailed: 4,
  /** Interrupted (Ctrl-C); what was in flight was cancelled. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    the operation failed: the daemon answered with an error (named on stderr)
  2    usage error: unknown command or option, missing argument
  3    the daemon is not running or cannot be reached (start it: branchbox daemon start)
  4    deploy (and sandbox create|clone|restore, which deploy): a deployment did not end running
  130  interrupted (Ctrl-C); requests and streams in flight were cancelled
`;

/** A failure of the CLI itself (not an error answer of the daemon), with its exit code. */
export class CliError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = errorName;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super('UsageError', message, ExitCode.Usage);
  }
}

/** No daemon for the state directory, or it does not answer. */
export class DaemonUnreachableError extends CliError {
  constructor(errorName: 'DaemonNotRunning' | 'DaemonUnreachable' | 'ConnectionLost', message: string) {
    super(errorName, message, ExitCode.Unreachable);
  }
}

export class InterruptedError extends CliError {
  constructor() {
    super('Interrupted', 'interrupted', ExitCode.Interrupted);
  }
}

/** The one line describing `e`, and the exit code it maps to. */
export function describeError(e: unknown): { line: string; exitCode: ExitCode } {
  if (e instanceof CliError) return { line: `branchbox: ${e.errorName}: ${oneLine(e.message)}`, exitCode: e.exitCode };
  if (e instanceof ProtocolError) {
    if (e.errorName === 'RequestCancelled') return { line: 'branchbox: Interrupted: request cancelled', exitCode: ExitCode.Interrupted };
    const dataName = (e.data as { name?: unknown } | undefined)?.name;
    const name = e.errorName ?? (typeof dataName === 'string' ? dataName : `Error${e.code}`);
    return { line: `branchbox: ${name}: ${oneLine(e.message)}`, exitCode: ExitCode.Failed };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { line: `branchbox: InternalError: ${oneLine(message)}`, exitCode: ExitCode.Failed };
}

/** Multi-line messages (build output, stacks) are folded so the error stays one line. */
function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');
}
