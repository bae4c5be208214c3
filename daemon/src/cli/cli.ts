/**
 * The CLI as a function of its arguments, environment and streams: finds the command, parses
 * its options (global ones anywhere on the line), opens the daemon connection when the command
 * first needs it, and maps every failure to one line on stderr and an exit code.
 */
import { parseArgs } from 'node:util';
import { resolveStateDir } from '../../../schemas/node/state-dir';
import { GLOBAL_OPTIONS, arity, openStream, type Command, type CommandContext, type OptionSpecs } from './command';
import { commands } from './commands/index';
import { CLIENT_INFO, connectToDaemon, type DaemonConnection } from './connection';
import { DaemonUnreachableError, ExitCode, UsageError, describeError } from './errors';
import { commandHelp, mainHelp } from './help';
import { Output, type OutputFormat, type TextSink } from './output';

/** Global options that take a value, and the ones that do not: skipped when looking for the command words. */
const GLOBAL_WITH_VALUE = new Set(['--state-dir', '--output', '-o']);
const GLOBAL_FLAG = /^(--state-dir=|--output=|-o.|--no-color$|--help$|-h$|--version$)/;

/** Splits argv into the command words and the rest (options and arguments). */
export function findCommand(argv: readonly string[]): { command: Command | undefined; words: string[]; rest: string[] } {
  const words: string[] = [];
  const wordIndexes = new Set<number>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') break;
    if (GLOBAL_WITH_VALUE.has(token)) {
      i++;
      continue;
    }
    if (token.startsWith('-')) {
      if (GLOBAL_FLAG.test(token)) continue;
      break;
    }
    const candidate = [...words, token];
    if (!commands.some((c) => candidate.every((w, j) => c.words[j] === w))) break;
    words.push(token);
    wordIndexes.add(i);
    if (commands.some((c) => c.words.length === words.length && c.words.every((w, j) => w === words[j]))) break;
  }
  const command = commands.find((c) => c.words.length === words.length && c.words.every((w, j) => w === words[j]));
  return { command, words, rest: argv.filter((_, i) => !wordIndexes.has(i)) };
}

export interface CliIo {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdin: CommandContext['stdin'];
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly signal: AbortSignal;
}

export async function runCli(io: CliIo): Promise<ExitCode> {
  const { command, words, rest } = findCommand(io.argv);
  const options = { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) };
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(options as OptionSpecs).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    return usageFailure(io, new UsageError(firstSentence((e as Error).message)), command);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const format = (values.output as string | undefined) ?? 'text';
  if (values.version) return void io.stdout.write(`${CLIENT_INFO.version}\n`), ExitCode.Ok;
  if (format !== 'json' && format !== 'text') return usageFailure(io, new UsageError(`-o: "${format}" is not json or text`), command);
  if (!command) {
    // `branchbox`, `branchbox --help`, `branchbox sandbox` (a group), `branchbox help [command]`
    if (values.help || parsed.positionals.length === 0 || parsed.positionals[0] === 'help') {
      const topic = parsed.positionals[0] === 'help' ? findCommand(parsed.positionals.slice(1)) : undefined;
      io.stdout.write(topic?.command ? commandHelp(topic.command) : mainHelp(commands, words));
      return ExitCode.Ok;
    }
    const unknown = [...words, parsed.positionals[0]].filter(Boolean).join(' ');
    return usageFailure(io, new UsageError(`unknown command "${unknown}"`), undefined, words);
  }
  if (values.help) return void io.stdout.write(commandHelp(command)), ExitCode.Ok;
  const { min, max } = arity(command);
  if (parsed.positionals.length < min) {
    return usageFailure(io, new UsageError(`missing ${command.args.slice(parsed.positionals.length).filter((a) => !a.startsWith('[')).join(' ')}`), command);
  }
  if (parsed.positionals.length > max) {
    return usageFailure(io, new UsageError(`unexpected argument "${parsed.positionals[max]}"`), command);
  }

  const stateDir = resolveStateDir(values['state-dir'] as string | undefined, io.env, { cwd: io.cwd });
  const color = !values['no-color'] && io.env.NO_COLOR === undefined && io.stdout.isTTY === true;
  const out = new Output(format as OutputFormat, io.stdout, color);
  let connection: Promise<DaemonConnection> | undefined;
  let connected: DaemonConnection | undefined;
  const daemon = () => (connection ??= connectToDaemon({ stateDir }).then((c) => (connected = c)));
  const ctx: CommandContext = {
    stateDir,
    out,
    stdin: io.stdin,
    stderr: io.stderr,
    cwd: io.cwd,
    env: io.env,
    signal: io.signal,
    daemon,
    call: async (method, ...params) => {
      const { client } = await daemon();
      return client.requestCancellable(method, (params[0] ?? {}) as never, io.signal);
    },
    stream: (method, params, notification, onItems) => openStream(daemon, io.signal, method, params, notification, onItems),
  };
  try {
    return (await command.run(ctx, { values: values as never, positionals: parsed.positionals })) ?? ExitCode.Ok;
  } catch (e) {
    // A request that failed because the daemon went away says so, with the exit code of an unreachable daemon.
    const error = connected?.lost && !(e instanceof DaemonUnreachableError) ? new DaemonUnreachableError('ConnectionLost', 'the connection to the daemon was lost') : e;
    const { line, exitCode } = describeError(error);
    io.stderr.write(`${line}\n`);
    return exitCode;
  } finally {
    if (connection) await connection.then((c) => c.close()).catch(() => undefined);
  }
}

function usageFailure(io: CliIo, error: UsageError, command: Command | undefined, words: string[] = []): ExitCode {
  const where = command ? `branchbox ${command.words.join(' ')} --help` : `branchbox ${[...words, ''].join(' ')}--help`;
  io.stderr.write(`${describeError(error).line} (see \`${where}\`)\n`);
  return ExitCode.Usage;
}

/** parseArgs explains at length how to pass a positional starting with '-'; the first sentence says it all. */
function firstSentence(message: string): string {
  const line = message.split('\n')[0]!;
  const end = line.indexOf('. ');
  return end > 0 ? line.slice(0, end) : line;
}
