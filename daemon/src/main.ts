/**
 * branchboxd: the entry point. Parses options, starts the daemon (or, with --stdio while
 * another daemon owns the state directory, bridges stdio to it), and turns signals into a
 * graceful shutdown. Exit codes: 0 stopped cleanly, 1 could not start (or stopped because
 * unexpected errors came too fast, see runtime/faults.ts), 2 usage error.
 *
 * An error nothing caught never ends the process by itself: the fault policy logs it and the
 * daemon keeps serving.
 */
import { runtimeFilePath } from '../../schemas/node/runtime-file';
import { USAGE, UsageError, parseOptions } from './config';
import { startDaemon, type RunningDaemon } from './daemon';
import { bridgeStdioToDaemon } from './stdio-bridge';
import { InstanceLockedError } from './runtime/lock';
import { describeFault, faultDetail, installFaultPolicy } from './runtime/faults';
import { VERSION } from './version';

/** How long a stop forced by a fault storm may take before the process exits anyway. */
const FATAL_STOP_GRACE_MS = 10_000;

let daemon: RunningDaemon | undefined;
let fatalReason: string | undefined;

// A diagnostic that cannot be written (stderr closed by whoever started us) is not a fault.
process.stderr.on('error', () => undefined);

installFaultPolicy(process, {
  report: ({ kind, error, recent }) => {
    process.stderr.write(`branchboxd: ${kind}, still serving: ${describeFault(error)}\n`);
    daemon?.log.error(`Unexpected ${kind}; the daemon keeps serving`, { error: faultDetail(error), recent });
  },
  fatal: (reason) => {
    fatalReason = reason;
    process.stderr.write(`branchboxd: stopping: ${reason}\n`);
    daemon?.log.error('Stopping: unexpected errors come too fast to keep serving', { reason });
    setTimeout(() => process.exit(1), FATAL_STOP_GRACE_MS).unref();
    if (daemon) void daemon.shutdown(`fatal: ${reason}`);
    else process.exit(1);
  },
});

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`branchboxd: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (options === 'help') return (void process.stdout.write(USAGE), 0);
  if (options === 'version') return (void process.stdout.write(`${VERSION}\n`), 0);

  try {
    daemon = await startDaemon(options, VERSION);
  } catch (e) {
    if (e instanceof InstanceLockedError && options.stdio) return bridgeStdioToDaemon(options.stateDir);
    process.stderr.write(`branchboxd: ${(e as Error).message}\n`);
    return 1;
  }
  const running = daemon;
  if (!options.stdio) {
    process.stderr.write(
      `branchboxd ${VERSION} listening on ws://127.0.0.1:${running.port} (state: ${running.stateDir})\n` +
        `  connect: token and port in ${runtimeFilePath(running.stateDir)}, header "Authorization: Bearer <token>"\n` +
        `  protocol: JSON-RPC 2.0, call "initialize" first, "rpc.discover" returns the OpenRPC document\n`,
    );
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => void running.shutdown(`signal ${signal}`));
  }
  await running.stopped;
  return fatalReason === undefined ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Anything still holding the event loop open after a clean stop is a bug; do not hang on it.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (e: unknown) => {
    process.stderr.write(`branchboxd: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
