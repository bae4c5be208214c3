/**
 * `branchbox follow SANDBOX [--off]`: a sandbox that follows redeploys each service deployed
 * from a branch when that branch moves (a commit, an amend, a pull, a reset).
 */
import type { Result } from '../../../../schemas/src/index';
import { plainLine } from '../../../../schemas/src/plain-text';
import { defineCommand } from '../command';
import { ago } from '../format';

type Follow = NonNullable<Result<'sandbox/get'>['follow']>;

/** The follow state in one line: `on since …, last redeploy main@abc1234 3 min ago, last error: …`. */
export function followText(f: Follow): string {
  const parts = [`on since ${ago(f.since)}`];
  if (f.lastRedeploy) parts.push(`last redeploy ${f.lastRedeploy.branch}@${f.lastRedeploy.commit.slice(0, 7)} ${ago(f.lastRedeploy.at)}`);
  if (f.lastError) parts.push(`last error ${ago(f.lastError.at)}: ${plainLine(f.lastError.message)}`);
  return parts.join(', ');
}

export const followCommands = [
  defineCommand({
    words: ['follow'],
    summary: 'Redeploy a sandbox\'s services when the branches they were deployed from move (--off to stop).',
    description:
      'Each service deployed from a branch is redeployed at the branch\'s new head after a commit, an amend, a pull or a ' +
      'reset, by the daemon watching the repository\'s refs (and at daemon start, for commits made while it was down). ' +
      'A head whose redeploy failed is not tried again until the branch moves. The setting is kept across daemon restarts.',
    args: ['SANDBOX'],
    options: { off: { type: 'boolean', help: 'stop following' } },
    methods: ['sandbox/follow'],
    async run(ctx, { values, positionals }) {
      const name = positionals[0]!;
      const result = await ctx.call('sandbox/follow', { sandbox: name, follow: !values.off });
      ctx.out.result(result, (s) => {
        if (!s.follow) return ctx.out.line(`Sandbox ${s.name} no longer follows its branches`);
        const branches = [...new Set(s.services.flatMap((v) => (v.branch !== undefined && v.commit !== undefined ? [v.branch] : [])))];
        ctx.out.line(`Sandbox ${ctx.out.style.bold(s.name)} follows ${branches.join(', ')}: ${followText(s.follow)}`);
      });
    },
  }),
];
