/**
 * How a CLI command is declared (its words, arguments, options with their help, the protocol
 * methods it uses) and what it gets to run: the output, the interrupt signal, and the daemon
 * connection — opened on first use, so `help` and usage errors never need a daemon.
 */
import type { Readable } from 'node:stream';
import { ProtocolError } from '../../../schemas/src/client';
import type { MethodName, NotificationName, NotificationParams, Params, Result, StreamItem } from '../../../schemas/src/index';
import type { DaemonConnection } from './connection';
import { DaemonUnreachableError, InterruptedError, type ExitCode } from './errors';
import type { Output, TextSink } from './output';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The placeholder in help, e.g. `N` for `--tail N`. */
  readonly value?: string;
  readonly help: string;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]: O[K] extends { type: 'boolean' }
    ? boolean | undefined
    : O[K] extends { multiple: true }
      ? string[] | undefined
      : string | undefined;
};

export interface ParsedArgs<O extends OptionSpecs = OptionSpecs> {
  readonly values: OptionValues<O>;
  readonly positionals: readonly string[];
}

/** Methods whose params are all optional may be called without params. */
export type ParamsArg<M extends MethodName> = {} extends Params<M> ? [params?: Params<M>] : [params: Params<M>];

/** Options every command accepts, anywhere on the line. */
export const GLOBAL_OPTIONS = {
  'state-dir': { type: 'string', value: 'DIR', help: 'state directory of the daemon (env BRANCHBOX_STATE_DIR; default $XDG_STATE_HOME/branchbox or ~/.local/state/branchbox)' },
  output: { type: 'string', short: 'o', value: 'json|text', help: 'json: print exactly the protocol result (streams: one JSON item per line); text: for people (default)' },
  'no-color': { type: 'boolean', help: 'no colours (also when NO_COLOR is set or stdout is not a terminal)' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', help: 'print the version' },
} as const satisfies OptionSpecs;

export interface CommandContext {
  readonly stateDir: string;
  readonly out: Output;
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  readonly stderr: TextSink;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted by Ctrl-C (SIGINT). */
  readonly signal: AbortSignal;
  /** The initialized connection to the daemon; connects on first use. */
  daemon(): Promise<DaemonConnection>;
  /** Calls a method; Ctrl-C sends `$/cancelRequest` for it. */
  call<M extends MethodName>(method: M, ...params: ParamsArg<M>): Promise<Result<M>>;
  /**
   * Opens a subscription and delivers its items until it ends. Resolves with why it ended:
   * `completed` (the source finished), `cancelled` (by `stop()` or Ctrl-C — then `interrupted`
   * is true). A failed stream rejects with its error; a lost connection with ConnectionLost.
   */
  stream<M extends MethodName, N extends NotificationName>(
    method: M,
    params: Params<M>,
    notification: N,
    onItems: (items: StreamItem<N>[], dropped: number | undefined) => void,
  ): StreamHandle;
}

export interface StreamHandle {
  /** Resolves once subscribed, with the subscription id; rejects as `ended` when the subscribe request fails. */
  readonly subscribed: Promise<string>;
  /** Resolves when the stream ended. */
  readonly ended: Promise<{ reason: 'completed' | 'cancelled'; interrupted: boolean }>;
  /** Cancels the subscription (`subscription/cancel`); `ended` resolves once the daemon confirms. */
  stop(): void;
}

export interface Command {
  /** The words that name it: `['sandbox', 'ls']`. */
  readonly words: readonly string[];
  readonly summary: string;
  /** Positional arguments for the usage line: `NAME`, `[NAME]`, `KEY...`. */
  readonly args: readonly string[];
  readonly options: OptionSpecs;
  readonly description?: string;
  /** The protocol methods it uses (for the documentation). */
  readonly methods: readonly MethodName[];
  run(ctx: CommandContext, args: ParsedArgs): Promise<ExitCode | void>;
}

export function defineCommand<const O extends OptionSpecs>(spec: {
  words: readonly string[];
  summary: string;
  args?: readonly string[];
  options?: O;
  description?: string;
  methods: readonly MethodName[];
  run(ctx: CommandContext, args: ParsedArgs<O>): Promise<ExitCode | void>;
}): Command {
  return { args: [], options: {}, ...spec } as unknown as Command;
}

/** The range of positional arguments a command accepts, from its `args`. */
export function arity(command: Command): { min: number; max: number } {
  const required = command.args.filter((a) => !a.startsWith('[')).length;
  const variadic = command.args.some((a) => a.endsWith('...') || a.endsWith('...]'));
  return { min: required, max: variadic ? Infinity : command.args.length };
}

/** Builds `ctx.stream` over a connection getter. */
export function openStream<M extends MethodName, N extends NotificationName>(
  daemon: () => Promise<DaemonConnection>,
  signal: AbortSignal,
  method: M,
  params: Params<M>,
  notification: N,
  onItems: (items: StreamItem<N>[], dropped: number | undefined) => void,
): StreamHandle {
  let cancel: (() => Promise<void>) | undefined;
  let stopRequested = false;
  let interrupted = false;
  let resolveSubscribed!: (id: string) => void;
  let rejectSubscribed!: (e: unknown) => void;
  const subscribed = new Promise<string>((resolve, reject) => ((resolveSubscribed = resolve), (rejectSubscribed = reject)));
  subscribed.catch(() => undefined); // reported through `ended` too
  const ended = new Promise<{ reason: 'completed' | 'cancelled'; interrupted: boolean }>((resolve, reject) => {
    const onEnd = (end: NotificationParams<'subscription/end'>, connection: DaemonConnection) => {
      signal.removeEventListener('abort', onAbort);
      switch (end.reason) {
        case 'completed':
          return resolve({ reason: 'completed', interrupted });
        case 'cancelled':
          return resolve({ reason: 'cancelled', interrupted });
        case 'failed':
          return reject(new ProtocolError(end.error?.code ?? -32603, end.error?.message ?? `${method} stream failed`, undefined));
        case 'shutdown':
          if (stopRequested) return resolve({ reason: 'cancelled', interrupted });
          return reject(
            new DaemonUnreachableError(
              'ConnectionLost',
              connection.closing ? 'the connection was closed' : 'the daemon stopped or the connection to it was lost',
            ),
          );
      }
    };
    const onAbort = () => {
      interrupted = true;
      stop();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort(); // Ctrl-C came before this stream was opened
    void (async () => {
      const connection = await daemon();
      const sub = await connection.client.subscribe(method, params, notification, {
        onItems: (items, dropped) => onItems(items, dropped),
        onEnd: (end) => onEnd(end, connection),
      });
      cancel = sub.cancel;
      resolveSubscribed(sub.id);
      if (stopRequested) await sub.cancel();
    })().catch((e: unknown) => {
      signal.removeEventListener('abort', onAbort);
      const error = interrupted ? new InterruptedError() : e;
      rejectSubscribed(error);
      reject(error);
    });
  });
  const stop = () => {
    if (stopRequested) return;
    stopRequested = true;
    void cancel?.().catch(() => undefined);
  };
  ended.catch(() => undefined);
  return { subscribed, ended, stop };
}
