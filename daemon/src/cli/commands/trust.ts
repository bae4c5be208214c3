/**
 * `branchbox trust ls|rm`: the host build commands trusted per repository, and revoking them.
 * Commands are trusted by `branchbox deploy --trust-command` (after it shows them), by the
 * Trust prompt of VS Code, or by any client through trust/grant.
 */
import { resolve } from 'node:path';
import { commandText } from '../../../../schemas/src/trust';
import { defineCommand } from '../command';
import { CliError, ExitCode, UsageError } from '../errors';

export const trustCommands = [
  defineCommand({
    words: ['trust', 'ls'],
    summary: 'The host build commands trusted to run on this computer, per repository (--repo: of one).',
    options: {
      repo: { type: 'string', value: 'PATH', help: 'only the commands of this repository' },
    },
    methods: ['trust/list'],
    async run(ctx, { values }) {
      const repoPath = values.repo !== undefined ? resolve(ctx.cwd, values.repo) : undefined;
      const result = await ctx.call('trust/list', repoPath !== undefined ? { repoPath } : {});
      ctx.out.result(result, (r) => {
        if (!r.commands.length) return ctx.out.line(ctx.out.style.dim('No host command is trusted.'));
        ctx.out.table(r.commands, [
          { header: 'ID', value: (c) => String(c.id) },
          { header: 'REPOSITORY', value: (c) => c.repoPath },
          { header: 'CONTEXT', value: (c) => c.context },
          { header: 'COMMAND', value: (c) => commandText(c.command) },
          { header: 'TRUSTED', value: (c) => `${c.grantedAt.slice(0, 16).replace('T', ' ')}${c.grantedBy ? ` by ${c.grantedBy}` : ''}` },
        ]);
      });
    },
  }),
  defineCommand({
    words: ['trust', 'rm'],
    summary: 'Revoke a trusted host command by its ID (trust ls), or every one of a repository with --repo.',
    args: ['[ID]'],
    options: {
      repo: { type: 'string', value: 'PATH', help: 'revoke every command trusted for this repository' },
    },
    methods: ['trust/revoke'],
    async run(ctx, { values, positionals }) {
      const id = positionals[0];
      if ((id === undefined) === (values.repo === undefined)) throw new UsageError('give an ID (see branchbox trust ls) or --repo PATH');
      if (id !== undefined && !/^[1-9][0-9]{0,15}$/.test(id)) throw new UsageError(`"${id}" is not an ID (see branchbox trust ls)`);
      const result = await ctx.call('trust/revoke', id !== undefined ? { id: Number(id) } : { repoPath: resolve(ctx.cwd, values.repo!) });
      if (!result.revoked.length) throw new CliError('NotTrusted', id !== undefined ? `no trusted command has ID ${id}` : `no command is trusted for ${values.repo}`, ExitCode.Failed);
      ctx.out.result(result, (r) => {
        for (const c of r.revoked) ctx.out.line(`Revoked ${c.id}: ${commandText(c.command)} in ${c.context} of ${c.repoPath}`);
      });
    },
  }),
];
