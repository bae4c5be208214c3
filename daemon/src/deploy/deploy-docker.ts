/**
 * Every Docker call the deploy pipeline makes, behind one interface ({@link DeployDocker}) so
 * the pipeline's logic is testable without an engine, and its dockerode implementation: an
 * adapter only. Image builds are streamed over dockerode — the context from
 * `build-context.ts`, the answer read by `json-lines.ts` and kept by `build-output.ts`,
 * cancelled by aborting the request —; everything else goes through the daemon's one
 * label-scoped client (`docker/scoped-docker.ts`), a container created from
 * `container-config.ts`'s config: containers are created with this instance's labels, and
 * only this instance's containers of the deployment's sandbox and service are started,
 * renamed, re-attached or removed. Engine failures are mapped by the Docker layer's
 * `engineError` (`ImageNotFound`, `DockerUnavailable`, `DockerError` with the engine's reason).
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { engineError, type EngineTarget } from '../docker/dockerode/engine-error';
import type { OwnerScope, ScopedDocker } from '../docker/scoped-docker';
import type { DockerHealthcheck, RestartPolicy } from '../../../schemas/src/project';
import { LABELLED_DOCKERFILE, isGeneratedLabel, packContext, type ContextFiles } from './build-context';
import { BUILD_TAIL, BuildOutput, type BuildStep } from './build-output';
import { containerConfig } from './container-config';
import { abortError, readJsonLines } from './json-lines';

export type LineSink = (line: string) => void;

export interface BuildSpec {
  /** The context folder (a real path) and the generated Dockerfile (labelled after every FROM). */
  readonly context: ContextFiles;
  readonly tag: string;
  /**
   * Labels set through the build API, the classic builder making a step of each: those of the
   * tagged image that the generated Dockerfile could not carry (build-context.ts), else none.
   */
  readonly labels: Readonly<Record<string, string>>;
  readonly buildArgs: Readonly<Record<string, string>>;
  /** The stage of a multi-stage Dockerfile to build (default: the last). */
  readonly target?: string;
  readonly signal: AbortSignal;
  readonly onLine: LineSink;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  /** The sandbox and service it is created for: it carries their labels and this instance's. */
  readonly owner: Required<OwnerScope>;
  /** Labels besides the owner's (the deployment, the commit). */
  readonly labels: Readonly<Record<string, string>>;
  readonly network: string;
  /** Published on `hostPort` when set; a service without a port publishes nothing. */
  readonly containerPort?: number;
  readonly hostPort?: number;
  /** Default 127.0.0.1. */
  readonly hostIp?: string;
  /** Further published ports (compose `ports`), each on its own host port of `hostIp`. */
  readonly published?: readonly PublishedPort[];
  /** Ports exposed on the sandbox network only. */
  readonly expose?: readonly number[];
  readonly cmd?: readonly string[];
  /** `[]` clears the image's entrypoint. */
  readonly entrypoint?: readonly string[];
  readonly workingDir?: string;
  /** The service's own labels: the owner's and `labels` win over them; `branchbox.*` ones are dropped. */
  readonly userLabels?: Readonly<Record<string, string>>;
  /** The engine's restart policy; unset: never restarted by the engine. */
  readonly restart?: RestartPolicy;
  readonly healthcheck?: DockerHealthcheck;
  /** `path[:options]` tmpfs mounts. */
  readonly tmpfs?: readonly string[];
  /** Volumes (by Docker volume name; no source: anonymous), binds (absolute host paths) and tmpfs mounts. */
  readonly mounts?: readonly ResolvedMount[];
  /** `host:container[:ro]` bind mounts. */
  readonly binds?: readonly string[];
  readonly nanoCpus?: number;
  readonly memoryBytes?: number;
  /** How the container is confined (deploy/hardening.ts makes it); unset: the engine's defaults. */
  readonly security?: ContainerSecurity;
}

export interface PublishedPort {
  readonly container: number;
  readonly protocol: 'tcp' | 'udp';
  readonly hostPort: number;
}

/** A mount with its source resolved: a Docker volume's name, or a real host path. */
export interface ResolvedMount {
  readonly type: 'volume' | 'bind' | 'tmpfs';
  readonly source?: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/** A container's confinement, as HostConfig SecurityOpt, CapDrop, CapAdd, PidsLimit and Config.User. */
export interface ContainerSecurity {
  readonly noNewPrivileges: boolean;
  readonly capDrop: readonly string[];
  readonly capAdd: readonly string[];
  readonly pidsLimit: number;
  /** Unset: the image's USER. */
  readonly user?: string;
}

export interface DeployContainerState {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  readonly exitCode: number;
  readonly oomKilled: boolean;
  /** The engine's reason when it could not run the container. */
  readonly error?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Its aliases on each network it is attached to, by network name. */
  readonly aliases: Readonly<Record<string, readonly string[]>>;
  /** Docker's health status, when the container has a HEALTHCHECK (its own or its image's, not NONE). */
  readonly health?: 'starting' | 'healthy' | 'unhealthy';
  /** The last health probe's exit code and output. */
  readonly lastHealthProbe?: { readonly exitCode: number; readonly output: string };
}

export interface LabelledContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The image build failed; `lastLines` are the build's last output lines. */
export class BuildFailure extends Error {
  constructor(
    message: string,
    readonly lastLines: readonly string[],
    /** The Dockerfile step that failed (Dockerfile builds that began a step). */
    readonly step?: BuildStep,
  ) {
    super(message);
    this.name = 'BuildFailure';
  }
}

export const isBuildFailure = (e: unknown): e is BuildFailure =>
  e instanceof BuildFailure || (e instanceof Error && e.name === 'BuildFailure' && Array.isArray((e as BuildFailure).lastLines));

export interface DeployDocker {
  imageExists(ref: string): Promise<boolean>;
  /** The image's USER (`Config.User`, empty when it sets none); undefined when there is no such image. */
  imageUser(ref: string): Promise<string | undefined>;
  /** Builds and tags the image; output lines go to `onLine` as they come. Throws BuildFailure. */
  buildImage(spec: BuildSpec): Promise<void>;
  /**
   * The Docker volume, created with the sandbox's owner labels unless it exists; refused
   * (`Conflict` naming the owner) when it exists and is not this instance's, of that sandbox.
   */
  ensureVolume(name: string, owner: { sandbox: string }): Promise<void>;
  /** Creates the container (not started), labelled for this instance and `spec.owner`; answers its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /**
   * Like every action below: refused (`Conflict` naming the owner) unless the container is
   * this instance's, and of `owner`'s sandbox and service when given.
   */
  startContainer(id: string, owner: OwnerScope): Promise<void>;
  /** Stops a container (SIGTERM, then SIGKILL after the grace period); a stopped one stays stopped. */
  stopContainer(id: string, owner: OwnerScope): Promise<void>;
  renameContainer(id: string, name: string, owner: OwnerScope): Promise<void>;
  /** Removes the container (killing it); a container already gone is not an error. */
  removeContainer(id: string, owner?: OwnerScope): Promise<void>;
  /** Attaches the container to the network again, reachable there under `aliases` too. */
  reattach(network: string, id: string, aliases: readonly string[], owner: OwnerScope): Promise<void>;
  /** The container by id or name, or undefined when there is none. */
  inspectContainer(idOrName: string): Promise<DeployContainerState | undefined>;
  /** Resolves with the exit code once the container is not running; undefined when `signal` aborts first. */
  waitExit(id: string, signal: AbortSignal): Promise<number | undefined>;
  /** Streams the container's output lines (stdout and stderr) until it stops or `signal` aborts. */
  followLogs(id: string, signal: AbortSignal, onLine: LineSink): Promise<void>;
  /** The container's last `n` output lines. */
  lastLogLines(id: string, n: number): Promise<string[]>;
  /** Runs a command in the container (a command health check) to its end: its exit code and output. */
  runCommand(id: string, cmd: readonly string[], signal: AbortSignal, owner: OwnerScope): Promise<{ exitCode: number; output: string }>;
  /** This instance's containers (any state) carrying every label selector (`key` or `key=value`). */
  listContainers(labels: readonly string[]): Promise<LabelledContainer[]>;
}

/** How long a cancelled build waits for the engine to remove the container of its running step. */
const STEP_REMOVAL_WAIT_MS = 10_000;

export class DockerodeDeployDocker implements DeployDocker {
  constructor(
    /** For image builds (streamed). */
    private readonly docker: Docker,
    /** For everything else. */
    private readonly scoped: ScopedDocker,
    private readonly endpoint: string = 'the Docker engine',
  ) {}

  imageExists(ref: string): Promise<boolean> {
    return this.scoped.imageExists(ref);
  }

  async imageUser(ref: string): Promise<string | undefined> {
    try {
      return (await this.docker.getImage(ref).inspect()).Config?.User ?? '';
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw engineError(e, this.target('inspect', 'image', ref));
    }
  }

  async buildImage(spec: BuildSpec): Promise<void> {
    const output = new BuildOutput(spec.onLine, BUILD_TAIL, isGeneratedLabel);
    // Aborting the request makes the engine stop the build, in its own time; the step's
    // container is removed here so nothing of a cancelled build outlives the cancellation.
    const cancelled = async () => {
      const step = output.stepContainer;
      if (step) {
        await this.removeStepContainer(step).catch(() => undefined);
        await this.waitRemoved(step, STEP_REMOVAL_WAIT_MS);
      }
      return abortError(spec.signal);
    };
    // The generated Dockerfile and .dockerignore travel in the tar stream: nothing is written to the source.
    const context = packContext(spec.context);
    let response: NodeJS.ReadableStream;
    try {
      response = await this.docker.buildImage(context as unknown as NodeJS.ReadableStream, {
        t: spec.tag,
        dockerfile: LABELLED_DOCKERFILE,
        labels: { ...spec.labels },
        buildargs: { ...spec.buildArgs },
        ...(spec.target ? { target: spec.target } : {}),
        rm: true,
        forcerm: true,
        abortSignal: spec.signal,
      } as Docker.ImageBuildOptions);
    } catch (e) {
      context.destroy();
      throw engineError(e, this.target('build', 'image', spec.tag));
    }
    try {
      await readJsonLines(response as Readable, output.take, spec.signal);
    } catch (e) {
      if (spec.signal.aborted) throw await cancelled();
      throw engineError(e, this.target('build', 'image', spec.tag));
    } finally {
      context.destroy();
    }
    output.end();
    if (spec.signal.aborted) throw await cancelled();
    if (output.error !== undefined) throw new BuildFailure(output.error, output.lastLines(), output.lastStep);
    if (!(await this.imageExists(spec.tag))) throw new BuildFailure('the build ended without producing the image', output.lastLines(), output.lastStep);
  }

  async ensureVolume(name: string, owner: { sandbox: string }): Promise<void> {
    await this.scoped.ensureVolume(name, owner);
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.scoped.createContainer(containerConfig(spec), spec.owner);
  }

  startContainer(id: string, owner: OwnerScope): Promise<void> {
    return this.scoped.start(id, owner);
  }

  stopContainer(id: string, owner: OwnerScope): Promise<void> {
    return this.scoped.stop(id, 10, owner);
  }

  renameContainer(id: string, name: string, owner: OwnerScope): Promise<void> {
    return this.scoped.rename(id, name, owner);
  }

  removeContainer(id: string, owner: OwnerScope = {}): Promise<void> {
    return this.scoped.removeContainer(id, owner);
  }

  reattach(network: string, id: string, aliases: readonly string[], owner: OwnerScope): Promise<void> {
    return this.scoped.reattach(network, id, aliases, owner);
  }

  /**
   * A container the engine's builder made for the step of this build that runs now (its id
   * comes from the build's own output): removed as such, whatever its labels.
   */
  private async removeStepContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 404 || (status === 409 && /already in progress/i.test(String((e as Error).message)))) return;
      throw engineError(e, this.target('remove', 'container', id));
    }
  }

  /** Resolves once the container no longer exists (the engine may still be removing it), or after `ms`. */
  private async waitRemoved(id: string, ms: number): Promise<void> {
    const signal = AbortSignal.timeout(ms);
    try {
      await this.docker.getContainer(id).wait({ condition: 'removed', abortSignal: signal });
    } catch {
      // 404: already gone; or the time is up.
    }
  }

  async inspectContainer(idOrName: string): Promise<DeployContainerState | undefined> {
    const c = await this.scoped.inspectContainer(idOrName);
    if (!c) return undefined;
    return {
      id: c.id,
      name: c.name,
      running: c.state === 'running' || c.state === 'restarting',
      exitCode: c.exitCode ?? 0,
      oomKilled: c.oomKilled,
      ...(c.health ? { health: c.health } : {}),
      ...(c.error ? { error: c.error } : {}),
      labels: c.labels,
      aliases: Object.fromEntries(c.networks.map((n) => [n.name, n.aliases])),
      ...(c.lastHealthProbe ? { lastHealthProbe: { exitCode: c.lastHealthProbe.exitCode, output: c.lastHealthProbe.output } } : {}),
    };
  }

  waitExit(id: string, signal: AbortSignal): Promise<number | undefined> {
    return this.scoped.waitNotRunning(id, signal);
  }

  followLogs(id: string, signal: AbortSignal, onLine: LineSink): Promise<void> {
    return this.scoped.followLines(id, signal, onLine);
  }

  lastLogLines(id: string, n: number): Promise<string[]> {
    return this.scoped.lastLines(id, n);
  }

  runCommand(id: string, cmd: readonly string[], signal: AbortSignal, owner: OwnerScope): Promise<{ exitCode: number; output: string }> {
    return this.scoped.run(id, cmd, signal, owner);
  }

  async listContainers(labels: readonly string[]): Promise<LabelledContainer[]> {
    return (await this.scoped.containers(labels)).map((c) => ({ id: c.id, name: c.name, labels: c.labels }));
  }

  private target(action: string, kind: EngineTarget['kind'], ref?: string): EngineTarget {
    return { action, ...(kind ? { kind } : {}), endpoint: this.endpoint, ...(ref !== undefined ? { ref } : {}) };
  }
}

/**
 * The pipeline's `docker` option over the daemon's engine connection: one
 * {@link DockerodeDeployDocker} per dockerode instance (a reconnect makes a new one), over the
 * daemon's label-scoped client. `dockerode()` throws RpcError DockerUnavailable when there is no engine.
 */
export function deployDockerOf(
  dockerode: () => Docker,
  scoped: ScopedDocker,
  endpoint: () => string | undefined = () => undefined,
): () => DeployDocker {
  let cached: { docker: Docker; client: DockerodeDeployDocker } | undefined;
  return () => {
    const docker = dockerode();
    if (cached?.docker !== docker) cached = { docker, client: new DockerodeDeployDocker(docker, scoped, endpoint()) };
    return cached.client;
  };
}
