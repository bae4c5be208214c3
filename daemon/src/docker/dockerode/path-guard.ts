/**
 * The last check before a request reaches the Docker engine: dockerode builds every URL path by
 * pasting ids and names into it (`'/containers/' + id + '/json'`), and the engine answers a path
 * with `.`/`..` or empty segments with a redirect that docker-modem follows on a request
 * without an error handler — which once took the whole daemon down (`container/inspect ..`).
 * Params schemas refuse such ids first (schemas/src/docker-refs.ts); this guard covers every
 * other way an id can arrive (a config file, a label), in the one place all paths go through:
 * the modem's `dial`.
 */
import type Docker from 'dockerode';
import { RpcError } from '../../rpc/errors';

/** What may appear in a path: every id, name, reference and digest Docker allows, and `/`. */
const PATH_CHARACTERS = /^[A-Za-z0-9._:@+/-]*$/;

/** Why the engine must not get this path; undefined when it is safe. */
export function enginePathProblem(path: string): string | undefined {
  const [pathname = ''] = path.split('?', 1);
  if (!PATH_CHARACTERS.test(pathname)) return 'it holds characters no Docker id or name has';
  const segments = pathname.split('/').slice(1);
  if (segments.some((s) => s === '')) return 'it has an empty segment';
  if (segments.some((s) => s === '.' || s === '..')) return 'it has a "." or ".." segment';
  return undefined;
}

interface DialOptions {
  readonly path?: string;
}
type Dial = (options: DialOptions, callback: (error: unknown, data?: unknown) => void) => void;

/** Makes `docker` refuse, with InvalidName, any request whose path fails {@link enginePathProblem}. */
export function guardEnginePaths<T extends Docker>(docker: T): T {
  const modem = docker.modem as unknown as { dial: Dial };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    const problem = options.path === undefined ? undefined : enginePathProblem(options.path);
    if (problem === undefined) return dial(options, callback);
    callback(
      new RpcError(
        'InvalidName',
        `Refused to send the Docker engine ${JSON.stringify(options.path)}: ${problem}. ` +
          'Container, network and volume names are letters, digits, "_", "." and "-"; images are references such as registry/repository:tag.',
      ),
    );
  };
  return docker;
}
