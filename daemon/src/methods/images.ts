/** Handlers of the images namespace (schemas/src/images.ts): the retention of built images, over the reconciler. */
import type { imageMethods } from '../../../schemas/src/images';
import type { Reconciler } from '../lifecycle/reconciler';
import type { HandlerGroup } from '../rpc/handlers';

type ImageMethod = keyof typeof imageMethods;

export function imageHandlers({
  reconciler,
}: {
  readonly reconciler: Pick<Reconciler, 'reclaimImages'>;
}): HandlerGroup<ImageMethod> {
  return {
    'image/reclaim': async (p, ctx) => {
      const answer = await reconciler.reclaimImages({ dryRun: p.dryRun ?? false });
      ctx.log.info(p.dryRun ? 'Images that would be reclaimed' : 'Reclaimed images', {
        images: answer.removed.length,
        bytes: answer.spaceReclaimed,
        buildsRunning: answer.buildsRunning,
      });
      return answer;
    },
  };
}
