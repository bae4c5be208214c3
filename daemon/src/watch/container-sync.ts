/**
 * Files of the working tree into a running container, through the scoped Docker client: the
 * changed files as one tar stream to the Engine API's archive upload (`PUT
 * /containers/{id}/archive` at `/`, each entry named by its target path; missing parent
 * folders are made by the engine), the deleted ones removed by an exec of `rm -rf --` with
 * the paths as arguments (never a shell), as root — the owner of the files a sync writes and of
 * the folders an image's COPY makes — with no capability back (the container keeps CapDrop ALL). Entries are owned by root, as `docker cp` leaves
 * them, with mode 0755 for a file executable on the host and 0644 otherwise, so the service's
 * user reads them whatever the host's umask was. Links travel as links. A folder is sent as
 * itself only when it is listed (an empty folder created, mode 0755), never with its content:
 * its files arrive as their own changes.
 */
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

/** The most paths one `rm` is given (an exec's argument list has a limit). */
const RM_BATCH = 500;

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
  const write = new Map<string, { target: string; executable: boolean }>();
  const remove: string[] = [];
  for (const f of files) {
    const stat = f.change === 'changed' ? lstatOrUndefined(join(target.root, f.path)) : undefined;
    if (!stat) remove.push(f.target);
    else if (stat.isFile() || stat.isSymbolicLink()) write.set(f.path, { target: f.target, executable: (stat.mode & 0o111) !== 0 });
    else if (stat.isDirectory() && f.folder) write.set(f.path, { target: f.target, executable: true });
  }
  if (write.size) {
    const tar = pack(target.root, {
      dereference: false,
      entries: [...write.keys()],
      // Only the entries listed: a folder's content is not walked.
      ignore: () => true,
      map: (header) => {
        const entry = write.get(header.name);
        if (entry) {
          header.name = entry.target.replace(/^\/+/, '');
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
  for (let i = 0; i < remove.length; i += RM_BATCH) {
    signal.throwIfAborted();
    const paths = remove.slice(i, i + RM_BATCH);
    const { exitCode, output } = await docker.run(target.container, ['rm', '-rf', '--', ...paths], signal, target.scope, { user: '0' });
    if (exitCode !== 0) throw new Error(`rm in the container exited with ${exitCode}: ${output.trim().split('\n')[0] ?? ''}`.trim());
  }
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}
