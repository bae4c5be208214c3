/** {@link ContainerClient} over dockerode. */
import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import type {
  Cancellable,
  ContainerClient,
  ContainerCreateSpec,
  ContainerDetails,
  ContainerSummary,
  LabelSelector,
} from '../types';
import { detailsFromInspect, summaryFromInspect, summaryFromListEntry } from './container-mapping';
import { followLines, lastLines, type LineSink } from './container-output';
import { engineCall, engineError, type EngineTarget } from './engine-error';

/** The most output of a command {@link DockerodeContainerClient.run} keeps (Docker keeps as much of a health probe's). */
const RUN_OUTPUT_MAX = 4096;

export class DockerodeContainerClient implements ContainerClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
    private readonly now: () => number = Date.now,
  ) {}

  list(opts: { all?: boolean; label?: LabelSelector } = {}): Promise<ContainerSummary[]> {
    return engineCall(this.target('list'), async () => {
      const entries = await this.docker.listContainers({
        all: opts.all ?? false,
        ...(opts.label?.length ? { filters: JSON.stringify({ label: opts.label }) } : {}),
      });
      return entries.map(summaryFromListEntry);
    });
  }

  inspect(id: string): Promise<ContainerDetails> {
    return engineCall(this.target('inspect', id), async () =>
      detailsFromInspect(await this.docker.getContainer(id).inspect(), this.now()),
    );
  }

  /** The summary of one container, straight from the engine (the container model refreshes with it). */
  summary(id: string): Promise<ContainerSummary> {
    return engineCall(this.target('inspect', id), async () =>
      summaryFromInspect(await this.docker.getContainer(id).inspect(), this.now()),
    );
  }

  start(id: string): Promise<void> {
    return engineCall(this.target('start', id), () => ignoreNotModified(this.docker.getContainer(id).start()));
  }

  stop(id: string, opts: { timeoutSeconds?: number } & Cancellable = {}): Promise<void> {
    return engineCall(this.target('stop', id), () =>
      ignoreNotModified(this.docker.getContainer(id).stop({ ...timeout(opts.timeoutSeconds), ...signal(opts.signal) })),
    );
  }

  restart(id: string, opts: { timeoutSeconds?: number } & Cancellable = {}): Promise<void> {
    return engineCall(this.target('restart', id), async () => {
      await this.docker.getContainer(id).restart({ ...timeout(opts.timeoutSeconds), ...signal(opts.signal) });
    });
  }

  remove(id: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return engineCall(this.target('remove', id), async () => {
      await this.docker.getContainer(id).remove({ force: opts.force ?? false, v: opts.volumes ?? false });
    });
  }

  create(spec: ContainerCreateSpec): Promise<string> {
    return engineCall(this.target('create', spec.Name), async () => {
      const { Name: name, ...body } = spec;
      const container = await this.docker.createContainer({ name, ...body } as Docker.ContainerCreateOptions);
      return container.id;
    });
  }

  rename(id: string, name: string): Promise<void> {
    return engineCall(this.target('rename', id), async () => {
      await this.docker.getContainer(id).rename({ name });
    });
  }

  async waitNotRunning(id: string, signal: AbortSignal): Promise<number | undefined> {
    try {
      const answer = (await this.docker.getContainer(id).wait({ condition: 'not-running', abortSignal: signal })) as { StatusCode?: number };
      return answer.StatusCode ?? -1;
    } catch (e) {
      if (signal.aborted) return undefined;
      if ((e as { statusCode?: number }).statusCode === 404) return -1;
      throw engineError(e, this.target('wait for', id));
    }
  }

  async waitRemoved(id: string, ms: number): Promise<void> {
    try {
      await this.docker.getContainer(id).wait({ condition: 'removed', abortSignal: AbortSignal.timeout(ms) });
    } catch {
      // 404: already gone; or the time is up.
    }
  }

  run(id: string, cmd: readonly string[], signal: AbortSignal, opts: { user?: string } = {}): Promise<{ exitCode: number; output: string }> {
    return engineCall(this.target('exec in', id), async () => {
      const exec = await this.docker
        .getContainer(id)
        .exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true, Tty: false, ...(opts.user !== undefined ? { User: opts.user } : {}) });
      const stream = await exec.start({ hijack: true, stdin: false });
      let output = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          if (output.length < RUN_OUTPUT_MAX) output += chunk.toString('utf8').slice(0, RUN_OUTPUT_MAX - output.length);
          done();
        },
      });
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          stream.destroy();
          reject(signal.reason as Error);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.docker.modem.demuxStream(stream, sink, sink);
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      const info = await exec.inspect();
      return { exitCode: info.ExitCode ?? -1, output };
    });
  }

  lastLines(id: string, n: number): Promise<string[]> {
    return lastLines(this.docker, id, n);
  }

  followLines(id: string, signal: AbortSignal, onLine: LineSink): Promise<void> {
    return followLines(this.docker, id, signal, onLine, this.target('read the logs of', id));
  }

  imagesInUse(): Promise<Set<string>> {
    return engineCall(this.target('list'), async () => {
      const list = await this.docker.listContainers({ all: true });
      return new Set(list.map((c) => c.ImageID));
    });
  }

  pause(id: string): Promise<void> {
    return engineCall(this.target('pause', id), async () => {
      await this.docker.getContainer(id).pause();
    });
  }

  unpause(id: string): Promise<void> {
    return engineCall(this.target('unpause', id), async () => {
      await this.docker.getContainer(id).unpause();
    });
  }

  readArchive(id: string, path: string): Promise<NodeJS.ReadableStream> {
    return engineCall(this.target(`read ${path} of`, id), () => this.docker.getContainer(id).getArchive({ path }));
  }

  writeArchive(id: string, path: string, tar: NodeJS.ReadableStream): Promise<void> {
    return engineCall(this.target(`write into ${path} of`, id), async () => {
      // The modem pipes `tar` into the request; an error reading it must fail the call, not hang it.
      const failed = new Promise<never>((_, reject) => tar.once('error', reject));
      const answer = await Promise.race([this.docker.getContainer(id).putArchive(tar, { path }), failed]);
      await drain(answer);
    });
  }

  private target(action: string, ref?: string): EngineTarget {
    return { action, kind: 'container', endpoint: this.endpoint, ...(ref !== undefined ? { ref } : {}) };
  }
}

/** Start and stop answer 304 when there is nothing to do; that is success, as for the docker CLI. */
async function ignoreNotModified(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 304) throw e;
  }
}

/** Reads a response to its end (the engine has answered once it ends). */
async function drain(answer: unknown): Promise<void> {
  const stream = answer as NodeJS.ReadableStream | undefined;
  if (!stream || typeof stream.on !== 'function') return;
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('end', () => resolve());
    stream.resume();
  });
}

const timeout = (seconds: number | undefined) => (seconds === undefined ? {} : { t: seconds });
const signal = (s: AbortSignal | undefined) => (s ? { abortSignal: s } : {});
