/**
 * What the user reads about the connection to branchboxd, in their words rather than the
 * socket's: why it closed ("the daemon stopped", not "socket closed (1006)"), why it could not
 * be opened, and the notices a lost and regained connection gives — the same kind of
 * notification as the other commands' feedback, one when the connection is lost and one when it
 * is back (a restart the user asked for says only the latter). No `vscode` here.
 */
import type { ConnectionState } from './connection';

/** Why the connection closed when the daemon's process went away (no close frame: 1006). */
export const DAEMON_STOPPED = 'the daemon stopped';

/** Why a WebSocket to the daemon closed, from its close code and reason. */
export function closeReasonText(code: number, reason: string): string {
  switch (code) {
    case 1000:
      return reason || 'the daemon closed the connection';
    case 1001:
      return 'the daemon is shutting down';
    case 1006:
      return DAEMON_STOPPED;
    case 1008:
      return `the daemon refused the connection${reason ? ` (${reason})` : ''}`;
    case 1009:
      return 'a message was larger than the daemon accepts';
    case 1011:
      return `the daemon failed${reason ? ` (${reason})` : ''}`;
    default:
      return reason ? `the daemon closed the connection (${reason})` : `the connection to the daemon closed unexpectedly (code ${code})`;
  }
}

/** Why a WebSocket to the daemon at `url` could not be opened, from the socket's error. */
export function dialFailureText(url: string, error: { message: string; code?: string }): string {
  const code = error.code ?? /\b(E[A-Z]+)\b/.exec(error.message)?.[1];
  switch (code) {
    case 'ECONNREFUSED':
      return `the daemon is not running (nothing answers at ${url})`;
    case 'ECONNRESET':
      return `the daemon at ${url} dropped the connection`;
    case 'ETIMEDOUT':
      return `the daemon at ${url} did not answer in time`;
    default:
      return /handshake has timed out/i.test(error.message) ? `the daemon at ${url} did not answer in time` : `cannot connect to the daemon at ${url} (${error.message})`;
  }
}

export interface Notice {
  readonly kind: 'info' | 'warning';
  readonly text: string;
}

/**
 * Follows the connection's states and says when to tell the user: the connection was lost (once
 * per outage, with why and what happens next) and it is back (naming the daemon, "restarted"
 * when its process changed). A restart the user asked for gets no "lost" notice: its progress
 * shows; when it ends, "Restarted branchboxd …".
 */
export class ConnectionNotices {
  /** The daemon's pid (or `?`) while connected or since the last connection; undefined before the first. */
  private lastPid: number | '?' | undefined;
  private lost: { byUser: boolean } | undefined;

  constructor(private readonly options: { canStart: () => boolean; restartInProgress: () => boolean }) {}

  /** The notice `state` calls for, if any. */
  next(state: ConnectionState): Notice | undefined {
    switch (state.kind) {
      case 'connected': {
        const { endpoint, serverInfo } = state.connected;
        const pid = endpoint.pid ?? '?';
        const lost = this.lost;
        const before = this.lastPid;
        this.lost = undefined;
        this.lastPid = pid;
        if (!lost) return undefined;
        const daemon = `branchboxd ${serverInfo.version} (pid ${pid})`;
        if (lost.byUser) return { kind: 'info', text: `Restarted ${daemon}.` };
        return before !== pid || pid === '?'
          ? { kind: 'info', text: `The daemon is running again: ${daemon}; Branchbox is reconnected.` }
          : { kind: 'info', text: `Reconnected to ${daemon}.` };
      }
      case 'disconnected':
      case 'failed': {
        if (this.lastPid === undefined || this.lost) return undefined;
        const byUser = this.options.restartInProgress();
        this.lost = { byUser };
        // A connection that gave up is reported as an error elsewhere (extension.ts).
        if (byUser || state.kind === 'failed') return undefined;
        const next = state.reason === DAEMON_STOPPED && this.options.canStart() ? 'restarting it…' : 'reconnecting…';
        return { kind: 'warning', text: `Branchbox: ${state.reason}; ${next}` };
      }
      case 'connecting':
        return undefined;
    }
  }
}
