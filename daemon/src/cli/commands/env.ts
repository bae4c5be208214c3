/**
 * `branchbox env ls|set|unset`: the environment of a sandbox or of one of its services. A
 * secret's value is never taken from the command line (it would land in shell history and in
 * `ps`): `env set --secret KEY` reads it from stdin, or from a prompt that does not echo.
 */
import type { Result } from '../../../../schemas/src/index';
import { defineCommand, type CommandContext } from '../command';
import { CliError, ExitCode, UsageError } from '../errors';
import { ago } from '../format';

const target = {
  sandbox: { type: 'string', value: 'S', help: 'the sandbox (required)' },
  service: { type: 'string', value: 'X', help: 'one service of it (default: the sandbox level, every service)' },
} as const;

function envTarget(values: { sandbox?: string; service?: string }): { sandbox: string; service?: string } {
  if (values.sandbox === undefined) throw new UsageError('--sandbox S is required');
  return { sandbox: values.sandbox, ...(values.service !== undefined ? { service: values.service } : {}) };
}

/** Reads a value from stdin: a prompt without echo on a terminal, else everything up to EOF (one final newline dropped). */
export async function readValue(ctx: CommandContext, prompt: string): Promise<string> {
  const stdin = ctx.stdin;
  if (stdin.isTTY && stdin.setRawMode) {
    ctx.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    try {
      return await new Promise<string>((resolve, reject) => {
        let value = '';
        const onData = (chunk: Buffer) => {
          for (const ch of chunk.toString('utf8')) {
            if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(() => resolve(value));
            if (ch === '\u0003') return done(() => reject(new CliError('Interrupted', 'interrupted', ExitCode.Interrupted)));
            if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
            else value += ch;
          }
        };
        const done = (settle: () => void) => {
          stdin.off('data', onData);
          settle();
        };
        stdin.on('data', onData);
      });
    } finally {
      stdin.setRawMode(false);
      stdin.pause();
      ctx.stderr.write('\n');
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

type EnvEntry = Result<'env/set'>;
const scope = (e: EnvEntry) => (e.service ? `${e.sandbox}/${e.service}` : e.sandbox);

export const envCommands = [
  defineCommand({
    words: ['env', 'ls'],
    summary: 'List the environment of a sandbox (secrets shown as ***).',
    options: target,
    methods: ['env/list'],
    async run(ctx, { values }) {
      const result = await ctx.call('env/list', envTarget(values));
      ctx.out.result(result, ({ entries }) => {
        if (!entries.length) return ctx.out.line(ctx.out.style.dim('no environment entries'));
        ctx.out.table(entries, [
          { header: 'SCOPE', value: scope },
          { header: 'KEY', value: (e) => e.key },
          { header: 'VALUE', value: (e) => (e.secret ? ctx.out.style.dim(e.value) : e.value) },
          { header: 'SECRET', value: (e) => (e.secret ? 'yes' : '') },
          { header: 'UPDATED', value: (e) => ago(e.updatedAt) },
        ]);
      });
    },
  }),
  defineCommand({
    words: ['env', 'set'],
    summary: 'Set a variable (KEY VALUE, or the value from stdin) or, with --secret, a secret read from stdin or a hidden prompt.',
    description:
      'A secret is stored encrypted by the daemon and never shown again. Its value is never read from the command line: ' +
      'pipe it (`printf %s "$TOKEN" | branchbox env set --sandbox S --secret API_TOKEN`) or type it at the prompt.',
    args: ['KEY', '[VALUE]'],
    options: { ...target, secret: { type: 'boolean', help: 'store as a secret: encrypted, masked everywhere' } },
    methods: ['env/set'],
    async run(ctx, { values, positionals }) {
      const [key, given] = positionals as [string, string | undefined];
      if (values.secret && given !== undefined) {
        throw new UsageError('a secret is never taken from the command line; give it on stdin or at the prompt');
      }
      const value = given ?? (await readValue(ctx, `value of ${values.secret ? 'secret ' : ''}${key}: `));
      const result = await ctx.call('env/set', { ...envTarget(values), key, value, ...(values.secret ? { secret: true } : {}) });
      ctx.out.result(result, (e) => {
        ctx.out.line(`Set ${e.secret ? 'secret ' : ''}${e.key} in ${scope(e)}`);
        if (e.warning) ctx.stderr.write(`warning: ${e.warning}\n`);
      });
    },
  }),
  defineCommand({
    words: ['env', 'unset'],
    summary: 'Remove an environment entry (nothing to do when it is not set).',
    args: ['KEY'],
    options: target,
    methods: ['env/delete'],
    async run(ctx, { values, positionals }) {
      const t = envTarget(values);
      const result = await ctx.call('env/delete', { ...t, key: positionals[0]! });
      ctx.out.result(result, (r) => ctx.out.line(r.deleted ? `Removed ${positionals[0]}` : `${positionals[0]} was not set`));
    },
  }),
];
