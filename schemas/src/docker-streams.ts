/**
 * Live streams out of containers: logs, stats (live and history) and interactive exec
 * sessions. Logs and stats are subscriptions (see `subscription/cancel`, `subscription/end`);
 * an exec session is a subscription for its output plus requests for its input.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Batch, Obj, Ok, SubscriptionResult, Timestamp, defineMethods, defineNotifications, engineErrors } from './core';
import { ContainerRef as ContainerRefOf } from './docker-refs';

const ContainerRef = ContainerRefOf('The container.');
const Since = Type.Union([Type.String({ minLength: 1 }), Type.Number({ minimum: 0 })], {
  description: 'A time: RFC 3339 text (e.g. 2024-05-01T10:00:00Z) or unix seconds (fractions allowed).',
});
const OutputStream = Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]);

export const LogRecord = Obj(
  {
    stream: OutputStream,
    line: Type.String({ description: 'The line, without its newline (nor a carriage return before it).' }),
    t: Type.Optional(
      Type.String({
        description:
          'When the engine received the line (RFC 3339 with nanoseconds); only when `timestamps` was asked for.',
      }),
    ),
  },
  'One line of container output.',
);
export type LogRecord = Static<typeof LogRecord>;

export const StatsSample = Obj(
  {
    id: Type.String({
      description: 'The full container id; in a sandbox sum (`stats/history` with `sandbox`), the sandbox name.',
    }),
    t: Timestamp('When the engine read these numbers.'),
    cpuPercent: Type.Number({
      minimum: 0,
      description: 'CPU use as the docker CLI computes it: 100 is one CPU fully busy; up to 100 × the number of CPUs.',
    }),
    memoryUsed: Type.Number({
      minimum: 0,
      description: 'Bytes used, without the reclaimable page cache (as `docker stats`).',
    }),
    memoryLimit: Type.Number({
      minimum: 0,
      description: "Bytes the container may use (the host's memory when it has no limit).",
    }),
    memoryPercent: Type.Number({ minimum: 0, description: 'memoryUsed as a % of memoryLimit.' }),
    netRxRate: Type.Number({ minimum: 0, description: 'Network bytes received per second, over all interfaces.' }),
    netTxRate: Type.Number({ minimum: 0, description: 'Network bytes sent per second.' }),
    blockReadRate: Type.Number({ minimum: 0, description: 'Block device bytes read per second.' }),
    blockWriteRate: Type.Number({ minimum: 0, description: 'Block device bytes written per second.' }),
    containers: Type.Optional(
      Type.Integer({ minimum: 1, description: 'In a sandbox sum: how many containers it adds up.' }),
    ),
  },
  'One stats sample of a container (about one a second), or of a sandbox summed.',
);
export type StatsSample = Static<typeof StatsSample>;

const ExecSessionId = Type.String({ minLength: 1, description: 'The id `container/exec` answered with.' });

export const dockerStreamMethods = defineMethods({
  'container/logs': {
    summary: "Streams a container's output as lines, stdout and stderr apart.",
    description:
      'Lines arrive in `container/logs/data` batches, oldest first. Without `follow` the subscription completes at the end of ' +
      'the log; with it, new lines follow as they are printed, across restarts of the container (no line repeated or lost), ' +
      'until the container is removed or the subscription is cancelled. The stream is paced by the client: a slow reader ' +
      'slows the daemon down, never makes it buffer without bound.',
    notification: 'container/logs/data',
    errors: ['ContainerNotFound', ...engineErrors],
    params: Obj({
      id: ContainerRef,
      tail: Type.Optional(
        Type.Union([Type.Integer({ minimum: 0 }), Type.Literal('all')], {
          description: 'Lines from the end to start with (default all).',
        }),
      ),
      since: Type.Optional(Since),
      follow: Type.Optional(Type.Boolean({ description: 'Keep streaming new lines (default false).' })),
      timestamps: Type.Optional(
        Type.Boolean({ description: 'Give each line its engine timestamp in `t` (default false).' }),
      ),
    }),
    result: SubscriptionResult,
  },
  'container/stats': {
    summary: 'Streams live stats samples of one container, or of every running container of a sandbox.',
    description:
      'Give exactly one of `id` and `sandbox`. Samples arrive in `container/stats/data` batches, about one a second per ' +
      'container; for a sandbox, each sample names its container, and containers that start later join. A client that ' +
      'reads too slowly loses the oldest samples (`dropped`). Ends when the container is removed.',
    notification: 'container/stats/data',
    errors: ['ContainerNotFound', ...engineErrors],
    params: Obj({
      id: Type.Optional(ContainerRef),
      sandbox: Type.Optional(
        Type.String({ minLength: 1, description: 'A sandbox name (containers labelled `branchbox.sandbox=<name>`).' }),
      ),
    }),
    result: SubscriptionResult,
  },
  'stats/history': {
    summary:
      'The stats samples kept for a container (the last hour, while it is collected), or their sum for a sandbox.',
    description:
      'Give exactly one of `id` and `sandbox`. Branchbox-managed containers are always collected; others only while a ' +
      '`container/stats` subscription watches them. A sandbox sum adds up its collected containers second by second.',
    errors: ['ContainerNotFound', ...engineErrors],
    params: Obj({
      id: Type.Optional(ContainerRef),
      sandbox: Type.Optional(Type.String({ minLength: 1 })),
      since: Type.Optional(Since),
    }),
    result: Type.Array(StatsSample, { description: 'Samples, oldest first.' }),
  },
  'container/exec': {
    summary: 'Starts an interactive process in a running container (e.g. a shell) and streams its output.',
    description:
      'Output arrives in `exec/output` batches on the returned subscription; input goes with `exec/input`, terminal size ' +
      'with `exec/resize`. When the process exits, its output subscription ends and `exec/exit` follows. Sessions belong ' +
      'to the connection and are closed with it.',
    notification: 'exec/output',
    mutating: true,
    errors: ['ContainerNotFound', 'Conflict', ...engineErrors],
    params: Obj({
      id: ContainerRef,
      cmd: Type.Optional(
        Type.Array(Type.String(), {
          minItems: 1,
          description: 'The command and its arguments; default a shell (/bin/bash if present, else /bin/sh).',
        }),
      ),
      tty: Type.Optional(
        Type.Boolean({ description: 'Allocate a terminal (default true); without one stdout and stderr come apart.' }),
      ),
      cols: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Terminal columns to start with.' })),
      rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'Terminal rows to start with.' })),
      env: Type.Optional(
        Type.Record(Type.String({ pattern: '^[^=]+$' }), Type.String(), {
          description: 'Extra environment variables.',
        }),
      ),
      user: Type.Optional(Type.String({ minLength: 1, description: 'User (name or uid[:gid]) to run as.' })),
      workdir: Type.Optional(Type.String({ minLength: 1, description: 'Working directory inside the container.' })),
    }),
    result: Obj({
      session: ExecSessionId,
      subscription: Type.String({ description: 'The subscription carrying `exec/output`.' }),
    }),
  },
  'exec/input': {
    summary: "Writes to an exec session's stdin.",
    description:
      'Answers once the bytes are handed to the engine, so a client awaiting each answer cannot outrun the process.',
    errors: ['ExecSessionNotFound', 'Conflict', ...engineErrors],
    params: Obj({
      session: ExecSessionId,
      data: Type.String({
        contentEncoding: 'base64',
        description: 'The bytes, base64-encoded (may be empty with `eof`).',
      }),
      eof: Type.Optional(
        Type.Boolean({
          description: 'Close stdin after these bytes (the process sees end of input); output still flows.',
        }),
      ),
    }),
    result: Ok,
  },
  'exec/resize': {
    summary: "Resizes an exec session's terminal (nothing to do without a TTY).",
    errors: ['ExecSessionNotFound', ...engineErrors],
    params: Obj({
      session: ExecSessionId,
      cols: Type.Integer({ minimum: 1, maximum: 65535 }),
      rows: Type.Integer({ minimum: 1, maximum: 65535 }),
    }),
    result: Ok,
  },
  'exec/close': {
    summary: 'Closes an exec session: its connection to the process is closed (a shell on a TTY gets a hangup).',
    description:
      'The output subscription then ends and `exec/exit` follows, with a null exit code if the process was still running.',
    errors: ['ExecSessionNotFound'],
    params: Obj({ session: ExecSessionId }),
    result: Ok,
  },
});

export const dockerStreamNotifications = defineNotifications({
  'container/logs/data': {
    summary: 'Lines for a `container/logs` subscription.',
    direction: 'toClient',
    params: Batch(LogRecord, 'Lines, oldest first.'),
  },
  'container/stats/data': {
    summary: 'Samples for a `container/stats` subscription.',
    direction: 'toClient',
    params: Batch(StatsSample, 'Samples, oldest first.'),
  },
  'exec/output': {
    summary: 'Output of an exec session, for its `container/exec` subscription.',
    direction: 'toClient',
    params: Batch(
      Obj({
        stream: OutputStream,
        data: Type.String({ contentEncoding: 'base64', description: 'The bytes, base64-encoded.' }),
      }),
      'Output chunks, in order (with a TTY, everything is stdout).',
    ),
  },
  'exec/exit': {
    summary: 'An exec session ended; sent after its last output and the end of its subscription.',
    direction: 'toClient',
    params: Obj({
      session: ExecSessionId,
      exitCode: Type.Union([Type.Integer(), Type.Null()], {
        description: 'The exit code; null when unknown (the session was closed while the process still ran).',
      }),
    }),
  },
});
