/**
 * The images a daemon built, and how long it keeps them.
 *
 * Every image a Dockerfile build commits — each step's intermediate image, a cancelled build's
 * dangling one, the tagged result — carries the daemon's instance label. The retention keeps
 * an image while a container uses it, while a deployment running or in flight references it,
 * and, for each service of an existing sandbox, for its newest `keepPerService` distinct
 * images (a redeploy or rollback of a recent commit then reuses it, no rebuild). Every other
 * built image of the instance is reclaimable: the reconciler removes it once it has been seen
 * so for the orphan grace period, or `image/reclaim` removes it now. Base images
 * (`branchbox.base=true`) and images the daemon did not build are never counted or removed.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Obj, Timestamp, defineMethods, engineErrors } from './core';

const Footprint = (description: string) =>
  Obj(
    {
      count: Type.Integer({
        minimum: 0,
        description: 'Tagged images and dangling ones (intermediate images not counted).',
      }),
      bytes: Type.Integer({
        minimum: 0,
        description: 'The disk their layers take beyond the base images they are built on, each layer counted once.',
      }),
    },
    description,
  );

export const ImageRetention = Obj(
  {
    keepPerService: Type.Integer({
      minimum: 0,
      description:
        'How many of its newest images each service of an existing sandbox keeps (branchboxd --keep-images).',
    }),
    kept: Footprint(
      'Images kept: used by a container, referenced by a deployment running or in flight, or among the newest of a service.',
    ),
    reclaimable: Footprint(
      'Built images nothing keeps (dangling ones of interrupted builds included); `bytes` is what removing them frees.',
    ),
    measuredAt: Timestamp('When the figures were taken.'),
  },
  "This daemon's built images: what the retention keeps and what it will remove.",
);
export type ImageRetention = Static<typeof ImageRetention>;

export const imageMethods = defineMethods({
  'image/reclaim': {
    summary: 'Removes now the built images of this daemon that the retention does not keep; answers what it removed.',
    description:
      'Only images this daemon built (its instance label); never a base image, one a container uses or one a deployment ' +
      'running or in flight references. While a build runs nothing is removed (the build may be reusing their layers): ' +
      '`buildsRunning` then says how many, and a later call (or the reconciler) removes them. With `dryRun`, removes ' +
      'nothing and answers what it would remove.',
    mutating: true,
    errors: [...engineErrors],
    params: Obj({
      dryRun: Type.Optional(Type.Boolean({ description: 'Answer what would be removed; remove nothing.' })),
    }),
    result: Obj({
      removed: Type.Array(Type.String(), {
        description: 'Tags (or short ids, for dangling images) removed, or that would be.',
      }),
      spaceReclaimed: Type.Integer({ minimum: 0, description: 'Bytes freed (or that would be).' }),
      buildsRunning: Type.Integer({
        minimum: 0,
        description: 'Builds running now; while there are, nothing is removed.',
      }),
      retention: ImageRetention,
    }),
  },
});
