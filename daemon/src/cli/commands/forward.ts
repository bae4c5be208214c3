/**
 * `branchbox forward ls|add|rm|use`: stable 127.0.0.1 ports for service ports (a database, a
 * cache) that follow the project's current sandbox, switched by `use`.
 */
import type { ForwardView } from '../../../../schemas/src/forward';
import type { Result } from '../../../../schemas/src/index';
import { defineCommand, type CommandContext } from '../command';
import { UsageError } from '../errors';
import type { Output } from '../output';
import { repositoryRoot } from './git';

const projectOption = {
  project: { type: 'string', value: 'P', help: 'the project (default: the one of the repository of the current directory)' },
} as const;

/** `--project`, else the name in the project file of the current directory's repository. */
async function projectOf(ctx: CommandContext, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const root = await repositoryRoot(ctx.cwd).catch(() => {
    throw new UsageError('not in a repository: give --project');
  });
  return (await ctx.call('project/load', { path: root })).name;
}

/** `SERVICE[:PORT]` → service and container port. */
function parseTarget(text: string): { service: string; containerPort?: number } {
  const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) throw new UsageError(`"${text}" is not SERVICE or SERVICE:CONTAINER_PORT`);
  return { service: match[1]!, ...(match[2] !== undefined ? { containerPort: port(match[2], 'container port') } : {}) };
}

function port(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`${what} "${text}" is not a port (1-65535)`);
  return n;
}

const goesTo = (out: Output, f: ForwardView) =>
  f.target ? `${f.target.sandbox} (127.0.0.1:${f.target.hostPort})` : out.style.red(f.reason ?? 'nowhere');

function printProjects(ctx: CommandContext, projects: Result<'forward/list'>['projects']): void {
  const { out } = ctx;
  if (!projects.length) return out.line(out.style.dim('No forwards. Add one with: branchbox forward add SERVICE[:PORT]'));
  projects.forEach((p, i) => {
    if (i) out.line();
    out.fields([
      ['project', p.project],
      ['current sandbox', p.sandbox ?? out.style.dim('none (branchbox forward use SANDBOX)')],
    ]);
    if (!p.forwards.length) return;
    out.line();
    out.table(p.forwards, [
      { header: 'LOCAL', value: (f) => (f.listening ? f.address : out.style.red(`${f.address} (${f.listenError ?? 'not listening'})`)) },
      { header: 'SERVICE', value: (f) => `${f.service}:${f.containerPort}` },
      { header: 'GOES TO', value: (f) => goesTo(out, f) },
      { header: 'OPEN', value: (f) => String(f.connections.open) },
      { header: 'REFUSED', value: (f) => String(f.connections.refused) },
      { header: 'LAST ERROR', value: (f) => (f.lastError ? out.style.dim(`${f.lastError.at} ${f.lastError.message}`) : '') },
    ]);
  });
}

export const forwardCommands = [
  defineCommand({
    words: ['forward', 'ls'],
    summary: "Forwards: each local address, where new connections go now (the project's current sandbox), connections and last error.",
    options: projectOption,
    methods: ['forward/list'],
    async run(ctx, { values }) {
      const result = await ctx.call('forward/list', values.project !== undefined ? { project: values.project } : {});
      ctx.out.result(result, (r) => printProjects(ctx, r.projects));
    },
  }),
  defineCommand({
    words: ['forward', 'add'],
    summary: "Forward 127.0.0.1:LOCAL to a service port of the project's current sandbox.",
    description:
      'PORT defaults to the service\'s first published port (else its port); --local to the published port (else PORT) + 10000, ' +
      'e.g. postgres 5432 → 127.0.0.1:15432. A local port already taken is an error naming it.',
    args: ['SERVICE[:PORT]'],
    options: { ...projectOption, local: { type: 'string', value: 'PORT', help: 'the local port on 127.0.0.1' } },
    methods: ['forward/add', 'project/load'],
    async run(ctx, { values, positionals }) {
      const target = parseTarget(positionals[0]!);
      const project = await projectOf(ctx, values.project);
      const result = await ctx.call('forward/add', {
        project,
        ...target,
        ...(values.local !== undefined ? { localPort: port(values.local, '--local') } : {}),
      });
      ctx.out.result(result, (f) => ctx.out.line(`${ctx.out.style.bold(f.address)} -> ${f.service}:${f.containerPort} of ${goesTo(ctx.out, f)}`));
    },
  }),
  defineCommand({
    words: ['forward', 'rm'],
    summary: 'Remove a forward: its local port closes and the connections through it end.',
    args: ['SERVICE[:PORT]'],
    options: projectOption,
    methods: ['forward/remove', 'project/load'],
    async run(ctx, { values, positionals }) {
      const target = parseTarget(positionals[0]!);
      const result = await ctx.call('forward/remove', { project: await projectOf(ctx, values.project), ...target });
      ctx.out.result(result, (r) => ctx.out.line(`Removed ${r.removed.address} -> ${r.removed.service}:${r.removed.containerPort}`));
    },
  }),
  defineCommand({
    words: ['forward', 'use'],
    summary: "Make SANDBOX the project's current sandbox: every forward of the project sends new connections there.",
    description: "Connections in flight keep their sandbox. --none unsets it (new connections are refused). The project defaults to the sandbox's.",
    args: ['[SANDBOX]'],
    options: { ...projectOption, none: { type: 'boolean', help: 'unset the current sandbox' } },
    methods: ['forward/use', 'project/load'],
    async run(ctx, { values, positionals }) {
      const sandbox = positionals[0];
      if ((sandbox === undefined) === !values.none) throw new UsageError('give SANDBOX, or --none to unset');
      const project = values.none ? await projectOf(ctx, values.project) : values.project;
      const result = await ctx.call('forward/use', { ...(project !== undefined ? { project } : {}), sandbox: sandbox ?? null });
      ctx.out.result(result, (r) => printProjects(ctx, [r]));
    },
  }),
];
