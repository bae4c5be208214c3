/**
 * The retention of the images this daemon built (never base images), for the reconciler: it
 * keeps an image a container uses, one a deployment running or in flight references (or, not
 * yet decided, may reuse), and each service's newest `keepImagesPerService` of an existing
 * sandbox. Every look at the images measures the kept and reclaimable ones (count, and bytes
 * from `image-footprint.ts`) for `system/info`. A reconciler round reaps the others once the
 * orphan grace period is over; `reclaim` removes them at once. Never forced, never while a
 * build runs, one removal pass at a time.
 */
import type { ImageRetention } from '../../../schemas/src/images';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { DeploymentStore } from '../deploy/deployment-store';
import { LABELS } from '../docker/labels';
import { isRpcError } from '../rpc/errors';
import type { Logger } from '../runtime/log';
import type { SandboxStore } from '../sandbox/sandbox-store';
import { footprint, type ImageNode } from './image-footprint';
import type { LifecycleDocker, ManagedImage } from './lifecycle-docker';

export const DEFAULT_KEEP_IMAGES = 3;

/** What the image retention reads of the deployments. */
export type RetentionDeployments = Pick<DeploymentStore, 'imagesToKeep' | 'servicesChoosingImage' | 'buildsInFlight'>;

export interface ImageReaperOptions {
  readonly deployments: RetentionDeployments;
  readonly sandboxes: Pick<SandboxStore, 'list'>;
  readonly docker: Pick<LifecycleDocker, 'managedImages' | 'imagesInUse' | 'imageGraph' | 'removeImage'>;
  /** The daemon's labels: only images carrying all of them are looked at. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** How many of its newest images each service of an existing sandbox keeps (default {@link DEFAULT_KEEP_IMAGES}). */
  readonly keepImagesPerService?: number;
  readonly log: Logger;
  readonly now: () => number;
}

/** What `reclaim` did (or, with `dryRun`, would do). */
export interface ImageReclaim {
  readonly removed: string[];
  readonly spaceReclaimed: number;
  readonly buildsRunning: number;
  readonly retention: ImageRetention;
}

/** What a reconciler round gives the reaper. */
export interface ReapRound {
  /** The sandboxes as the round saw them. */
  readonly sandboxes: ReadonlyMap<string, Sandbox>;
  /** Whether the image has been seen for the grace period (it is recorded as seen now). */
  readonly expired: (id: string) => boolean;
  /** Where the names of the images removed go. */
  readonly removedImages: string[];
}

/** The built images of this daemon as one look at the engine sees them. */
interface ImageLook {
  readonly images: readonly ManagedImage[];
  readonly kept: (image: ManagedImage) => boolean;
  readonly retention: ImageRetention;
}

export class ImageReaper {
  private readonly selectors: string[];
  /** The figures of the last look; undefined before the first one. */
  private last: ImageRetention | undefined;
  /** Removal passes (rounds and `reclaim`) one at a time. */
  private work: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ImageReaperOptions) {
    this.selectors = Object.entries(opts.extraLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  }

  /** The figures of the last look at this daemon's built images (`system/info`); undefined before the first one. */
  retention(): ImageRetention | undefined {
    return this.last;
  }

  /**
   * A reconciler round's pass: built images the retention does not keep, once seen for the
   * grace period — never while a build runs: removing an image removes its untagged parent
   * layers, which a build may be reusing from the cache at that moment (it then fails with
   * "failed to get digest").
   */
  reap(round: ReapRound): Promise<void> {
    return this.exclusive(async () => {
      const look = await this.look(round.sandboxes);
      if (this.buildsRunning()) return;
      let removed = false;
      for (const image of look.images) {
        if (look.kept(image) || !round.expired(image.id)) continue;
        // Asked again right before removal: a deployment may have started meanwhile.
        if (this.buildsRunning()) break;
        if (this.keeps(this.currentSandboxes(), new Set())(image)) continue;
        removed = (await this.remove(image, round.removedImages)) || removed;
      }
      if (removed) await this.look(this.currentSandboxes());
    });
  }

  /**
   * Removes now, with no grace period, every built image the retention does not keep —
   * nothing while a build runs. With `dryRun`, answers what it would remove.
   */
  reclaim(options: { dryRun?: boolean } = {}): Promise<ImageReclaim> {
    return this.exclusive(async () => {
      const look = await this.look(this.currentSandboxes());
      const reclaimable = look.images.filter((i) => !look.kept(i));
      const buildsRunning = this.opts.deployments.buildsInFlight();
      if (options.dryRun || buildsRunning > 0) {
        return {
          removed: options.dryRun ? reclaimable.map(imageName) : [],
          spaceReclaimed: options.dryRun ? look.retention.reclaimable.bytes : 0,
          buildsRunning,
          retention: look.retention,
        };
      }
      const removed: string[] = [];
      for (const image of reclaimable) {
        if (this.buildsRunning()) break; // one started meanwhile: the rest waits
        await this.remove(image, removed);
      }
      const after = await this.look(this.currentSandboxes());
      const total = (r: ImageRetention) => r.kept.bytes + r.reclaimable.bytes;
      return {
        removed,
        spaceReclaimed: Math.max(0, total(look.retention) - total(after.retention)),
        buildsRunning: 0,
        retention: after.retention,
      };
    });
  }

  /** This daemon's built images, which of them the retention keeps, and the figures (kept as the last look). */
  private async look(sandboxes: ReadonlyMap<string, Sandbox>): Promise<ImageLook> {
    const { docker } = this.opts;
    const images = (await docker.managedImages(this.selectors)).filter((i) => i.labels[LABELS.base] !== 'true');
    const kept = this.keeps(sandboxes, await docker.imagesInUse());
    const graph = new Map((await docker.imageGraph()).map((n): [string, ImageNode] => [n.id, n]));
    const mine = Object.entries(this.opts.extraLabels ?? {});
    const owned = (n: ImageNode) => n.labels[LABELS.base] !== 'true' && mine.every(([k, v]) => n.labels[k] === v);
    const keptImages = images.filter(kept);
    const keptPrint = footprint(keptImages.map((i) => i.id), graph, owned);
    const allPrint = footprint(images.map((i) => i.id), graph, owned);
    this.last = {
      keepPerService: this.keepPerService,
      kept: { count: keptImages.length, bytes: keptPrint.bytes },
      reclaimable: { count: images.length - keptImages.length, bytes: allPrint.bytes - keptPrint.bytes },
      measuredAt: new Date(this.opts.now()).toISOString(),
    };
    return { images, kept, retention: this.last };
  }

  /** Removes the image; answers whether it did (one a container uses, or that fails, is left and logged). */
  private async remove(image: ManagedImage, removed: string[]): Promise<boolean> {
    const name = imageName(image);
    const { log } = this.opts;
    try {
      if ((await this.opts.docker.removeImage(image)) === 'in-use') {
        log.debug(`Kept image ${name}: a container uses it`);
        return false;
      }
      removed.push(name);
      const { [LABELS.project]: project, [LABELS.service]: service, [LABELS.commit]: commit } = image.labels;
      log.info(`Removed image ${name}${service ? ` (${project ?? '?'}/${service} at ${commit?.slice(0, 12) ?? '?'})` : ''}: the image retention does not keep it`, {
        image: image.id.replace(/^sha256:/, '').slice(0, 12),
      });
      return true;
    } catch (e) {
      log.warn(`Could not remove image ${name}`, { error: isRpcError(e) ? e.message : String(e) });
      return false;
    }
  }

  /**
   * As the state database says now: whether the retention keeps an image — used by a
   * container (`inUse`), referenced by a deployment running or in flight or among the newest
   * of a service of an existing sandbox, or possibly reused by a deployment in flight that has
   * yet to pick its image (one of its service's; any, for an image without the label).
   */
  private keeps(sandboxes: ReadonlyMap<string, Sandbox>, inUse: ReadonlySet<string>): (image: ManagedImage) => boolean {
    const kept = this.opts.deployments.imagesToKeep((name) => sandboxes.has(name), this.keepPerService);
    const undecided = this.opts.deployments.servicesChoosingImage();
    return (image) => {
      if (inUse.has(image.id) || image.tags.some((t) => kept.has(t)) || kept.has(image.id)) return true;
      const service = image.labels[LABELS.service];
      return service === undefined ? undecided.size > 0 : undecided.has(service);
    };
  }

  private get keepPerService(): number {
    return this.opts.keepImagesPerService ?? DEFAULT_KEEP_IMAGES;
  }

  private buildsRunning(): boolean {
    return this.opts.deployments.buildsInFlight() > 0;
  }

  private currentSandboxes(): Map<string, Sandbox> {
    return new Map(this.opts.sandboxes.list().map((s) => [s.name, s]));
  }

  /** Runs a removal pass after the passes already queued. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.work.then(work, work);
    this.work = run.catch(() => undefined);
    return run;
  }
}

/** An image as logs and answers name it: its first tag, or its short id. */
const imageName = (image: ManagedImage): string => image.tags[0] ?? image.id.replace(/^sha256:/, '').slice(0, 12);
