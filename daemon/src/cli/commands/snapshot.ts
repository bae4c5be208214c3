/** `branchbox snapshot ls|delete`: the snapshots sandbox snapshot took, with the size of their volume data. */
import { defineCommand } from '../command';
import { ago, bytes } from '../format';

export const snapshotCommands = [
  defineCommand({
    words: ['snapshot', 'ls'],
    summary: 'List snapshots, newest first: the sandbox each was taken of, its services and the size of each volume it holds.',
    options: { sandbox: { type: 'string', value: 'NAME', help: 'only snapshots of this sandbox' } },
    methods: ['snapshot/list'],
    async run(ctx, { values }) {
      const result = await ctx.call('snapshot/list', values.sandbox !== undefined ? { sandbox: values.sandbox } : {});
      ctx.out.result(result, ({ snapshots }) => {
        if (!snapshots.length) return ctx.out.line(ctx.out.style.dim('no snapshots'));
        ctx.out.table(snapshots, [
          { header: 'NAME', value: (s) => s.name },
          { header: 'SANDBOX', value: (s) => s.sandbox },
          { header: 'SERVICES', value: (s) => String(s.services.length) },
          { header: 'VOLUMES', value: (s) => s.volumes.map((v) => `${v.name} ${bytes(v.bytes)}`).join(', ') },
          { header: 'SIZE', value: (s) => bytes(s.volumes.reduce((n, v) => n + v.bytes, 0)) },
          { header: 'CREATED', value: (s) => ago(s.createdAt) },
        ]);
      });
    },
  }),
  defineCommand({
    words: ['snapshot', 'delete'],
    summary: 'Delete a snapshot and its stored volume data.',
    args: ['SNAPSHOT'],
    methods: ['snapshot/delete'],
    async run(ctx, { positionals }) {
      const result = await ctx.call('snapshot/delete', { name: positionals[0]! });
      ctx.out.result(result, () => ctx.out.line(`Deleted snapshot ${positionals[0]}`));
    },
  }),
];
