/**
 * What to tell the user when a command fails, without `vscode`: one message that says what
 * failed and what to do, and the follow-up actions to offer. Used by `runCommand` (log.ts),
 * the one place failed commands end up.
 */
import { ProtocolError } from '../../schemas/src/client';
import { plainLine } from '../../schemas/src/plain-text';
import { commandText, type UntrustedData } from '../../schemas/src/trust';

/** The follow-ups a failure message can offer (each is a Branchbox command). */
export type FailureAction = 'Show Extension Log' | 'Show Daemon Log' | 'Restart Daemon';

export interface Failure {
  readonly message: string;
  readonly actions: readonly FailureAction[];
}

/** The daemon could not be reached when a command needed it. */
export class NotConnectedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotConnectedError';
  }
}

/**
 * The message for `what` (e.g. "Stop container web-1") failing with `e`; undefined when
 * nothing needs saying (the user cancelled).
 */
export function explainFailure(what: string, e: unknown): Failure | undefined {
  if (e instanceof NotConnectedError) {
    return { message: `${what}: Branchbox is not connected to its daemon (${e.message}).`, actions: ['Restart Daemon', 'Show Extension Log'] };
  }
  if (!(e instanceof ProtocolError)) {
    const message = plainLine(e instanceof Error ? e.message : String(e));
    return { message: `${what} failed: ${message}`, actions: ['Show Extension Log'] };
  }
  const detail = plainLine(e.message).replace(/\.$/, '');
  switch (e.errorName) {
    case 'RequestCancelled':
      return undefined;
    case 'DockerUnavailable':
      return {
        message: `${what} failed: Docker is not available (${detail}). Start Docker, or set "branchbox.docker.host" and restart the daemon.`,
        actions: ['Show Daemon Log', 'Restart Daemon'],
      };
    case 'DockerError':
      return { message: `${what} failed: the Docker engine refused (${detail}).`, actions: ['Show Daemon Log'] };
    case 'ContainerNotFound':
      return { message: `${what} failed: the container no longer exists.`, actions: [] };
    case 'ContainerRunning':
      return { message: `${what} failed: the container is running; stop it first.`, actions: [] };
    case 'ShuttingDown':
      return { message: `${what} failed: branchboxd is shutting down; try again once it has restarted.`, actions: [] };
    case 'MethodNotFound':
      return {
        message: `${what} is not supported by this branchboxd (${detail}); restart the daemon so it runs the version bundled with the extension.`,
        actions: ['Restart Daemon'],
      };
    case 'InvalidParams':
    case 'InvalidRequest':
      return {
        message: `${what} failed: branchboxd rejected the request (${detail}); the extension and the daemon may not match. Restart the daemon.`,
        actions: ['Restart Daemon', 'Show Extension Log'],
      };
    case 'Untrusted':
      return { message: `${what} failed: ${detail}`, actions: ['Show Extension Log'] };
    case 'InternalError':
      return { message: `${what} failed inside branchboxd: ${detail}. See the daemon log.`, actions: ['Show Daemon Log'] };
    case undefined:
      // Code 0: the request never got an answer (the connection closed).
      return e.code === 0
        ? { message: `${what} failed: ${detail}. Branchbox reconnects by itself; try again in a moment.`, actions: ['Show Extension Log'] }
        : { message: `${what} failed: ${detail} (error ${e.code}).`, actions: ['Show Extension Log'] };
    default:
      return { message: `${what} failed: ${detail} (${e.errorName}).`, actions: ['Show Extension Log'] };
  }
}

/** The commands of an `Untrusted` answer (deploy/start), or undefined for any other failure. */
export function untrustedOf(e: unknown): UntrustedData | undefined {
  if (!(e instanceof ProtocolError) || e.errorName !== 'Untrusted') return undefined;
  const data = e.data as Partial<UntrustedData> | undefined;
  return typeof data?.repoPath === 'string' && Array.isArray(data.commands) && data.commands.length ? { repoPath: data.repoPath, commands: data.commands } : undefined;
}

/** The button that trusts the commands and deploys (the modal's own Cancel declines). */
export const TRUST_AND_DEPLOY = 'Trust and Deploy';

/** The modal question before trusting host commands: what would run, where, and what trusting means. */
export function trustQuestion(data: UntrustedData): { message: string; detail: string } {
  const one = data.commands.length === 1;
  return {
    message: `Run ${one ? 'this build command' : 'these build commands'} on your computer?`,
    detail:
      `${data.repoPath} asks to run, outside any container and as you:\n\n` +
      data.commands.map((c) => `${c.service}: ${commandText(c.command)}\n(in ${c.context})`).join('\n\n') +
      `\n\nEvery branch of this repository may then run exactly ${one ? 'this command' : 'these commands'}, with the files of that branch. ` +
      `Trust ${one ? 'it' : 'them'} only if you would run ${one ? 'it' : 'them'} yourself. List and revoke trust with branchbox trust ls|rm.`,
  };
}
