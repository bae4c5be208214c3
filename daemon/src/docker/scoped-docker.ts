/**
 * The one Docker client every feature goes through, scoped by labels to what this daemon
 * instance owns (see ./ownership.ts):
 *
 * - what it lists is this instance's (`branchbox.managed=true`, `branchbox.instance=<id>`);
 * - what it creates — containers, networks, volumes — carries this instance's labels (and
 *   the sandbox/service it is created for); image builds take {@link Ownership.labels};
 * - it renames, stops, starts, restarts, disconnects or removes an object only once its
 *   labels say it is this instance's (and, when the caller acts for a sandbox or service,
 *   that one's): the object is inspected by the reference given, checked, and then acted on by
 *   its id (an id never changes labels). A refusal is `Conflict` naming the owner; removing
 *   what is already gone is not an error.
 *
 * Features take narrow interfaces of it (the deploy pipeline's `DeployDocker`, the
 * lifecycle's `LifecycleDocker`, the sandbox module's `SandboxDockerObjects`). The `user`
 * view is for what a user names through `container/*`: anything, as the docker CLI does,
 * except an object of another Branchbox instance.
 */
import { isRpcError } from '../rpc/errors';
import { LABELS } from './labels';
import { Ownership, type LabelledObject, type OwnerScope } from './ownership';
import type { ContainerCreateSpec, ContainerDetails, ContainerSummary, DockerClient, DockerObjectType, ImageSummary, NetworkDetails, NetworkSummary, VolumeSummary } from './types';

export type { OwnerScope } from './ownership';

/** The `container/*` actions a user may ask for, refused only on another instance's containers. */
export interface UserContainerActions {
  start(ref: string): Promise<void>;
  stop(ref: string, opts?: { timeoutSeconds?: number; signal?: AbortSignal }): Promise<void>;
  restart(ref: string, opts?: { timeoutSeconds?: number; signal?: AbortSignal }): Promise<void>;
  remove(ref: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
}

const NOT_FOUND = new Set(['ContainerNotFound', 'NetworkNotFound', 'ImageNotFound', 'VolumeNotFound']);
const isNotFound = (e: unknown) => isRpcError(e) && NOT_FOUND.has(e.errorName);
/** 404, or 409 "removal ... already in progress": the object is gone, or someone else finishes removing it. */
const isGone = (e: unknown) =>
  isNotFound(e) || (isRpcError(e) && e.errorName === 'Conflict' && /already in progress/i.test(e.message));

export class ScopedDocker {
  /** The `container/*` actions on what a user names (see the module comment). */
  readonly user: UserContainerActions;

  constructor(
    /** The connected engine's client; throws RpcError DockerUnavailable when there is none. */
    private readonly client: () => DockerClient,
    readonly ownership: Ownership,
  ) {
    this.user = userActions(client, ownership);
  }

  // ---- listing: this instance's objects ----

  /** This instance's containers (any state) carrying every selector (`key` or `key=value`). */
  containers(selectors: readonly string[] = []): Promise<ContainerSummary[]> {
    return this.client().containers.list({ all: true, label: [...this.ownership.selectors(), ...selectors] });
  }

  networks(selectors: readonly string[] = []): Promise<NetworkSummary[]> {
    return this.client().networks.list({ label: [...this.ownership.selectors(), ...selectors] });
  }

  /** This instance's images (tagged and dangling, not intermediate layers), base images (`branchbox.base=true`) excepted. */
  async images(selectors: readonly string[] = []): Promise<ImageSummary[]> {
    const images = await this.client().images.list({ label: [...this.ownership.selectors(), ...selectors] });
    return images.filter((i) => i.labels[LABELS.base] !== 'true');
  }

  volumes(selectors: readonly string[] = []): Promise<VolumeSummary[]> {
    return this.client().volumes.list({ label: [...this.ownership.selectors(), ...selectors] });
  }

  // ---- reading: any object ----

  /** The container by id or name, whoever owns it; undefined when there is none. */
  inspectContainer(ref: string): Promise<ContainerDetails | undefined> {
    return orUndefined(this.client().containers.inspect(ref));
  }

  /** The network by id or exact name, whoever owns it; undefined when there is none. */
  inspectNetwork(ref: string): Promise<NetworkDetails | undefined> {
    return orUndefined(this.client().networks.inspect(ref));
  }

  /** The volume by name, whoever owns it; undefined when there is none. */
  inspectVolume(name: string): Promise<VolumeSummary | undefined> {
    return orUndefined(this.client().volumes.inspect(name));
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await orUndefined(this.client().images.inspect(ref))) !== undefined;
  }

  /** Every image on the engine, intermediate ones included (for the parent links and sizes). */
  allImages(): Promise<ImageSummary[]> {
    return this.client().images.list({ all: true });
  }

  /** Ids of the images some container (any state, anyone's) uses. */
  imagesInUse(): Promise<Set<string>> {
    return this.client().containers.imagesInUse();
  }

  waitNotRunning(id: string, signal: AbortSignal): Promise<number | undefined> {
    return this.client().containers.waitNotRunning(id, signal);
  }

  lastLines(id: string, n: number): Promise<string[]> {
    return this.client().containers.lastLines(id, n);
  }

  followLines(id: string, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
    return this.client().containers.followLines(id, signal, onLine);
  }

  // ---- creating: stamped with this instance's labels ----

  /** Creates the container labelled for this instance and `scope` (over the spec's own labels); answers its id. */
  createContainer(spec: ContainerCreateSpec, scope: OwnerScope): Promise<string> {
    return this.client().containers.create({ ...spec, Labels: { ...spec.Labels, ...this.ownership.labels(scope) } });
  }

  createNetwork(name: string, scope: OwnerScope): Promise<string> {
    return this.client().networks.create({ name, labels: this.ownership.labels(scope) });
  }

  createVolume(name: string, scope: OwnerScope): Promise<VolumeSummary> {
    return this.client().volumes.create({ name, labels: this.ownership.labels(scope) });
  }

  /** The volume, created for `scope` unless it exists; an existing one must be this instance's, of `scope` (else `Conflict`). */
  async ensureVolume(name: string, scope: OwnerScope): Promise<VolumeSummary> {
    const existing = await this.inspectVolume(name);
    if (existing) {
      this.ownership.check('mount', { kind: 'volume', id: existing.name, name: existing.name, labels: existing.labels }, scope);
      return existing;
    }
    return this.createVolume(name, scope);
  }

  // ---- acting: only on this instance's objects ----

  async start(ref: string, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('start', ref, scope);
    await this.client().containers.start(c.id);
  }

  async stop(ref: string, timeoutSeconds: number, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('stop', ref, scope);
    await this.client().containers.stop(c.id, { timeoutSeconds });
  }

  async restart(ref: string, timeoutSeconds: number, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('restart', ref, scope);
    await this.client().containers.restart(c.id, { timeoutSeconds });
  }

  /** Freezes the container's processes (a paused one is left as is). */
  async pause(ref: string, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('pause', ref, scope);
    if (c.state !== 'paused') await this.client().containers.pause(c.id);
  }

  async unpause(ref: string, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('unpause', ref, scope);
    await this.client().containers.unpause(c.id);
  }

  /** `path` of the container (its mounts included; it need not run) as a tar stream. */
  async readArchive(ref: string, path: string, scope: OwnerScope = {}): Promise<NodeJS.ReadableStream> {
    const c = await this.ownContainer('read from', ref, scope);
    return this.client().containers.readArchive(c.id, path);
  }

  /** Extracts the tar into `path` of the container (its mounts included; it need not run). */
  async writeArchive(ref: string, path: string, tar: NodeJS.ReadableStream, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('write into', ref, scope);
    await this.client().containers.writeArchive(c.id, path, tar);
  }

  async rename(ref: string, name: string, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('rename', ref, scope);
    await this.client().containers.rename(c.id, name);
  }

  /** Removes the container whatever its state (with its anonymous volumes); one already gone is not an error. */
  async removeContainer(ref: string, scope: OwnerScope = {}): Promise<void> {
    const c = await this.ownContainer('remove', ref, scope, { missing: 'ignore' });
    if (c) await ignoreGone(this.client().containers.remove(c.id, { force: true, volumes: true }));
  }

  /**
   * Attaches the container to the network again under `aliases` (disconnected first when it
   * is attached: an endpoint's aliases are set when it is made). Both must be this instance's.
   */
  async reattach(network: string, container: string, aliases: readonly string[], scope: OwnerScope): Promise<void> {
    // One inspect of each, at once: the container's answers its owner and (a stopped one keeps
    // its endpoint, which the network does not list) whether it is attached.
    const [n, c] = await Promise.all([this.ownNetwork('connect a container to', network, { sandbox: scope.sandbox }), this.client().containers.inspect(container)]);
    this.ownership.check('connect', labelled('container', c), scope);
    const attached = c.networks.some((e) => e.id === n.id || e.name === n.name);
    if (attached) await this.client().networks.disconnect(n.id, c.id, { force: true });
    await this.client().networks.connect(n.id, c.id, { aliases });
  }

  /**
   * Removes the network, first disconnecting what is still attached — only containers of
   * this instance: another's attached makes it `Conflict`. One already gone is not an error.
   */
  async removeNetwork(ref: string, scope: OwnerScope = {}): Promise<void> {
    const n = await this.ownNetwork('remove', ref, scope, { missing: 'ignore' });
    if (!n) return;
    for (const id of n.containers) {
      const c = await this.ownContainer('disconnect', id, {}, { missing: 'ignore' });
      if (c) await ignoreGone(this.client().networks.disconnect(n.id, c.id, { force: true }));
    }
    await ignoreGone(this.client().networks.remove(n.id));
  }

  /**
   * Removes the image (each of its tags, never forced): `in-use` when a container uses it,
   * which leaves it; one already gone is not an error.
   */
  async removeImage(ref: string, scope: OwnerScope = {}): Promise<'removed' | 'in-use'> {
    const image = await orUndefined(this.client().images.inspect(ref));
    if (!image) return 'removed';
    this.ownership.check('remove', { kind: 'image', id: image.id, name: image.tags[0] ?? shortId(image.id), labels: image.labels }, scope);
    // By tag: removing an image by id fails while it has several tags; the last tag removes it.
    for (const tag of image.tags.length ? image.tags : [image.id]) {
      try {
        await this.client().images.remove(tag);
      } catch (e) {
        if (isNotFound(e)) continue;
        if (isRpcError(e) && (e.errorName === 'Conflict' || e.errorName === 'ContainerRunning')) return 'in-use';
        throw e;
      }
    }
    return 'removed';
  }

  async removeVolume(name: string, scope: OwnerScope = {}): Promise<void> {
    const volume = await orUndefined(this.client().volumes.inspect(name));
    if (!volume) return;
    this.ownership.check('remove', { kind: 'volume', id: volume.name, name: volume.name, labels: volume.labels }, scope);
    await ignoreGone(this.client().volumes.remove(volume.name));
  }

  /** Runs a command in this instance's container (of `scope`) to its end, as its user or `opts.user`: its exit code and output. */
  async run(ref: string, cmd: readonly string[], signal: AbortSignal, scope: OwnerScope = {}, opts: { user?: string } = {}): Promise<{ exitCode: number; output: string }> {
    const c = await this.ownContainer('exec in', ref, scope);
    return this.client().containers.run(c.id, cmd, signal, opts);
  }

  // ---- the check ----

  private ownContainer(action: string, ref: string, scope: OwnerScope): Promise<ContainerSummary>;
  private ownContainer(action: string, ref: string, scope: OwnerScope, opts: { missing: 'ignore' }): Promise<ContainerSummary | undefined>;
  private async ownContainer(action: string, ref: string, scope: OwnerScope, opts?: { missing: 'ignore' }): Promise<ContainerSummary | undefined> {
    const c = opts ? await orUndefined(this.client().containers.summary(ref)) : await this.client().containers.summary(ref);
    if (c) this.ownership.check(action, labelled('container', c), scope);
    return c;
  }

  private ownNetwork(action: string, ref: string, scope: OwnerScope): Promise<NetworkDetails>;
  private ownNetwork(action: string, ref: string, scope: OwnerScope, opts: { missing: 'ignore' }): Promise<NetworkDetails | undefined>;
  private async ownNetwork(action: string, ref: string, scope: OwnerScope, opts?: { missing: 'ignore' }): Promise<NetworkDetails | undefined> {
    const n = opts ? await orUndefined(this.client().networks.inspect(ref)) : await this.client().networks.inspect(ref);
    if (n) this.ownership.check(action, labelled('network', n), scope);
    return n;
  }
}

function userActions(client: () => DockerClient, ownership: Ownership): UserContainerActions {
  const checked = async (action: string, ref: string): Promise<string> => {
    const c = await client().containers.summary(ref);
    ownership.checkNotForeign(action, labelled('container', c));
    return c.id;
  };
  return {
    start: async (ref) => client().containers.start(await checked('start', ref)),
    stop: async (ref, opts) => client().containers.stop(await checked('stop', ref), opts),
    restart: async (ref, opts) => client().containers.restart(await checked('restart', ref), opts),
    remove: async (ref, opts) => client().containers.remove(await checked('remove', ref), opts),
  };
}

function labelled(kind: DockerObjectType, o: { id: string; name: string; labels: Readonly<Record<string, string>> }): LabelledObject {
  return { kind, id: o.id, name: o.name || shortId(o.id), labels: o.labels };
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function ignoreGone(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (e) {
    if (!isGone(e)) throw e;
  }
}
