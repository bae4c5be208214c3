/** `branchbox audit`: who changed what, when, how it ended, and what changed. */
import { defineCommand } from '../command';
import { auditDetail } from '../format';
import { integer } from './containers';

export const auditCommands = [
  defineCommand({
    words: ['audit'],
    summary: 'The audit trail of state-changing requests, newest first.',
    options: {
      method: { type: 'string', value: 'M', help: 'only this method, or a namespace ending in "/" (e.g. sandbox/)' },
      target: { type: 'string', value: 'T', help: 'only this target: key=value (sandbox=qa1) or a bare value' },
      client: { type: 'string', value: 'NAME', help: 'only requests of this client' },
      since: { type: 'string', value: 'TIME', help: 'only entries at or after TIME (RFC 3339)' },
      until: { type: 'string', value: 'TIME', help: 'only entries before TIME (RFC 3339)' },
      limit: { type: 'string', short: 'n', value: 'N', help: 'at most N entries (default 200)' },
    },
    methods: ['audit/list'],
    async run(ctx, { values }) {
      const result = await ctx.call('audit/list', {
        ...(values.method !== undefined ? { method: values.method } : {}),
        ...(values.target !== undefined ? { target: values.target } : {}),
        ...(values.client !== undefined ? { client: values.client } : {}),
        ...(values.since !== undefined ? { since: values.since } : {}),
        ...(values.until !== undefined ? { until: values.until } : {}),
        ...(values.limit !== undefined ? { limit: integer('--limit', values.limit, 1) } : {}),
      });
      ctx.out.result(result, ({ entries }) => {
        if (!entries.length) return ctx.out.line(ctx.out.style.dim('no audit entries'));
        ctx.out.table(entries, [
          { header: 'AT', value: (e) => e.at },
          { header: 'WHO', value: (e) => [e.osUser, e.client].filter(Boolean).join(' via ') },
          { header: 'METHOD', value: (e) => e.method },
          { header: 'TARGET', value: (e) => e.target ?? '' },
          { header: 'OUTCOME', value: (e) => (e.outcome === 'ok' ? ctx.out.style.green('ok') : ctx.out.style.red(e.outcome)) },
          { header: 'DETAIL', value: (e) => auditDetail(e.detail) },
        ]);
      });
    },
  }),
];
