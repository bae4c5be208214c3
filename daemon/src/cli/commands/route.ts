/**
 * `branchbox route ls|set|explain`: where each service of a sandbox is routed (its container,
 * the baseline or a URL), and which target a request would reach through the gateway, and why.
 */
import type { Result } from '../../../../schemas/src/index';
import { defineCommand } from '../command';
import { UsageError } from '../errors';
import type { Output } from '../output';

type ServiceRoute = Result<'route/set'>;

const effective = (out: Output, r: ServiceRoute) => (r.effective ? `${r.effective.kind} ${r.effective.url}` : out.style.red('none'));

export const routeCommands = [
  defineCommand({
    words: ['route', 'ls'],
    summary: "A sandbox's routes: each service's route, where its requests go now and why, and the gateway URLs.",
    args: ['SANDBOX'],
    methods: ['route/list'],
    async run(ctx, { positionals }) {
      const result = await ctx.call('route/list', { sandbox: positionals[0]! });
      ctx.out.result(result, (r) => {
        ctx.out.fields([
          ['gateway', r.gateway?.url ?? ctx.out.style.dim('not running')],
          ['shared gateway', r.sharedGateway ? `${r.sharedGateway.url} (header X-Branchbox-Sandbox: ${r.sandbox})` : undefined],
          ['problem', r.problem ? ctx.out.style.red(r.problem) : undefined],
        ]);
        if (!r.services.length) return;
        ctx.out.line();
        ctx.out.table(r.services, [
          { header: 'SERVICE', value: (s) => s.service },
          { header: 'PREFIXES', value: (s) => s.prefixes.join(' ') },
          { header: 'ROUTE', value: (s) => (s.kind === 'url' ? `url ${s.url ?? ''}` : s.kind) },
          { header: 'GOES TO', value: (s) => effective(ctx.out, s) },
          { header: 'COMMIT', value: (s) => s.commit?.slice(0, 7) ?? '' },
          { header: 'WHY', value: (s) => ctx.out.style.dim(s.reason) },
        ]);
      });
    },
  }),
  defineCommand({
    words: ['route', 'set'],
    summary: "Route a service of a sandbox: TARGET is sandbox (its container), baseline, or an http(s) URL.",
    args: ['SANDBOX', 'SERVICE', 'TARGET'],
    methods: ['route/set'],
    async run(ctx, { positionals }) {
      const [sandbox, service, to] = positionals as [string, string, string];
      const params =
        to === 'sandbox' || to === 'baseline' ? { sandbox, service, kind: to as 'sandbox' | 'baseline' }
        : /^https?:\/\//.test(to) ? { sandbox, service, kind: 'url' as const, url: to }
        : undefined;
      if (!params) throw new UsageError(`"${to}" is not sandbox, baseline or an http(s) URL`);
      const result = await ctx.call('route/set', params);
      ctx.out.result(result, (r) => ctx.out.line(`${r.service} in ${sandbox} -> ${effective(ctx.out, r)} ${ctx.out.style.dim(`(${r.reason})`)}`));
    },
  }),
  defineCommand({
    words: ['route', 'explain'],
    summary: 'Which target a request for PATH would reach, and why (the decision the gateway takes).',
    description:
      "With --sandbox: that sandbox's own gateway. Without: the shared gateway, which picks the sandbox from the " +
      'X-Branchbox-Sandbox header or the baggage entry branchbox-sandbox (give them with -H).',
    args: ['PATH'],
    options: {
      sandbox: { type: 'string', value: 'S', help: "ask S's own gateway" },
      header: { type: 'string', short: 'H', multiple: true, value: "'NAME: VALUE'", help: 'a request header (shared gateway)' },
    },
    methods: ['route/explain'],
    async run(ctx, { values, positionals }) {
      const headers: Record<string, string> = {};
      for (const h of values.header ?? []) {
        const colon = h.indexOf(':');
        if (colon <= 0) throw new UsageError(`-H "${h}" is not "Name: value"`);
        headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
      }
      const result = await ctx.call('route/explain', {
        path: positionals[0]!,
        ...(values.sandbox !== undefined ? { sandbox: values.sandbox } : {}),
        ...(Object.keys(headers).length ? { headers } : {}),
      });
      ctx.out.result(result, (d) => {
        ctx.out.fields([
          ['target', d.target ? `${d.target.kind} ${d.target.url}` : ctx.out.style.red(`none (the gateway answers ${d.status ?? '?'})`)],
          ['route', d.route ? `${d.route.prefix} -> ${d.route.service}` : undefined],
          ['sandbox', d.sandbox ? `${d.sandbox} (selected by ${d.selectedBy})` : undefined],
          ['header', `X-Branchbox-Route: ${d.routeHeader}`],
          ['why', d.reason],
        ]);
      });
    },
  }),
];
