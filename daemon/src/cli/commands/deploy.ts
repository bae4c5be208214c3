/**
 * `branchbox deploy`: deploys the branch you are on (the repository of the current directory,
 * its checked-out branch) into a sandbox, showing each service's stages live with their
 * durations and the tail of the deploy log. Exit code 0 only when every deployment ends
 * running, 4 otherwise; Ctrl-C cancels the deployments (the previous containers keep serving).
 */
import { ProtocolError } from '../../../../schemas/src/client';
import { succeededStatus } from '../../../../schemas/src/deploy-status';
import type { Params, Result } from '../../../../schemas/src/index';
import { plainLine } from '../../../../schemas/src/plain-text';
import { commandText, type UntrustedData } from '../../../../schemas/src/trust';
import { defineCommand, type CommandContext } from '../command';
import { ExitCode } from '../errors';
import { DeployView } from '../deploy-view';
import { duration } from '../format';
import { truncateVisible } from '../output';
import { currentBranch, repositoryRoot, sandboxNameFor } from './git';

type Deployment = Result<'deploy/get'>;
const REDRAW_MS = 250;
const TAIL_LINES = 6;

/** The sandbox to deploy into: the one named, or one named after the branch, created when missing. */
async function ensureSandbox(ctx: CommandContext, name: string, repoPath: string, explicit: boolean): Promise<void> {
  try {
    await ctx.call('sandbox/get', { name });
  } catch (e) {
    if (explicit || !(e instanceof ProtocolError) || e.errorName !== 'SandboxNotFound') throw e;
    await ctx.call('sandbox/create', { name, repoPath });
    if (!ctx.out.json) ctx.out.line(`Created sandbox ${ctx.out.style.bold(name)}`);
  }
}

/** Redraws the view in place on a terminal (erasing the previous frame), or appends its changes. */
function display(ctx: CommandContext, view: DeployView) {
  const { out } = ctx;
  const width = out.stdout.columns || 120; // 0 when the terminal reports no size
  let drawn = 0;
  const draw = () => {
    const lines = view.render().map((l) => truncateVisible(l, width - 1).text);
    out.write(`${drawn ? `\x1b[${drawn}A\x1b[J` : ''}${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const timer = out.interactive ? setInterval(draw, REDRAW_MS) : undefined;
  return {
    items(items: Parameters<DeployView['apply']>[0][]) {
      for (const item of items) {
        const appended = view.apply(item);
        if (!out.interactive && !out.json) for (const line of appended) out.line(line);
      }
      if (out.interactive) draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      if (out.interactive) draw();
    },
  };
}

const succeeded = (d: Deployment): boolean => succeededStatus(d.status);

function summary(ctx: CommandContext, records: readonly Deployment[]): void {
  const { out } = ctx;
  out.line();
  out.table(records, [
    { header: '', value: (d) => (succeeded(d) ? out.style.green('✓') : out.style.red('✗')) },
    { header: 'SERVICE', value: (d) => d.service },
    { header: 'STATUS', value: (d) => (succeeded(d) ? out.style.green(d.status) : out.style.red(d.status)) },
    { header: 'COMMIT', value: (d) => `${d.commit?.slice(0, 7) ?? ''}${d.buildReused ? out.style.dim(' (image reused)') : ''}` },
    { header: 'TOOK', value: (d) => (d.durationMs !== undefined ? duration(d.durationMs) : '') },
    { header: 'URL / DIAGNOSIS', value: (d) => (d.status === 'running' ? d.url ?? '' : out.style.red(plainLine(d.diagnosis ?? ''))) },
  ]);
}

/**
 * `deploy/start`; when it answers Untrusted and the user passed --trust-command, shows the
 * commands, trusts them (trust/grant) and starts again. Without the flag the error stands (its
 * message says how to trust).
 */
async function startTrusting(ctx: CommandContext, trustCommands: boolean, params: Params<'deploy/start'>): Promise<Result<'deploy/start'>> {
  try {
    return await ctx.call('deploy/start', params);
  } catch (e) {
    if (!trustCommands || !(e instanceof ProtocolError) || e.errorName !== 'Untrusted') throw e;
    const { repoPath, commands } = e.data as UntrustedData;
    const say = (line: string) => (ctx.out.json ? ctx.stderr.write(`${line}\n`) : ctx.out.line(line));
    say(`Trusting ${commands.length === 1 ? 'this command' : 'these commands'} to run on this computer for ${repoPath}:`);
    for (const c of commands) {
      say(`  ${c.service}: ${commandText(c.command)}   (in ${c.context})`);
      await ctx.call('trust/grant', { repoPath, context: c.context, command: c.command });
    }
    return ctx.call('deploy/start', params);
  }
}

export const deployCommands = [
  defineCommand({
    words: ['deploy'],
    summary: 'Deploy the current branch into a sandbox, with a live view of stages and log; exit 4 if any deployment fails.',
    description:
      'Defaults: the repository of the current directory (git rev-parse --show-toplevel), its checked-out branch, every ' +
      'service of its project (branchbox.yaml, or the compose services without profiles and those of each --profile), and a sandbox named after the branch (created when missing). Each service is built ' +
      'and started beside the running one, which keeps serving until the new one is healthy. Ctrl-C cancels the ' +
      'deployments. With -o json the output is {deployments: [...]} as deploy/list answers it, once all are final. A ' +
      'service built by a host command ({ command, runtime, cmd }) runs it on this computer: it is refused (Untrusted) ' +
      'until that exact command is trusted for the repository; --trust-command shows the commands and trusts them. The ' +
      'dependencies (compose depends_on) of the services the sandbox lacks are deployed with them, and each service starts ' +
      'once its dependencies are started, healthy or completed as it asks. Exit 0 when every deployment runs (or, a job, completed).',
    options: {
      sandbox: { type: 'string', value: 'S', help: 'the sandbox (default: named after the branch, created if missing)' },
      service: { type: 'string', multiple: true, value: 'X', help: 'deploy service X and the dependencies the sandbox lacks (default: every service)' },
      profile: { type: 'string', multiple: true, value: 'P', help: 'compose profile P: its services deploy too (default: only services without profiles)' },
      ref: { type: 'string', value: 'BRANCH', help: 'the branch to deploy (default: the checked-out one)' },
      'include-uncommitted': { type: 'boolean', help: "deploy the working tree's uncommitted changes on top of the commit" },
      repo: { type: 'string', value: 'PATH', help: 'the repository (default: the one of the current directory)' },
      'trust-command': { type: 'boolean', help: 'trust the host build commands the deploy needs (shown first) for this repository' },
    },
    methods: ['sandbox/get', 'sandbox/create', 'deploy/start', 'trust/grant', 'deploy/subscribe', 'deploy/get', 'deploy/cancel'],
    async run(ctx, { values }) {
      const repoPath = await repositoryRoot(values.repo ?? ctx.cwd);
      const ref = values.ref ?? (await currentBranch(repoPath));
      const sandbox = values.sandbox ?? sandboxNameFor(ref ?? 'detached');
      await ensureSandbox(ctx, sandbox, repoPath, values.sandbox !== undefined);
      const { deployments, addedDependencies } = await startTrusting(ctx, values['trust-command'] ?? false, {
        repoPath,
        sandbox,
        // Without --service the daemon deploys every service (of the chosen profiles).
        ...(values.service?.length ? { services: values.service } : {}),
        ...(values.profile?.length ? { profiles: values.profile } : {}),
        ...(ref !== undefined ? { ref } : {}),
        ...(values['include-uncommitted'] ? { includeUncommitted: true } : {}),
      });
      if (!ctx.out.json) {
        ctx.out.line(`Deploying ${ctx.out.style.bold(ref ?? 'HEAD')} of ${repoPath} into sandbox ${ctx.out.style.bold(sandbox)}`);
        if (addedDependencies.length) ctx.out.line(`With the dependencies the sandbox lacks: ${addedDependencies.join(', ')}`);
      }
      const view = new DeployView(deployments, { tailLines: TAIL_LINES, now: Date.now, style: ctx.out.style, ansi: ctx.out.color });
      const screen = display(ctx, view);
      const streams = deployments.map((d) => ctx.stream('deploy/subscribe', { deployment: d.id }, 'deploy/progress', (items) => screen.items(items)));
      let interrupted = false;
      try {
        const ends = await Promise.all(streams.map((s) => s.ended));
        interrupted = ends.some((e) => e.interrupted);
      } finally {
        screen.stop();
      }
      const { client } = await ctx.daemon();
      if (interrupted) {
        // Ctrl-C: cancel what has not finished; a deployment already switching over completes.
        const cancelled = await Promise.all(deployments.map((d) => client.request('deploy/cancel', { id: d.id })));
        if (!ctx.out.json) deployments.forEach((d, i) => ctx.out.line(`${d.service}: ${cancelled[i]!.status}`));
        return ExitCode.Interrupted;
      }
      const records = await Promise.all(deployments.map((d) => client.request('deploy/get', { id: d.id })));
      ctx.out.result({ deployments: records }, (r) => summary(ctx, r.deployments));
      return records.every(succeeded) ? ExitCode.Ok : ExitCode.DeployFailed;
    },
  }),
];
