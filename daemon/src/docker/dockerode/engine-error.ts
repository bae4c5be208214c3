/**
 * The one place where what dockerode throws becomes what the protocol answers: a 404 becomes
 * `ContainerNotFound`/`ImageNotFound`/..., a failed connection `DockerUnavailable`, a refusal
 * because the container runs `ContainerRunning`, other conflicts `Conflict`, anything else the
 * engine says `DockerError` with the engine's own message.
 */
import { RpcError, isRpcError } from '../../rpc/errors';
import type { DockerObjectType } from '../types';

/** What was being attempted, for the error message ("Cannot stop container "web": ..."). */
export interface EngineTarget {
  /** The verb: 'stop', 'list', 'load'... */
  readonly action: string;
  readonly kind?: DockerObjectType;
  /** The id, name or reference the caller gave. */
  readonly ref?: string;
  /** The engine endpoint, for connection failures. */
  readonly endpoint?: string;
}

const NOT_FOUND = {
  container: 'ContainerNotFound',
  image: 'ImageNotFound',
  network: 'NetworkNotFound',
  volume: 'VolumeNotFound',
} as const;

/** Socket-level failures: the engine is not there (or went away), not a refusal. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EPIPE',
  'ECONNRESET',
  'EACCES',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Maps anything a dockerode call threw to the RpcError the protocol answers with. */
export function engineError(e: unknown, what: EngineTarget): RpcError {
  if (isRpcError(e)) return e;
  const subject = describeSubject(what);
  if (e instanceof Error && (e.name === 'AbortError' || (e as NodeJS.ErrnoException).code === 'ABORT_ERR')) {
    return new RpcError('RequestCancelled', `Cancelled: ${what.action}${subject}`);
  }
  const status = statusCodeOf(e);
  if (status === undefined) {
    const code = errnoOf(e);
    if (code !== undefined || isHangUp(e)) {
      const reason = code ?? 'connection closed';
      return new RpcError(
        'DockerUnavailable',
        `Cannot ${what.action}${subject}: the Docker engine${what.endpoint ? ` at ${what.endpoint}` : ''} does not answer (${reason}). Start Docker or check the Docker host setting.`,
        { reason, ...(what.endpoint ? { endpoint: what.endpoint } : {}) },
      );
    }
    return new RpcError('DockerError', `Cannot ${what.action}${subject}: ${messageOf(e)}`);
  }
  const engineMessage = engineMessageOf(e);
  const data = { statusCode: status, engineMessage };
  if (status === 404 && what.kind && what.ref !== undefined) {
    return new RpcError(NOT_FOUND[what.kind], `No ${what.kind} "${what.ref}"`, data);
  }
  if (status === 409) {
    if (what.kind === 'container' && /\brunning\b/i.test(engineMessage)) {
      return new RpcError(
        'ContainerRunning',
        `Container "${what.ref ?? ''}" is running: stop it first or pass force`,
        data,
      );
    }
    return new RpcError('Conflict', `Cannot ${what.action}${subject}: ${engineMessage}`, data);
  }
  return new RpcError('DockerError', `Cannot ${what.action}${subject}: ${engineMessage}`, data);
}

/** Runs one engine call, mapping whatever it throws through {@link engineError}. */
export async function engineCall<T>(what: EngineTarget, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw engineError(e, what);
  }
}

function describeSubject(what: EngineTarget): string {
  if (!what.kind) return '';
  return what.ref !== undefined ? ` ${what.kind} "${what.ref}"` : ` ${what.kind}s`;
}

function statusCodeOf(e: unknown): number | undefined {
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && CONNECTION_CODES.has(code) ? code : undefined;
}

function isHangUp(e: unknown): boolean {
  return e instanceof Error && /socket hang up|premature close|other side closed/i.test(e.message);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The engine's reason: docker-modem keeps the JSON body in `json` (`{message}`) and words its
 * own message as "(HTTP code 404) no such container - No such container: x ".
 */
function engineMessageOf(e: unknown): string {
  const json = (e as { json?: unknown }).json;
  if (json && typeof json === 'object' && !Buffer.isBuffer(json)) {
    const message = (json as { message?: unknown }).message;
    if (typeof message === 'string' && message) return message.trim();
  }
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  const text = messageOf(e);
  const dash = text.indexOf(' - ');
  return (dash >= 0 ? text.slice(dash + 3) : text).trim();
}
