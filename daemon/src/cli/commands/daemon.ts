/**
 * `branchbox daemon start|stop|status` and `branchbox info`: the daemon's own lifecycle.
 * `start` runs `branchboxd` (the `branchboxd.js` bundle beside this CLI) detached and waits for
 * the runtime file it writes once it listens.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '../../../../schemas/src/index';
import { processExists } from '../../../../schemas/node/process-liveness';
import { ensureStateDir, readRuntimeFile, RUNTIME_FILE_NAME, type RuntimeInfo } from '../../../../schemas/node/runtime-file';
import { STATE_FILES } from '../../../../schemas/node/state-files';
import { defineCommand, type CommandContext } from '../command';
import { connectToDaemon } from '../connection';
import { CliError, DaemonUnreachableError, ExitCode } from '../errors';
import type { Output } from '../output';
import { imagesLine } from './images';

/** Where `daemon start` captures the daemon's stderr (its own log is `branchboxd.log`). */
export const DAEMON_STDERR_FILE = STATE_FILES.daemonStderr;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** The daemon bundle shipped beside this one (`dist/branchboxd.js` next to `dist/branchbox.js`). */
export function daemonScript(): string {
  return join(__dirname, 'branchboxd.js');
}

function printInfo(out: Output, info: Result<'system/info'>, headline?: string): void {
  out.result(info, (i) => {
    if (headline) out.line(out.style.green(headline));
    out.fields([
      ['version', `${i.version} (protocol ${i.protocolVersion})`],
      ['pid', String(i.pid)],
      ['state dir', i.stateDir],
      ['instance', i.instance],
      ['database', `${i.database.path} (schema v${i.database.schemaVersion})`],
      ['connections', String(i.connections)],
      [
        'docker',
        i.docker.available
          ? `${out.style.green('available')}${i.docker.version ? ` — engine ${i.docker.version}` : ''}${i.docker.endpoint ? ` at ${i.docker.endpoint}` : ''}`
          : `${out.style.red('unavailable')}${i.docker.reason ? ` — ${i.docker.reason}` : ''}`,
      ],
      ...(i.images ? [['images', imagesLine(i.images)] as [string, string]] : []),
    ]);
  });
}

/** Resolves with the runtime file once one written by `pid` appears; rejects if `exited` first. */
function waitForRuntimeFile(stateDir: string, pid: number, exited: Promise<string>, signal: AbortSignal): Promise<RuntimeInfo> {
  return new Promise<RuntimeInfo>((resolve, reject) => {
    const check = () => {
      try {
        const runtime = readRuntimeFile(stateDir);
        if (runtime?.pid === pid) finish(() => resolve(runtime));
      } catch {
        // half-written files are never seen (atomic rename); a malformed one is replaced by the new daemon
      }
    };
    const watcher = watch(stateDir, (_event, file) => {
      if (file === null || file === RUNTIME_FILE_NAME) check();
    });
    const timer = setTimeout(
      () => finish(() => reject(new CliError('DaemonStartFailed', `branchboxd (pid ${pid}) did not write ${RUNTIME_FILE_NAME} within ${START_TIMEOUT_MS / 1000}s`, ExitCode.Failed))),
      START_TIMEOUT_MS,
    );
    const onAbort = () => finish(() => reject(new CliError('Interrupted', 'interrupted while the daemon was starting', ExitCode.Interrupted)));
    signal.addEventListener('abort', onAbort, { once: true });
    let done = false;
    function finish(settle: () => void) {
      if (done) return;
      done = true;
      watcher.close();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      settle();
    }
    void exited.then((why) => finish(() => reject(new CliError('DaemonStartFailed', why, ExitCode.Failed))));
    check();
  });
}

async function runningInfo(ctx: CommandContext): Promise<Result<'system/info'> | undefined> {
  try {
    const connection = await connectToDaemon({ stateDir: ctx.stateDir });
    try {
      return await connection.client.request('system/info');
    } finally {
      await connection.close();
    }
  } catch (e) {
    if (e instanceof DaemonUnreachableError) return undefined;
    throw e;
  }
}

export const daemonCommands = [
  defineCommand({
    words: ['daemon', 'start'],
    summary: 'Start branchboxd for the state directory in the background (does nothing if it runs).',
    description:
      'Runs the branchboxd.js bundle beside this CLI detached from the terminal, and waits until it listens ' +
      `(it writes runtime.json). Its stderr goes to ${DAEMON_STDERR_FILE} in the state directory, its log to branchboxd.log.`,
    options: {
      port: { type: 'string', value: 'N', help: 'WebSocket port on 127.0.0.1 (default 47815, or a free one when taken; 0 = any free port)' },
      'log-level': { type: 'string', value: 'LEVEL', help: 'trace|debug|info|warn|error' },
    },
    methods: ['system/info'],
    async run(ctx, { values }) {
      const already = await runningInfo(ctx);
      if (already) return printInfo(ctx.out, already, `branchboxd is already running (pid ${already.pid})`);
      const script = daemonScript();
      if (!existsSync(script)) throw new CliError('DaemonNotFound', `${script} does not exist; build it with \`npm run build\``, ExitCode.Failed);
      ensureStateDir(ctx.stateDir);
      const stderrPath = join(ctx.stateDir, DAEMON_STDERR_FILE);
      const stderrFd = openSync(stderrPath, 'w', 0o600);
      const args = [script, '--state-dir', ctx.stateDir];
      if (values.port !== undefined) args.push('--port', values.port);
      if (values['log-level'] !== undefined) args.push('--log-level', values['log-level']);
      const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', stderrFd], env: ctx.env });
      closeSync(stderrFd);
      const exited = new Promise<string>((resolve) => {
        child.once('error', (e) => resolve(`cannot run ${script}: ${e.message}`));
        child.once('exit', (code, sig) => {
          // branchboxd prefixes its own errors with "branchboxd:"; anything else (a crash) ends with its cause.
          const lines = readFileSync(stderrPath, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
          const text = (lines.find((l) => l.startsWith('branchboxd:')) ?? lines.at(-1) ?? '').replace(/^branchboxd: /, '');
          resolve(`branchboxd exited with ${sig ?? `code ${code}`} before listening${text ? `: ${text}` : ''}`);
        });
      });
      const runtime = await waitForRuntimeFile(ctx.stateDir, child.pid!, exited, ctx.signal);
      child.unref();
      const info = await ctx.call('system/info');
      printInfo(ctx.out, info, `branchboxd ${runtime.version} started (pid ${runtime.pid}, ws://127.0.0.1:${runtime.port})`);
    },
  }),
  defineCommand({
    words: ['daemon', 'status'],
    summary: 'Whether the daemon runs, and what it is (system/info). Exit code 3 when it does not run.',
    methods: ['system/info'],
    async run(ctx) {
      const info = await ctx.call('system/info');
      const { runtime } = await ctx.daemon();
      printInfo(ctx.out, info, `branchboxd is running (pid ${info.pid}, ws://127.0.0.1:${runtime.port})`);
    },
  }),
  defineCommand({
    words: ['daemon', 'stop'],
    summary: 'Stop the daemon gracefully (shutdown) and wait until its process has exited.',
    methods: ['shutdown'],
    async run(ctx) {
      const connection = await ctx.daemon();
      const pid = connection.runtime.pid;
      const result = await ctx.call('shutdown');
      await connection.closed;
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      // The process outlives its socket by the time it takes to close its state; wait for it.
      while (processExists(pid)) {
        if (Date.now() > deadline) throw new CliError('DaemonStopFailed', `branchboxd (pid ${pid}) is still running ${STOP_TIMEOUT_MS / 1000}s after shutdown`, ExitCode.Failed);
        if (ctx.signal.aborted) return ExitCode.Interrupted;
        await new Promise((r) => setTimeout(r, 25));
      }
      ctx.out.result(result, () => ctx.out.line(`branchboxd (pid ${pid}) stopped`));
    },
  }),
  defineCommand({
    words: ['info'],
    summary: 'What the daemon is: version, pid, state directory, database, connections, Docker engine.',
    methods: ['system/info'],
    async run(ctx) {
      printInfo(ctx.out, await ctx.call('system/info'));
    },
  }),
];
