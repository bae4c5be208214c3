/**
 * `branchbox images ls` and `branchbox images prune`: the images the daemon built, what its
 * retention keeps (--keep-images newest per service of a sandbox, and any in use) and
 * removing the rest now instead of after the orphan grace period.
 */
import type { ImageRetention } from '../../../../schemas/src/images';
import { defineCommand } from '../command';
import { bytes } from '../format';

/** "2 kept (120 MiB), 3 reclaimable (30 MiB); newest 3 per service" */
export function imagesLine(r: ImageRetention): string {
  return `${r.kept.count} kept (${bytes(r.kept.bytes)}), ${r.reclaimable.count} reclaimable (${bytes(r.reclaimable.bytes)}); newest ${r.keepPerService} per service`;
}

export const imagesCommands = [
  defineCommand({
    words: ['images', 'ls'],
    summary: 'The images the daemon built: what its retention keeps, what it will remove, and the disk each takes.',
    methods: ['image/reclaim'],
    async run(ctx) {
      const result = await ctx.call('image/reclaim', { dryRun: true });
      ctx.out.result(result, (r) => {
        ctx.out.line(imagesLine(r.retention));
        if (r.removed.length)
          ctx.out.line(
            ctx.out.style.dim(`Reclaimable: ${r.removed.join(', ')} (branchbox images prune removes them now)`),
          );
      });
    },
  }),
  defineCommand({
    words: ['images', 'prune'],
    summary:
      'Remove now the built images the retention does not keep (the daemon removes them after its orphan grace anyway).',
    options: {
      'dry-run': { type: 'boolean', help: 'say what would be removed; remove nothing' },
    },
    methods: ['image/reclaim'],
    async run(ctx, { values }) {
      const dryRun = values['dry-run'] === true;
      const result = await ctx.call('image/reclaim', { dryRun });
      ctx.out.result(result, (r) => {
        if (r.buildsRunning > 0 && !dryRun) {
          ctx.out.line(
            ctx.out.style.yellow(
              `${r.buildsRunning} build(s) running: nothing removed (a build may be reusing their layers); try again once they end.`,
            ),
          );
        } else if (!r.removed.length) {
          ctx.out.line(ctx.out.style.dim('Nothing to remove.'));
        } else {
          for (const image of r.removed) ctx.out.line(`${dryRun ? 'Would remove' : 'Removed'} ${image}`);
          ctx.out.line(`${dryRun ? 'Would free' : 'Freed'} ${bytes(r.spaceReclaimed)}`);
        }
        ctx.out.line(imagesLine(r.retention));
      });
    },
  }),
];
