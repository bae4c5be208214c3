/**
 * Where a snapshot's volume data lives: `<stateDir>/snapshots/<snapshot>/<volume>.tar`, each
 * file 0600 in a 0700 directory. A snapshot's files are written into a temporary directory
 * beside it and renamed into place once complete, so a snapshot never has half its data.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE_FILES } from '../../../schemas/node/state-files';

export class SnapshotFiles {
  private readonly root: string;

  constructor(stateDir: string) {
    this.root = join(stateDir, STATE_FILES.snapshots);
  }

  /** The tar of `volume` in snapshot `snapshot` (snapshot names are DNS labels; volume names have no `/`). */
  volumeFile(snapshot: string, volume: string): string {
    return join(this.root, snapshot, `${volume}.tar`);
  }

  /** A new, empty temporary directory to write a snapshot's tars into (see {@link commit}). */
  async prepare(snapshot: string): Promise<string> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const dir = join(this.root, `.${snapshot}.${randomBytes(4).toString('hex')}.partial`);
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** Puts the prepared directory in place as the snapshot's (replacing what a crash may have left under that name). */
  async commit(prepared: string, snapshot: string): Promise<void> {
    const dir = join(this.root, snapshot);
    await rm(dir, { recursive: true, force: true });
    await rename(prepared, dir);
  }

  /** Removes a snapshot's files, or a prepared directory; nothing there is not an error. */
  async remove(snapshotOrPrepared: string): Promise<void> {
    const dir = snapshotOrPrepared.startsWith(this.root) ? snapshotOrPrepared : join(this.root, snapshotOrPrepared);
    await rm(dir, { recursive: true, force: true });
  }
}
