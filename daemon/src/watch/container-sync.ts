/**
 * Files of the working tree into a running container, through the scoped Docker client: the
 * changed files as one tar stream to the Engine API's archive upload (`PUT
 * /containers/{id}/archive` at `/`), into a staging folder of the container's own file system
 * first, then each renamed over its target by one exec of `sh` looping over `mv -f` with the
 * paths as arguments (the script is fixed text): the engine's extraction removes a file before
 * writing it again, so a reader of the target could meet it missing or half written; a rename
 * is atomic (across file systems, into a volume, `mv` copies: not atomic, but whole). An image
 * without `sh` gets the files extracted in place, as before. The deleted ones are removed by an exec of `rm -rf --` with
 * the paths as arguments (never a shell), as root — the owner of the files a sync writes and of
 * the folders an image's COPY makes — with no capability back (the container keeps CapDrop ALL). Entries are owned by root, as `docker cp` leaves
 * them, with mode 0755 for a file executable on the host and 0644 otherwise, so the service's
 * user reads them whatever the host's umask was. Links travel as links. A folder is sent as
 * itself only when it is listed (an empty folder created, mode 0755), never with its content:
 * its files arrive as their own changes.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';
import type { OwnerScope } from '../docker/ownership';
import type { TargetedChange } from './rule-match';

/** What a sync needs of the scoped client (daemon/src/docker/scoped-docker.ts): its own containers only. */
export interface SyncDocker {
  writeArchive(ref: string, path: string, tar: NodeJS.ReadableStream, scope: OwnerScope): Promise<void>;
  run(ref: string, cmd: readonly string[], signal: AbortSignal, scope: OwnerScope, opts: { user: string }): Promise<{ exitCode: number; output: string }>;
}

/** The most paths one `rm` is given (an exec's argument list has a limit); `mv` takes half as many pairs. */
const RM_BATCH = 500;
/** Moves each staged file (odd arguments) over its target (even ones), then removes the staging folder (the first). */
const MOVE_SCRIPT =
  'staging=$1; shift; while [ $# -gt 1 ]; do d=${2%/*}; { [ -z "$d" ] || mkdir -p -- "$d"; } && mv -f -- "$1" "$2" || exit 1; shift 2; done; rm -rf -- "$staging"';
/** Exit codes of an exec whose program is missing or cannot run: the image has no `sh`. */
const NO_SHELL = new Set([126, 127]);

export interface SyncTarget {
  readonly container: string;
  readonly scope: OwnerScope;
  /** Absolute path of the repository root the changes are relative to. */
  readonly root: string;
}

/**
 * Copies the changed files and deletes the deleted ones in the container; a file changed but
 * gone by now is deleted too, a folder skipped. Rejects with an Error saying what failed.
 */
export async function syncIntoContainer(docker: SyncDocker, target: SyncTarget, files: readonly TargetedChange[], signal: AbortSignal): Promise<void> {
  const write = new Map<string, Entry>();
  const remove: string[] = [];
  for (const f of files) {
    const stat = f.change === 'changed' ? lstatOrUndefined(join(target.root, f.path)) : undefined;
    if (!stat) remove.push(f.target);
    else if (stat.isFile() || stat.isSymbolicLink()) write.set(f.path, { target: f.target, executable: (stat.mode & 0o111) !== 0, folder: false });
    else if (stat.isDirectory() && f.folder) write.set(f.path, { target: f.target, executable: true, folder: true });
  }
  const staged = [...write].filter(([, e]) => !e.folder);
  const folders = [...write].filter(([, e]) => e.folder);
  // Folders (empty ones created) in place: making a folder tears nothing.
  if (folders.length) await upload(docker, target, new Map(folders), '', signal);
  if (staged.length) {
    const staging = `/.branchbox-sync-${randomBytes(6).toString('hex')}`;
    await upload(docker, target, new Map(staged), staging, signal);
    const moves: string[] = [];
    for (const [, e] of staged) moves.push(`${staging}${e.target}`, e.target);
    for (let i = 0; i < moves.length; i += RM_BATCH) {
      signal.throwIfAborted();
      const last = i + RM_BATCH >= moves.length;
      // The script removes its first argument: the staging folder with the last batch, a path that is not there before.
      const { exitCode, output } = await docker.run(target.container, ['sh', '-c', MOVE_SCRIPT, 'sync', last ? staging : `${staging}/.none`, ...moves.slice(i, i + RM_BATCH)], signal, target.scope, { user: '0' });
      if (NO_SHELL.has(exitCode)) {
        // No shell to move with: extracted in place, as `docker cp` would.
        await upload(docker, target, new Map(staged.slice(i / 2)), '', signal);
        await docker.run(target.container, ['rm', '-rf', '--', staging], signal, target.scope, { user: '0' }).catch(() => undefined);
        break;
      }
      if (exitCode !== 0) throw new Error(`moving the synced files into place exited with ${exitCode}: ${output.trim().split('\n')[0] ?? ''}`.trim());
    }
  }
  for (let i = 0; i < remove.length; i += RM_BATCH) {
    signal.throwIfAborted();
    const paths = remove.slice(i, i + RM_BATCH);
    const { exitCode, output } = await docker.run(target.container, ['rm', '-rf', '--', ...paths], signal, target.scope, { user: '0' });
    if (exitCode !== 0) throw new Error(`rm in the container exited with ${exitCode}: ${output.trim().split('\n')[0] ?? ''}`.trim());
  }
}

interface Entry {
  readonly target: string;
  readonly executable: boolean;
  readonly folder: boolean;
}

/** One tar of `entries` (repository path → entry) extracted at `/`, each under `prefix` + its target. */
async function upload(docker: SyncDocker, target: SyncTarget, entries: ReadonlyMap<string, Entry>, prefix: string, signal: AbortSignal): Promise<void> {
  const tar = pack(target.root, {
    dereference: false,
    entries: [...entries.keys()],
    // Only the entries listed: a folder's content is not walked.
    ignore: () => true,
    map: (header) => {
      const entry = entries.get(header.name);
      if (entry) {
        header.name = `${prefix}${entry.target}`.replace(/^\/+/, '');
        if (header.type === 'file' || header.type === 'directory') header.mode = entry.executable ? 0o755 : 0o644;
      }
      header.uid = 0;
      header.gid = 0;
      return header;
    },
  }) as unknown as Readable;
  signal.throwIfAborted();
  await docker.writeArchive(target.container, '/', tar, target.scope);
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}
