/**
 * The Docker layer as the rest of the daemon sees it: one interface per resource and one
 * aggregate {@link DockerClient}. Values are plain Branchbox types (the protocol's, from
 * `schemas/src/docker.ts`, so the daemon and its clients cannot drift), never dockerode's.
 * Every method throws an `RpcError`: `ContainerNotFound`/`ImageNotFound`/... for unknown
 * objects, `DockerUnavailable` when the engine does not answer, `DockerError` with the
 * engine's reason otherwise.
 */
import type {
  ContainerDetails,
  ContainerSummary,
  DockerEvent,
  ImageSummary,
  NetworkSummary,
  VolumeSummary,
} from '../../../schemas/src/docker';

export type {
  ContainerDetails,
  ContainerState,
  ContainerSummary,
  DockerEvent,
  DockerObjectType,
  HealthState,
  ImageSummary,
  NetworkSummary,
  PortMapping,
  VolumeSummary,
} from '../../../schemas/src/docker';

/** A Docker event as the engine reports it, before the container model adds the container to it. */
export type EngineEvent = Omit<DockerEvent, 'container'>;

/** Options every call that may take long accepts. */
export interface Cancellable {
  readonly signal?: AbortSignal;
}

/** Labels to match: `key` (present with any value) or `key=value`. */
export type LabelSelector = readonly string[];

/**
 * What `POST /containers/create` takes, in the Engine API's own field names (the subset
 * Branchbox sets). Labels are given by the caller; the label-scoped client adds its instance's.
 */
export interface ContainerCreateSpec {
  readonly Name: string;
  readonly Image: string;
  /** `KEY=value` entries. */
  readonly Env?: readonly string[];
  readonly Labels?: Readonly<Record<string, string>>;
  readonly Cmd?: readonly string[];
  /** `[]` clears the image's. */
  readonly Entrypoint?: readonly string[];
  readonly WorkingDir?: string;
  /** Unset: the image's user. */
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, object>>;
  /** Durations in nanoseconds; `Test: ['NONE']` disables the image's. */
  readonly Healthcheck?: {
    readonly Test: readonly string[];
    readonly Interval?: number;
    readonly Timeout?: number;
    readonly Retries?: number;
    readonly StartPeriod?: number;
  };
  readonly HostConfig: ContainerHostConfig;
}

/** The `HostConfig` of {@link ContainerCreateSpec}: resources, network, ports, mounts and the container's privileges. */
export interface ContainerHostConfig {
  readonly NetworkMode?: string;
  readonly PortBindings?: Readonly<Record<string, readonly { readonly HostIp: string; readonly HostPort: string }[]>>;
  readonly Binds?: readonly string[];
  /** Named and anonymous volumes, binds and tmpfs mounts. */
  readonly Mounts?: readonly { readonly Type: 'volume' | 'bind' | 'tmpfs'; readonly Source?: string; readonly Target: string; readonly ReadOnly: boolean }[];
  /** Path → mount options. */
  readonly Tmpfs?: Readonly<Record<string, string>>;
  readonly NanoCpus?: number;
  readonly Memory?: number;
  readonly RestartPolicy?: { readonly Name: string; readonly MaximumRetryCount?: number };
  readonly SecurityOpt?: readonly string[];
  readonly CapDrop?: readonly string[];
  readonly CapAdd?: readonly string[];
  readonly PidsLimit?: number;
  readonly Privileged?: boolean;
  readonly ReadonlyRootfs?: boolean;
}

export interface ContainerClient {
  /** Containers as the engine lists them (running only unless `all`). */
  list(opts?: { all?: boolean; label?: LabelSelector }): Promise<ContainerSummary[]>;
  /** One container, in full. The environment is returned as configured (mask it before it leaves the daemon). */
  inspect(id: string): Promise<ContainerDetails>;
  /** One container's summary, fresh from the engine (what the container model refreshes with). */
  summary(id: string): Promise<ContainerSummary>;
  /** Starts the container; a running container is left as is. */
  start(id: string): Promise<void>;
  /** Stops the container, killing it after `timeoutSeconds`; a stopped container is left as is. */
  stop(id: string, opts?: { timeoutSeconds?: number } & Cancellable): Promise<void>;
  restart(id: string, opts?: { timeoutSeconds?: number } & Cancellable): Promise<void>;
  /** Removes the container; a running one only with `force` (else `ContainerRunning`). */
  remove(id: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  /** Creates the container (not started); answers its id. */
  create(spec: ContainerCreateSpec): Promise<string>;
  rename(id: string, name: string): Promise<void>;
  /**
   * Resolves with the exit code once the container is not running (-1 when it is gone);
   * undefined when `signal` aborts first.
   */
  waitNotRunning(id: string, signal: AbortSignal): Promise<number | undefined>;
  /** Resolves once the container no longer exists, or after `ms` (whichever comes first). */
  waitRemoved(id: string, ms: number): Promise<void>;
  /**
   * Runs a command in the running container to its end (no terminal, the container's user):
   * its exit code and its output (stdout and stderr, the first 4 KiB). Aborting `signal` stops waiting.
   */
  run(id: string, cmd: readonly string[], signal: AbortSignal, opts?: { user?: string }): Promise<{ exitCode: number; output: string }>;
  /** The container's last `n` output lines (stdout and stderr); none when they cannot be read. */
  lastLines(id: string, n: number): Promise<string[]>;
  /** Streams the container's output lines (stdout and stderr) until it stops or `signal` aborts. */
  followLines(id: string, signal: AbortSignal, onLine: (line: string) => void): Promise<void>;
  /** The ids of the images some container (any state, any labels) was created from. */
  imagesInUse(): Promise<Set<string>>;
  /** Freezes every process of the running container. */
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  /**
   * `path` of the container's filesystem (its volume mounts included; the container need
   * not run) as a tar stream whose entries start with `path`'s last segment.
   */
  readArchive(id: string, path: string): Promise<NodeJS.ReadableStream>;
  /** Extracts the tar into `path` of the container (owners and modes as the tar says); resolves once the engine has it all. */
  writeArchive(id: string, path: string, tar: NodeJS.ReadableStream): Promise<void>;
}

export interface ImageRemoval {
  readonly untagged: string[];
  readonly deleted: string[];
}

export interface ImagePruneResult {
  readonly deleted: string[];
  readonly spaceReclaimed: number;
}

export interface ImageClient {
  /** One image by id or reference. */
  inspect(ref: string): Promise<ImageSummary>;
  list(opts?: { all?: boolean; label?: LabelSelector }): Promise<ImageSummary[]>;
  /** Removes a reference or an image; refused (`Conflict`) while in use unless `force`. */
  remove(image: string, opts?: { force?: boolean }): Promise<ImageRemoval>;
  /**
   * Removes dangling images, or all unused ones with `all`; images labelled
   * `branchbox.base=true` survive unless `includeBase`. `label` narrows what is considered.
   */
  prune(
    opts?: { all?: boolean; includeBase?: boolean; label?: LabelSelector } & Cancellable,
  ): Promise<ImagePruneResult>;
  /** Loads a `docker save` tarball from disk (streamed); answers the references (or ids) loaded. `FileNotFound` if absent. */
  load(path: string, opts?: Cancellable): Promise<string[]>;
}

/** A network with the containers attached to it. */
export interface NetworkDetails extends NetworkSummary {
  /** Ids of the containers attached. */
  readonly containers: readonly string[];
}

export interface NetworkClient {
  list(opts?: { label?: LabelSelector }): Promise<NetworkSummary[]>;
  /** One network by id or exact name. */
  inspect(ref: string): Promise<NetworkDetails>;
  /** Creates a bridge network; answers its id. */
  create(spec: { name: string; labels: Readonly<Record<string, string>> }): Promise<string>;
  /** Attaches the container, reachable inside the network under `aliases` too. */
  connect(network: string, container: string, opts?: { aliases?: readonly string[] }): Promise<void>;
  disconnect(network: string, container: string, opts?: { force?: boolean }): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface VolumeClient {
  list(opts?: { label?: LabelSelector }): Promise<VolumeSummary[]>;
  inspect(name: string): Promise<VolumeSummary>;
  create(spec: { name: string; labels: Readonly<Record<string, string>> }): Promise<VolumeSummary>;
  remove(name: string): Promise<void>;
}

export interface EventClient {
  /**
   * The engine's event stream from `since` (engine time, ms since the epoch; events the engine
   * still holds from then on are replayed first), restricted to containers, images, networks
   * and volumes. Iteration ends when the engine closes the stream and throws when the
   * connection fails; aborting `signal` ends it quietly.
   */
  stream(opts: { since?: number } & Cancellable): Promise<AsyncIterable<EngineEvent>>;
}

export interface EngineVersion {
  readonly version: string;
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
}

export interface SystemClient {
  /** Resolves when the engine answers `/_ping`. */
  ping(opts?: Cancellable): Promise<void>;
  version(): Promise<EngineVersion>;
  /** The engine's clock (ms since the epoch), which event timestamps and `since` refer to. */
  time(): Promise<number>;
}

/** One connection to one engine, by resource. */
export interface DockerClient {
  readonly containers: ContainerClient;
  readonly images: ImageClient;
  readonly networks: NetworkClient;
  readonly volumes: VolumeClient;
  readonly events: EventClient;
  readonly system: SystemClient;
  /** How the engine is reached, printable (e.g. `unix:///var/run/docker.sock`). */
  readonly endpoint: string;
}
