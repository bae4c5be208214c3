/**
 * The data of a sandbox's named volumes (a compose project's `volumes`, one Docker volume
 * `sandbox-{sandbox}_{volume}` each, labelled with the sandbox and this daemon's instance):
 * listed, captured to a tar file, filled from one, copied into another sandbox, removed.
 *
 * Data moves through the Engine's archive API (`GET`/`PUT /containers/{id}/archive`) on a
 * helper container from `branchbox/busybox:1` that mounts the volume at `/volume` and is never
 * started: no process of it runs, so it needs no capability (it is created with CapDrop ALL,
 * no-new-privileges and no network all the same), and the engine itself reads and writes the
 * files, owners and modes included. Helpers are labelled with the sandbox (so sandbox/delete
 * and the reconciler find a leftover) and removed after use, also on failure.
 *
 * While a volume is read, the running containers of its sandbox that mount it are paused (a
 * database is not caught half-way through a write) and unpaused afterwards, also on failure.
 * A volume being filled is always a fresh one: on failure it is removed, so no half-copied
 * data is left behind.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { volumeName } from '../../../schemas/src/docker-names';
import { LABELS } from '../docker/labels';
import type { ScopedDocker } from '../docker/scoped-docker';
import type { ContainerSummary } from '../docker/types';
import { isRpcError, RpcError } from '../rpc/errors';

/** The image of the helper containers (made offline by scripts/setup.sh). */
const VOLUME_HELPER_IMAGE = 'branchbox/busybox:1';
const MOUNT = '/volume';

/** A project volume of a sandbox. */
export interface SandboxVolume {
  /** The project's name for it (the compose `volumes` key). */
  readonly name: string;
  /** The Docker volume. */
  readonly dockerName: string;
}

/** What the sandbox lifecycle needs of volume data (tests pass a fake). */
export interface VolumeDataOps {
  list(sandbox: string): Promise<SandboxVolume[]>;
  /** Writes the volume's data as a tar to `file` (0600, written under a temporary name, then renamed); answers its size in bytes. */
  capture(sandbox: string, volume: string, file: string): Promise<number>;
  /** Makes the sandbox's volume afresh, filled from the tar `file` (empty without one). */
  fill(sandbox: string, volume: string, file: string | undefined): Promise<void>;
  /** Makes `to`'s volume afresh with a copy of `from`'s. */
  copy(from: string, to: string, volume: string): Promise<void>;
  /** The containers of the sandbox (any state) mounting each of the volumes; only volumes that have some. */
  users(sandbox: string, volumes: readonly string[]): Promise<Map<string, string[]>>;
  /** Removes every volume labelled with the sandbox; answers the project names of those removed. */
  removeAll(sandbox: string): Promise<string[]>;
}

export class VolumeData implements VolumeDataOps {
  /** How many data moves hold each container paused now (by container id). */
  private readonly pauses = new Map<string, number>();

  constructor(private readonly docker: ScopedDocker) {}

  async list(sandbox: string): Promise<SandboxVolume[]> {
    const prefix = volumeName(sandbox, '');
    return (await this.docker.volumes([`${LABELS.sandbox}=${sandbox}`]))
      .filter((v) => v.name.startsWith(prefix) && v.name.length > prefix.length)
      .map((v) => ({ name: v.name.slice(prefix.length), dockerName: v.name }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async capture(sandbox: string, volume: string, file: string): Promise<number> {
    const source = await this.requireOwn(sandbox, volume);
    const temp = `${file}.${randomBytes(4).toString('hex')}.partial`;
    try {
      await this.paused(sandbox, [source], () =>
        this.withHelper(sandbox, source, true, async (helper) => {
          const tar = await this.docker.readArchive(helper, MOUNT, { sandbox });
          await pipeline(tar, createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
        }),
      );
      await rename(temp, file);
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw dataError(e, `capture volume ${volume} of sandbox ${sandbox}`);
    }
    return (await stat(file)).size;
  }

  async fill(sandbox: string, volume: string, file: string | undefined): Promise<void> {
    if (file !== undefined) await stat(file).catch((e: unknown) => {
      throw new RpcError('FileNotFound', `The data of volume ${volume} is missing: ${file} (${(e as Error).message}).`, { path: file });
    });
    const target = await this.fresh(sandbox, volume);
    if (file === undefined) return;
    await this.filling(sandbox, target, async (helper) => {
      await this.docker.writeArchive(helper, '/', createReadStream(file), { sandbox });
    });
  }

  async copy(from: string, to: string, volume: string): Promise<void> {
    const source = await this.requireOwn(from, volume);
    const target = await this.fresh(to, volume);
    await this.paused(from, [source], () =>
      this.withHelper(from, source, true, (reader) =>
        this.filling(to, target, async (writer) => {
          const tar = await this.docker.readArchive(reader, MOUNT, { sandbox: from });
          await this.docker.writeArchive(writer, '/', tar, { sandbox: to });
        }),
      ),
    );
  }

  async users(sandbox: string, volumes: readonly string[]): Promise<Map<string, string[]>> {
    const wanted = new Map(volumes.map((v) => [volumeName(sandbox, v), v]));
    const found = new Map<string, string[]>();
    for (const { container, mounted } of await this.mounting(sandbox, [...wanted.keys()])) {
      for (const name of mounted) {
        const v = wanted.get(name)!;
        found.set(v, [...(found.get(v) ?? []), container.name]);
      }
    }
    return found;
  }

  async removeAll(sandbox: string): Promise<string[]> {
    const prefix = volumeName(sandbox, '');
    const removed: string[] = [];
    for (const v of await this.docker.volumes([`${LABELS.sandbox}=${sandbox}`])) {
      await this.docker.removeVolume(v.name, { sandbox });
      removed.push(v.name.startsWith(prefix) ? v.name.slice(prefix.length) : v.name);
    }
    return removed.sort();
  }

  // -------------------------------------------------------------------------------------------

  /** The Docker name of the sandbox's volume, which must exist and be this instance's and the sandbox's. */
  private async requireOwn(sandbox: string, volume: string): Promise<string> {
    const name = volumeName(sandbox, volume);
    const v = await this.docker.inspectVolume(name);
    if (!v) throw new RpcError('VolumeNotFound', `Sandbox ${sandbox} has no volume ${volume} (${name}).`, { sandbox, volume });
    this.docker.ownership.check('read', { kind: 'volume', id: v.name, name: v.name, labels: v.labels }, { sandbox });
    return name;
  }

  /** The sandbox's volume made anew: an existing one (this instance's, of this sandbox, mounted by nothing) is removed first. */
  private async fresh(sandbox: string, volume: string): Promise<string> {
    const name = volumeName(sandbox, volume);
    if (await this.docker.inspectVolume(name)) {
      const users = (await this.users(sandbox, [volume])).get(volume);
      if (users?.length)
        throw new RpcError('Conflict', `Volume ${volume} of sandbox ${sandbox} is in use by ${users.join(', ')}; its data cannot be replaced.`, {
          sandbox,
          volume,
          containers: users,
        });
      await this.docker.removeVolume(name, { sandbox });
    }
    await this.docker.createVolume(name, { sandbox });
    return name;
  }

  /** Runs `fill` with a helper mounting the fresh `target`; on failure the volume goes, so nothing half-copied remains. */
  private async filling(sandbox: string, target: string, fill: (helper: string) => Promise<void>): Promise<void> {
    try {
      await this.withHelper(sandbox, target, false, fill);
    } catch (e) {
      await this.docker.removeVolume(target, { sandbox }).catch(() => undefined);
      throw dataError(e, `fill volume ${target}`);
    }
  }

  /** A helper container (created, never started) mounting `volume` at /volume for `use`, removed afterwards. */
  private async withHelper<T>(sandbox: string, volume: string, readOnly: boolean, use: (id: string) => Promise<T>): Promise<T> {
    const id = await this.docker.createContainer(
      {
        Name: `${volume}-data-${randomBytes(4).toString('hex')}`,
        Image: VOLUME_HELPER_IMAGE,
        Cmd: ['true'],
        HostConfig: {
          NetworkMode: 'none',
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          Mounts: [{ Type: 'volume', Source: volume, Target: MOUNT, ReadOnly: readOnly }],
        },
      },
      { sandbox },
    );
    try {
      return await use(id);
    } finally {
      await this.docker.removeContainer(id, { sandbox }).catch(() => undefined);
    }
  }

  /** The containers of the sandbox (any state) mounting some of the Docker volumes `dockerNames`, with those they mount. */
  private async mounting(sandbox: string, dockerNames: readonly string[]): Promise<{ container: ContainerSummary; mounted: string[] }[]> {
    const found: { container: ContainerSummary; mounted: string[] }[] = [];
    for (const container of await this.docker.containers([`${LABELS.sandbox}=${sandbox}`])) {
      const details = await this.docker.inspectContainer(container.id);
      const mounted = (details?.mounts ?? []).flatMap((m) => (m.name !== undefined && dockerNames.includes(m.name) ? [m.name] : []));
      if (mounted.length) found.push({ container, mounted });
    }
    return found;
  }

  /**
   * Runs `work` with the sandbox's running containers mounting any of `volumes` paused, and
   * unpaused afterwards whatever happens. Pauses are counted per container: two captures or
   * copies at once keep it paused until the last one ends; one paused by someone else is left
   * as it is.
   */
  private async paused<T>(sandbox: string, volumes: readonly string[], work: () => Promise<T>): Promise<T> {
    const held: string[] = [];
    try {
      for (const { container: c } of await this.mounting(sandbox, volumes)) {
        const holds = this.pauses.get(c.id) ?? 0;
        if (holds === 0) {
          if (c.state !== 'running') continue;
          await this.docker.pause(c.id, { sandbox });
        }
        this.pauses.set(c.id, holds + 1);
        held.push(c.id);
      }
      return await work();
    } finally {
      for (const id of held) {
        const holds = this.pauses.get(id)! - 1;
        if (holds > 0) {
          this.pauses.set(id, holds);
          continue;
        }
        this.pauses.delete(id);
        await this.docker.unpause(id, { sandbox }).catch(() => undefined);
      }
    }
  }
}

/** An error of a data move: engine errors as they are, disk errors as `InternalError` naming the step and the errno. */
function dataError(e: unknown, step: string): Error {
  if (isRpcError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  return new RpcError('InternalError', `Cannot ${step}: ${err.code ? `${err.code} ` : ''}${err.message ?? String(e)}`, {
    ...(err.code ? { code: err.code } : {}),
  });
}
