/** `branchbox --help` and `branchbox <command> --help`, generated from the command table. */
import { GLOBAL_OPTIONS, type Command, type OptionSpecs } from './command';
import { EXIT_CODES_HELP } from './errors';

const usageLine = (c: Command) =>
  ['branchbox', ...c.words, ...(Object.keys(c.options).length ? ['[options]'] : []), ...c.args].join(' ');

function optionLines(options: OptionSpecs): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}${o.multiple ? ' (repeatable)' : ''}`;
    return [flag, o.help] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}\n`).join('');
}

export function mainHelp(commands: readonly Command[], prefix: readonly string[] = []): string {
  const shown = commands.filter((c) => prefix.every((w, i) => c.words[i] === w));
  const rows = shown.map((c) => [[...c.words, ...c.args].join(' '), c.summary] as const);
  const width = Math.min(32, Math.max(...rows.map(([u]) => u.length)));
  return (
    `Usage: branchbox [global options] <command> [options] [arguments]\n\n` +
    `The command-line client of branchboxd (Branchbox: deploy your branch into a Docker sandbox).\n` +
    `It talks to the daemon of the state directory over the Branchbox protocol, like any editor.\n\n` +
    `Commands:\n` +
    rows.map(([u, s]) => (u.length > width ? `  ${u}\n  ${''.padEnd(width)}  ${s}\n` : `  ${u.padEnd(width)}  ${s}\n`)).join('') +
    `\nGlobal options:\n${optionLines(GLOBAL_OPTIONS)}\n` +
    EXIT_CODES_HELP +
    `\nRun \`branchbox <command> --help\` for the options of a command.\n`
  );
}

export function commandHelp(c: Command): string {
  return (
    `Usage: ${usageLine(c)}\n\n${c.summary}\n` +
    (c.description ? `\n${c.description.trim()}\n` : '') +
    (Object.keys(c.options).length ? `\nOptions:\n${optionLines(c.options)}` : '') +
    `\nGlobal options:\n${optionLines(GLOBAL_OPTIONS)}` +
    (c.methods.length ? `\nProtocol methods: ${c.methods.join(', ')}\n` : '') +
    `\n${EXIT_CODES_HELP}`
  );
}
