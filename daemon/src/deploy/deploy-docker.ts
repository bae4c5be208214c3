/**
 * Every Docker call the deploy pipeline makes, behind one interface ({@link DeployDocker}) so
 * the pipeline's logic is testable without an engine. The dockerode implementation streams
 * image builds (a `tar-fs` pack of the context, output line by line, cancelled by aborting the
 * request), creates and starts containers, renames and removes them, waits for them to exit
 * and reads their last log lines. Engine failures are mapped by the Docker layer's
 * `engineError` (`ImageNotFound`, `DockerUnavailable`, `DockerError` with the engine's reason).
 */
import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import { engineCall, engineError, type EngineTarget } from '../docker/dockerode/engine-error';
import { LABELLED_DOCKERFILE, packContext, type ContextFiles } from './build-context';
import { abortError, readJsonLines, type BuildMessage } from './json-lines';

export type LineSink = (line: string) => void;

export interface BuildSpec {
  /** The context folder (a real path) and the generated Dockerfile (labelled after every FROM). */
  readonly context: ContextFiles;
  readonly tag: string;
  /** The labels of the tagged image, also set through the build API. */
  readonly labels: Readonly<Record<string, string>>;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly onLine: LineSink;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly network: string;
  readonly containerPort: number;
  readonly hostPort: number;
  /** Default 127.0.0.1. */
  readonly hostIp?: string;
  readonly cmd?: readonly string[];
  /** `host:container[:ro]` bind mounts. */
  readonly binds?: readonly string[];
  readonly nanoCpus?: number;
  readonly memoryBytes?: number;
  /** How the container is confined (deploy/hardening.ts makes it); unset: the engine's defaults. */
  readonly security?: ContainerSecurity;
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
  /** Creates the container (not started); answers its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  /** Removes the container (killing it); a container already gone is not an error. */
  removeContainer(id: string): Promise<void>;
  /** The container by id or name, or undefined when there is none. */
  inspectContainer(idOrName: string): Promise<DeployContainerState | undefined>;
  /** Resolves with the exit code once the container is not running; undefined when `signal` aborts first. */
  waitExit(id: string, signal: AbortSignal): Promise<number | undefined>;
  /** Streams the container's output lines (stdout and stderr) until it stops or `signal` aborts. */
  followLogs(id: string, signal: AbortSignal, onLine: LineSink): Promise<void>;
  /** The container's last `n` output lines. */
  lastLogLines(id: string, n: number): Promise<string[]>;
  /** Containers (any state) carrying every label selector (`key` or `key=value`). */
  listContainers(labels: readonly string[]): Promise<LabelledContainer[]>;
}

/** How many build lines a BuildFailure keeps. */
const BUILD_TAIL = 12;
/** How long a cancelled build waits for the engine to remove the container of its running step. */
const STEP_REMOVAL_WAIT_MS = 10_000;

export class DockerodeDeployDocker implements DeployDocker {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string = 'the Docker engine',
  ) {}

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return false;
      throw engineError(e, this.target('inspect', 'image', ref));
    }
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
    const tail: string[] = [];
    /** The builder's container of the step running now (" ---> Running in <id>"). */
    let stepContainer: string | undefined;
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > BUILD_TAIL) tail.shift();
      const running = /^\s*---> Running in ([0-9a-f]{12,64})\s*$/.exec(line);
      if (running) stepContainer = running[1];
      else if (/^\s*(Removing intermediate container|---> [0-9a-f]{12})/.test(line)) stepContainer = undefined;
      spec.onLine(line);
    };
    // Aborting the request makes the engine stop the build, in its own time; the step's
    // container is removed here so nothing of a cancelled build outlives the cancellation.
    const stopStep = async () => {
      if (!stepContainer) return;
      await this.removeContainer(stepContainer).catch(() => undefined);
      await this.waitRemoved(stepContainer, STEP_REMOVAL_WAIT_MS);
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
        rm: true,
        forcerm: true,
        abortSignal: spec.signal,
      } as Docker.ImageBuildOptions);
    } catch (e) {
      context.destroy();
      throw engineError(e, this.target('build', 'image', spec.tag));
    }
    let error: string | undefined;
    let partialText = '';
    const onMessage = (message: BuildMessage) => {
      const failure = message.errorDetail?.message ?? message.error;
      if (failure) {
        error = failure.trim();
        return;
      }
      if (typeof message.stream === 'string') {
        const lines = (partialText + message.stream).split(/\r?\n/);
        partialText = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) keep(line.trimEnd());
      } else if (typeof message.status === 'string') {
        keep(message.status);
      }
    };
    try {
      await readJsonLines(response as Readable, onMessage, spec.signal);
    } catch (e) {
      if (spec.signal.aborted) {
        await stopStep();
        throw abortError(spec.signal);
      }
      throw engineError(e, this.target('build', 'image', spec.tag));
    } finally {
      context.destroy();
    }
    if (partialText.trim()) keep(partialText.trimEnd());
    if (spec.signal.aborted) {
      await stopStep();
      throw abortError(spec.signal);
    }
    if (error !== undefined) throw new BuildFailure(error, tail);
    if (!(await this.imageExists(spec.tag))) throw new BuildFailure('the build ended without producing the image', tail);
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    const port = `${spec.containerPort}/tcp`;
    return engineCall(this.target('create', 'container', spec.name), async () => {
      const container = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Labels: { ...spec.labels },
        ExposedPorts: { [port]: {} },
        ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}),
        ...(spec.security?.user !== undefined ? { User: spec.security.user } : {}),
        HostConfig: {
          NetworkMode: spec.network,
          PortBindings: { [port]: [{ HostIp: spec.hostIp ?? '127.0.0.1', HostPort: String(spec.hostPort) }] },
          ...(spec.binds?.length ? { Binds: [...spec.binds] } : {}),
          ...(spec.nanoCpus ? { NanoCpus: spec.nanoCpus } : {}),
          ...(spec.memoryBytes ? { Memory: spec.memoryBytes } : {}),
          ...(spec.security
            ? {
                Privileged: false,
                SecurityOpt: spec.security.noNewPrivileges ? ['no-new-privileges'] : [],
                CapDrop: [...spec.security.capDrop],
                CapAdd: [...spec.security.capAdd],
                PidsLimit: spec.security.pidsLimit,
              }
            : {}),
          RestartPolicy: { Name: 'no' },
        },
      });
      return container.id;
    });
  }

  startContainer(id: string): Promise<void> {
    return engineCall(this.target('start', 'container', id), async () => {
      await this.docker.getContainer(id).start();
    });
  }

  renameContainer(id: string, name: string): Promise<void> {
    return engineCall(this.target('rename', 'container', id), async () => {
      await this.docker.getContainer(id).rename({ name });
    });
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      // 404: already gone; 409 "removal already in progress": someone else is removing it.
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
    try {
      const info = await this.docker.getContainer(idOrName).inspect();
      return {
        id: info.Id,
        name: info.Name.replace(/^\//, ''),
        running: info.State.Running || info.State.Restarting,
        exitCode: info.State.ExitCode,
        oomKilled: info.State.OOMKilled,
        ...(info.State.Error ? { error: info.State.Error } : {}),
        labels: info.Config?.Labels ?? {},
      };
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw engineError(e, this.target('inspect', 'container', idOrName));
    }
  }

  async waitExit(id: string, signal: AbortSignal): Promise<number | undefined> {
    try {
      const answer = (await this.docker.getContainer(id).wait({ condition: 'not-running', abortSignal: signal })) as { StatusCode?: number };
      return answer.StatusCode ?? -1;
    } catch (e) {
      if (signal.aborted) return undefined;
      if ((e as { statusCode?: number }).statusCode === 404) return -1;
      throw engineError(e, this.target('wait for', 'container', id));
    }
  }

  async followLogs(id: string, signal: AbortSignal, onLine: LineSink): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.getContainer(id).logs({
        follow: true,
        stdout: true,
        stderr: true,
        abortSignal: signal,
      } as Docker.ContainerLogsOptions & { follow: true })) as NodeJS.ReadableStream;
    } catch (e) {
      if (signal.aborted) return;
      throw engineError(e, this.target('read the logs of', 'container', id));
    }
    const out = new PassThrough();
    this.docker.modem.demuxStream(stream, out, out);
    const lines = splitLines(onLine);
    out.on('data', (c: Buffer) => lines.push(c.toString('utf8')));
    await new Promise<void>((resolvePromise) => {
      const end = () => {
        lines.flush();
        resolvePromise();
      };
      stream.on('end', end);
      stream.on('close', end);
      stream.on('error', end);
      if (signal.aborted) end();
      else signal.addEventListener('abort', end, { once: true });
    });
  }

  async lastLogLines(id: string, n: number): Promise<string[]> {
    try {
      const raw = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: n, follow: false })) as unknown as Buffer;
      return demuxBuffer(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)))
        .split(/\r?\n/)
        .filter((l) => l.trim() !== '')
        .slice(-n);
    } catch {
      return [];
    }
  }

  listContainers(labels: readonly string[]): Promise<LabelledContainer[]> {
    return engineCall(this.target('list', 'container'), async () => {
      const list = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: labels }) });
      return list.map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), labels: c.Labels ?? {} }));
    });
  }

  private target(action: string, kind: EngineTarget['kind'], ref?: string): EngineTarget {
    return { action, ...(kind ? { kind } : {}), endpoint: this.endpoint, ...(ref !== undefined ? { ref } : {}) };
  }
}


/** Collects text into lines; `flush` emits the unterminated rest. */
function splitLines(onLine: LineSink): { push(text: string): void; flush(): void } {
  let partial = '';
  return {
    push(text) {
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    },
    flush() {
      if (partial) onLine(partial);
      partial = '';
    },
  };
}

/** The text of a multiplexed (non-TTY) log answer: 8-byte frame headers stripped. */
export function demuxBuffer(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const type = raw[offset];
    const size = raw.readUInt32BE(offset + 4);
    if ((type !== 0 && type !== 1 && type !== 2) || offset + 8 + size > raw.length) {
      // Not multiplexed (a TTY container): the whole answer is text.
      return raw.toString('utf8');
    }
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The pipeline's `docker` option over the daemon's engine connection: one
 * {@link DockerodeDeployDocker} per dockerode instance (a reconnect makes a new one).
 * `dockerode()` throws RpcError DockerUnavailable when there is no engine.
 */
export function deployDockerOf(dockerode: () => Docker, endpoint: () => string | undefined = () => undefined): () => DeployDocker {
  let cached: { docker: Docker; client: DockerodeDeployDocker } | undefined;
  return () => {
    const docker = dockerode();
    if (cached?.docker !== docker) cached = { docker, client: new DockerodeDeployDocker(docker, endpoint()) };
    return cached.client;
  };
}
