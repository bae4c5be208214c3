/**
 * `branchbox wait --for healthy SANDBOX`: returns once every service the sandbox runs has its
 * serving container (`sandbox-{name}_{service}`; `sandbox-{name}-{service}` for one deployed
 * by an earlier version) running and, if it has a health check, healthy. It listens to the
 * daemon's container events — no polling — and gives up after --timeout.
 */
import type { Result, StreamItem } from '../../../../schemas/src/index';
import { DURATION_RULE } from '../../../../schemas/src/durations';
import { servingContainerName, servingServiceOf } from '../../../../schemas/src/docker-names';
import { defineCommand } from '../command';
import { CliError, ExitCode, UsageError } from '../errors';
import { duration, parseDuration } from '../format';

type Container = Result<'container/list'>['containers'][number];
type Condition = 'healthy' | 'running';

/**
 * The service whose serving container this is, or undefined (a deployment's container before
 * it serves, another sandbox's): `sandbox-{sandbox}_{service}`, or, labelled for the sandbox,
 * `sandbox-{sandbox}-{service}` (earlier versions). Names are DNS labels: no `_` in them.
 */
export function servedService(sandbox: string, c: { name: string; sandbox?: string }): string | undefined {
  const current = servingServiceOf(sandbox, c.name);
  if (current !== undefined || c.name.startsWith(servingContainerName(sandbox, ''))) return current;
  const legacy = `sandbox-${sandbox}-`;
  return c.sandbox === sandbox && c.name.startsWith(legacy) ? c.name.slice(legacy.length) : undefined;
}

/** What keeps `service` from meeting the condition, or undefined when it does. */
export function pending(condition: Condition, service: string, c: Container | undefined): string | undefined {
  if (!c) return `${service}: no container`;
  if (c.state !== 'running') return `${service}: ${c.state}`;
  if (condition === 'healthy' && c.health !== undefined && c.health !== 'healthy') return `${service}: ${c.health}`;
  return undefined;
}

export const waitCommands = [
  defineCommand({
    words: ['wait'],
    summary: 'Wait until every service of a sandbox is running and healthy (via container events, not polling).',
    description:
      'The services are those the sandbox routes to its own containers. --for running does not wait for health checks. ' +
      'Exits 0 once the condition holds, 1 (Timeout) when it does not within --timeout. With -o json it prints ' +
      '{containers: [...]} as container/list answers it.',
    args: ['SANDBOX'],
    options: {
      for: { type: 'string', value: 'healthy|running', help: 'the condition (default healthy)' },
      timeout: { type: 'string', value: 'DURATION', help: 'give up after this long (default 5m; e.g. 90s, 10m)' },
    },
    methods: ['sandbox/get', 'container/list', 'events/subscribe'],
    async run(ctx, { values, positionals }) {
      const condition = (values.for ?? 'healthy') as Condition;
      if (condition !== 'healthy' && condition !== 'running') throw new UsageError(`--for: "${values.for}" is not healthy or running`);
      const timeoutMs = parseDuration(values.timeout ?? '5m');
      if (timeoutMs === undefined) throw new UsageError(`--timeout: "${values.timeout}" is not a duration: write ${DURATION_RULE}`);
      const name = positionals[0]!;
      const containers = new Map<string, Container>(); // by service
      let services: string[] = [];
      let settled: ((outcome: 'met' | 'timeout') => void) | undefined;
      const outcome = new Promise<'met' | 'timeout'>((r) => (settled = r));
      const check = () => {
        if (services.every((s) => pending(condition, s, containers.get(s)) === undefined)) settled?.('met');
      };
      const refetch = async () => {
        const { containers: list } = await ctx.call('container/list', { sandbox: name });
        containers.clear();
        for (const c of list) {
          const service = servedService(name, c);
          if (service !== undefined) containers.set(service, c);
        }
        check();
      };
      let ready = false;
      const events = ctx.stream('events/subscribe', { types: ['container'] }, 'events/event', (items: StreamItem<'events/event'>[]) => {
        for (const e of items) {
          if (e.type === 'resync') {
            if (ready) void refetch();
            continue;
          }
          const service = e.name === undefined ? undefined : servedService(name, { name: e.name, ...(e.container?.sandbox ? { sandbox: e.container.sandbox } : {}) });
          if (service === undefined) continue;
          if (e.action === 'destroy') containers.delete(service);
          else if (e.container) containers.set(service, e.container);
        }
        if (ready) check();
      });
      await events.subscribed; // subscribed before the first look, so no change falls between the two
      const sandbox = await ctx.call('sandbox/get', { name });
      services = sandbox.services.filter((s) => s.route === 'sandbox').map((s) => s.service);
      await refetch();
      ready = true;
      check();
      const timer = setTimeout(() => settled?.('timeout'), timeoutMs);
      const result = await Promise.race([outcome, events.ended.then((e) => (e.interrupted ? ('interrupted' as const) : ('ended' as const)))]);
      clearTimeout(timer);
      events.stop();
      if (result === 'interrupted') return ExitCode.Interrupted;
      if (result !== 'met') {
        const why = services.map((s) => pending(condition, s, containers.get(s))).filter(Boolean).join(', ');
        throw new CliError('Timeout', `sandbox ${name} is not ${condition} after ${duration(timeoutMs)} (${why})`, ExitCode.Failed);
      }
      await events.ended.catch(() => undefined);
      const serving = services.map((s) => containers.get(s)!);
      ctx.out.result({ containers: serving }, () =>
        ctx.out.line(`${name}: ${services.length ? services.join(', ') : 'no services'} ${condition}`),
      );
    },
  }),
];
