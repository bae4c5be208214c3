/** {@link ImageClient} over dockerode, including loading `docker save` tarballs from disk. */
import type Docker from 'dockerode';
import { constants, createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { RpcError } from '../../rpc/errors';
import { LABELS } from '../labels';
import type { Cancellable, ImageClient, ImagePruneResult, ImageRemoval, ImageSummary, LabelSelector } from '../types';
import { engineCall, type EngineTarget } from './engine-error';

export class DockerodeImageClient implements ImageClient {
  constructor(
    private readonly docker: Docker,
    private readonly endpoint: string,
  ) {}

  inspect(ref: string): Promise<ImageSummary> {
    return engineCall(this.target('inspect', ref), async () => {
      const i = await this.docker.getImage(ref).inspect();
      const tags = (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
      return {
        id: i.Id,
        tags,
        digests: (i.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
        created: new Date(Date.parse(i.Created) || 0).toISOString(),
        size: i.Size,
        labels: i.Config?.Labels ?? {},
        dangling: tags.length === 0,
      };
    });
  }

  list(opts: { all?: boolean; label?: LabelSelector } = {}): Promise<ImageSummary[]> {
    return engineCall(this.target('list'), async () => {
      const images = await this.docker.listImages({
        all: opts.all ?? false,
        ...(opts.label?.length ? { filters: JSON.stringify({ label: opts.label }) } : {}),
      });
      return images.map((i): ImageSummary => {
        const tags = (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
        return {
          id: i.Id,
          tags,
          digests: (i.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
          created: new Date(i.Created * 1000).toISOString(),
          size: i.Size,
          labels: i.Labels ?? {},
          dangling: tags.length === 0,
          ...(i.ParentId ? { parentId: i.ParentId } : {}),
        };
      });
    });
  }

  remove(image: string, opts: { force?: boolean } = {}): Promise<ImageRemoval> {
    return engineCall(this.target('remove', image), async () => {
      const answer: unknown = await this.docker.getImage(image).remove({ force: opts.force ?? false });
      return removalOf(Array.isArray(answer) ? (answer as Docker.ImageRemoveInfo[]) : []);
    });
  }

  prune(
    opts: { all?: boolean; includeBase?: boolean; label?: LabelSelector } & Cancellable = {},
  ): Promise<ImagePruneResult> {
    const filters: Record<string, string[]> = { dangling: [opts.all ? 'false' : 'true'] };
    if (opts.label?.length) filters.label = [...opts.label];
    if (!opts.includeBase) filters['label!'] = [`${LABELS.base}=true`];
    return engineCall(this.target('prune'), async () => {
      const answer = await this.docker.pruneImages({
        filters: JSON.stringify(filters),
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      const { untagged, deleted } = removalOf(answer.ImagesDeleted ?? []);
      return { deleted: [...untagged, ...deleted], spaceReclaimed: answer.SpaceReclaimed ?? 0 };
    });
  }

  async load(path: string, opts: Cancellable = {}): Promise<string[]> {
    await assertReadableFile(path);
    return engineCall({ ...this.target('load'), ref: path }, async () => {
      const response = await this.docker.loadImage(
        createReadStream(path),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
      return loadedImages(await readAll(response), path);
    });
  }

  private target(action: string, ref?: string): EngineTarget {
    return { action, kind: 'image', endpoint: this.endpoint, ...(ref !== undefined ? { ref } : {}) };
  }
}

function removalOf(items: readonly Partial<Docker.ImageRemoveInfo>[]): ImageRemoval {
  return {
    untagged: items.flatMap((i) => (i.Untagged ? [i.Untagged] : [])),
    deleted: items.flatMap((i) => (i.Deleted ? [i.Deleted] : [])),
  };
}

async function assertReadableFile(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
    if (!(await stat(path)).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RpcError(
      'FileNotFound',
      `Cannot load images from ${path}: ${code === 'ENOENT' ? 'no such file' : code}`,
      { path },
    );
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The engine answers a load with JSON lines: `{"stream":"Loaded image: name:tag\n"}` (or
 * `Loaded image ID: sha256:...` for untagged images), or `{"error": ...}` when the tarball is bad.
 */
function loadedImages(body: string, path: string): string[] {
  const images: string[] = [];
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    let message: { stream?: string; error?: string; errorDetail?: { message?: string } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      message = { stream: line };
    }
    const error = message.errorDetail?.message ?? message.error;
    if (error) throw new RpcError('DockerError', `Cannot load images from ${path}: ${error.trim()}`);
    const m = /Loaded image(?: ID)?: (\S+)/.exec(message.stream ?? '');
    if (m?.[1]) images.push(m[1]);
  }
  return images;
}
