/**
 * Containers: `ps`, `container start|stop|restart|rm|inspect`, `logs`, `stats`. A container is
 * named by id or name; with `--sandbox S`, a bare service name means the container serving it,
 * `sandbox-{S}_{service}`.
 */
import { servingContainerName } from '../../../../schemas/src/docker-names';
import type { Result, StreamItem } from '../../../../schemas/src/index';
import { defineCommand, type CommandContext } from '../command';
import { ExitCode, UsageError } from '../errors';
import { ago, bytes, ports, shortId } from '../format';
import type { Output } from '../output';

type Container = Result<'container/list'>['containers'][number];

/** `SERVICE` of `--sandbox S` → `sandbox-S_SERVICE`; anything else is a container id or name. */
export function containerRef(target: string, sandbox: string | undefined): string {
  return sandbox !== undefined && !target.startsWith(servingContainerName(sandbox, '')) ? servingContainerName(sandbox, target) : target;
}

function stateText(out: Output, c: Container): string {
  const text = c.health ? `${c.state} (${c.health})` : c.state;
  if (c.state === 'running') return c.health === 'unhealthy' ? out.style.red(text) : c.health === 'starting' ? out.style.yellow(text) : out.style.green(text);
  if (c.state === 'restarting' || c.state === 'paused') return out.style.yellow(text);
  return c.state === 'exited' && c.exitCode === 0 ? out.style.dim(text) : out.style.red(text);
}

function printContainers(out: Output, containers: readonly Container[]): void {
  if (containers.length === 0) return out.line(out.style.dim('no containers'));
  out.table(containers, [
    { header: 'CONTAINER', value: (c) => shortId(c.id) },
    { header: 'NAME', value: (c) => c.name },
    { header: 'IMAGE', value: (c) => c.image },
    { header: 'STATE', value: (c) => stateText(out, c) },
    { header: 'STATUS', value: (c) => c.status },
    { header: 'SANDBOX', value: (c) => (c.sandbox ? `${c.sandbox}${c.service ? `/${c.service}` : ''}` : c.composeProject ? `(compose ${c.composeProject})` : '') },
    { header: 'PORTS', value: (c) => ports(c.ports) },
    { header: 'CREATED', value: (c) => ago(c.created) },
  ]);
}

const sandboxOption = { sandbox: { type: 'string', value: 'S', help: 'CONTAINER is a service of sandbox S' } } as const;

/** `container stop` and `container restart`: SIGTERM, then SIGKILL after the timeout. */
const stopCommand = (verb: 'stop' | 'restart', done: string, summary: string) =>
  defineCommand({
    words: ['container', verb],
    summary,
    args: ['CONTAINER'],
    options: { ...sandboxOption, timeout: { type: 'string', value: 'SECONDS', help: "seconds before SIGKILL (default: the container's own, usually 10)" } },
    methods: [`container/${verb}`],
    async run(ctx, { values, positionals }) {
      const id = containerRef(positionals[0]!, values.sandbox);
      const params = { id, ...(values.timeout !== undefined ? { timeout: integer('--timeout', values.timeout) } : {}) };
      const result = await ctx.call(verb === 'stop' ? 'container/stop' : 'container/restart', params);
      ctx.out.result(result, () => ctx.out.line(`${done} ${id}`));
    },
  });

export function integer(flag: string, text: string, min = 0): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: "${text}" is not an integer >= ${min}`);
  return n;
}

function printLogLine(ctx: CommandContext, item: StreamItem<'container/logs/data'>, timestamps: boolean): void {
  const prefix = timestamps && item.t ? `${ctx.out.style.dim(item.t)} ` : '';
  const text = `${prefix}${item.line}\n`;
  if (item.stream === 'stderr' && !ctx.out.json) ctx.stderr.write(text);
  else ctx.out.write(text);
}

export const containerCommands = [
  defineCommand({
    words: ['ps'],
    summary: 'List containers (running ones unless --all), from the daemon\'s live model.',
    options: {
      all: { type: 'boolean', short: 'a', help: 'also containers that are not running' },
      sandbox: { type: 'string', value: 'S', help: 'only the containers of sandbox S (implies --all)' },
      label: { type: 'string', value: 'KEY[=VALUE]', multiple: true, help: 'only containers with this label' },
    },
    methods: ['container/list'],
    async run(ctx, { values }) {
      const result = await ctx.call('container/list', {
        ...(values.all ? { all: true } : {}),
        ...(values.sandbox !== undefined ? { sandbox: values.sandbox } : {}),
        ...(values.label?.length ? { label: values.label } : {}),
      });
      ctx.out.result(result, (r) => printContainers(ctx.out, r.containers));
    },
  }),
  defineCommand({
    words: ['container', 'start'],
    summary: 'Start a stopped container.',
    args: ['CONTAINER'],
    options: sandboxOption,
    methods: ['container/start'],
    async run(ctx, { values, positionals }) {
      const id = containerRef(positionals[0]!, values.sandbox);
      ctx.out.result(await ctx.call('container/start', { id }), () => ctx.out.line(`Started ${id}`));
    },
  }),
  stopCommand('stop', 'Stopped', 'Stop a container: SIGTERM, then SIGKILL after the timeout.'),
  stopCommand('restart', 'Restarted', 'Stop and start a container.'),
  defineCommand({
    words: ['container', 'rm'],
    summary: 'Remove a container (a running one only with --force).',
    args: ['CONTAINER'],
    options: {
      ...sandboxOption,
      force: { type: 'boolean', short: 'f', help: 'kill it first if it runs' },
      volumes: { type: 'boolean', short: 'v', help: 'also remove its anonymous volumes' },
    },
    methods: ['container/remove'],
    async run(ctx, { values, positionals }) {
      const id = containerRef(positionals[0]!, values.sandbox);
      const result = await ctx.call('container/remove', { id, ...(values.force ? { force: true } : {}), ...(values.volumes ? { volumes: true } : {}) });
      ctx.out.result(result, () => ctx.out.line(`Removed ${id}`));
    },
  }),
  defineCommand({
    words: ['container', 'inspect'],
    summary: 'Everything about one container (secret-looking environment values masked).',
    args: ['CONTAINER'],
    options: sandboxOption,
    methods: ['container/inspect'],
    async run(ctx, { values, positionals }) {
      const d = await ctx.call('container/inspect', { id: containerRef(positionals[0]!, values.sandbox) });
      ctx.out.result(d, () => {
        ctx.out.fields([
          ['id', d.id],
          ['name', d.name],
          ['image', d.image],
          ['state', `${stateText(ctx.out, d)} — ${d.status}`],
          ['sandbox', d.sandbox ? `${d.sandbox}${d.service ? ` / ${d.service}` : ''}` : undefined],
          ['command', [...d.entrypoint, ...d.command].join(' ')],
          ['ports', ports(d.ports) || undefined],
          ['networks', d.networks.map((n) => n.name).join(', ') || undefined],
          ['restarts', String(d.restartCount)],
          ['exit code', d.exitCode !== undefined && d.state !== 'running' ? `${d.exitCode}${d.oomKilled ? ' (OOM killed)' : ''}` : undefined],
          ['error', d.error],
          ['last probe', d.lastHealthProbe ? `exit ${d.lastHealthProbe.exitCode}: ${d.lastHealthProbe.output.trim()}` : undefined],
          ['created', `${d.created} (${ago(d.created)})`],
        ]);
        if (d.env.length) {
          ctx.out.line(ctx.out.style.dim('env:'));
          for (const e of d.env) ctx.out.line(`  ${e}`);
        }
      });
    },
  }),
  defineCommand({
    words: ['logs'],
    summary: 'Print the output of a container; with -f, follow it until Ctrl-C (across restarts).',
    description:
      'stdout lines go to stdout and stderr lines to stderr. With -o json each line is one LogRecord per line ' +
      '({stream, line, t?}), as in the container/logs/data notification.',
    args: ['CONTAINER|SERVICE'],
    options: {
      follow: { type: 'boolean', short: 'f', help: 'keep printing new lines' },
      tail: { type: 'string', short: 'n', value: 'N', help: 'start with the last N lines (default: all)' },
      since: { type: 'string', value: 'TIME', help: 'only lines since TIME (RFC 3339 or unix seconds)' },
      timestamps: { type: 'boolean', short: 't', help: 'prefix each line with its engine timestamp' },
      sandbox: { type: 'string', value: 'S', help: 'SERVICE is a service of sandbox S (container sandbox-S_SERVICE)' },
    },
    methods: ['container/logs'],
    async run(ctx, { values, positionals }) {
      const id = containerRef(positionals[0]!, values.sandbox);
      const since = values.since === undefined ? undefined : /^\d+(\.\d+)?$/.test(values.since) ? Number(values.since) : values.since;
      const timestamps = values.timestamps ?? false;
      const stream = ctx.stream(
        'container/logs',
        {
          id,
          ...(values.follow ? { follow: true } : {}),
          ...(values.tail !== undefined ? { tail: values.tail === 'all' ? ('all' as const) : integer('--tail', values.tail) } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(timestamps ? { timestamps: true } : {}),
        },
        'container/logs/data',
        (items) => {
          for (const item of items) ctx.out.item(item, () => printLogLine(ctx, item, timestamps));
        },
      );
      const end = await stream.ended;
      return end.interrupted ? ExitCode.Interrupted : ExitCode.Ok;
    },
  }),
  defineCommand({
    words: ['stats'],
    summary: 'Live CPU, memory, network and block I/O of a container, or of every container of a sandbox, until Ctrl-C.',
    description:
      'Prints one line per sample (about one a second per container). With -o json each sample is one StatsSample per ' +
      'line, as in the container/stats/data notification. With --once, stops after the first sample of each container.',
    args: ['[CONTAINER|SERVICE]'],
    options: {
      sandbox: { type: 'string', value: 'S', help: 'every container of sandbox S; with CONTAINER, the service CONTAINER of S' },
      once: { type: 'boolean', help: 'stop after one sample per container' },
    },
    methods: ['container/stats', 'container/list'],
    async run(ctx, { values, positionals }) {
      const target = positionals[0];
      if (target === undefined && values.sandbox === undefined) throw new UsageError('give a CONTAINER, or --sandbox S');
      const params = target !== undefined ? { id: containerRef(target, values.sandbox) } : { sandbox: values.sandbox! };
      const names = new Map<string, string>();
      if (!ctx.out.json) {
        const { containers } = await ctx.call('container/list', { all: true });
        for (const c of containers) names.set(c.id, c.name);
      }
      // --once: one sample of the container, or of each container of the sandbox running now.
      const wanted =
        !values.once ? undefined
        : target !== undefined ? 1
        : (await ctx.call('container/list', { sandbox: values.sandbox!, state: ['running'] })).containers.length;
      const seen = new Set<string>();
      let header = false;
      const stream = ctx.stream('container/stats', params, 'container/stats/data', (items) => {
        for (const s of items) {
          if (wanted !== undefined && seen.size >= wanted) break;
          seen.add(s.id);
          ctx.out.item(s, () => {
            if (!header) {
              header = true;
              ctx.out.line(ctx.out.style.bold(`${'CONTAINER'.padEnd(28)} ${'CPU %'.padStart(7)} ${'MEM USAGE / LIMIT'.padStart(21)} ${'MEM %'.padStart(6)} ${'NET RX/TX /s'.padStart(19)} ${'BLOCK R/W /s'.padStart(19)}`));
            }
            ctx.out.line(
              `${(names.get(s.id) ?? shortId(s.id)).slice(0, 28).padEnd(28)} ${s.cpuPercent.toFixed(2).padStart(7)} ` +
                `${`${bytes(s.memoryUsed)} / ${bytes(s.memoryLimit)}`.padStart(21)} ${s.memoryPercent.toFixed(1).padStart(6)} ` +
                `${`${bytes(s.netRxRate)} / ${bytes(s.netTxRate)}`.padStart(19)} ${`${bytes(s.blockReadRate)} / ${bytes(s.blockWriteRate)}`.padStart(19)}`,
            );
          });
        }
        if (wanted !== undefined && seen.size >= wanted) stream.stop();
      });
      if (wanted === 0) stream.stop();
      const end = await stream.ended;
      return end.interrupted ? ExitCode.Interrupted : ExitCode.Ok;
    },
  }),
];
