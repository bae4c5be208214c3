/**
 * branchboxd: the entry point. Parses options, starts the daemon (or, with --stdio while
 * another daemon owns the state directory, bridges stdio to it), and turns signals into a
 * graceful shutdown. Exit codes: 0 stopped cleanly, 1 could not start, 2 usage error.
 */
import { join } from 'node:path';
import { USAGE, UsageError, parseOptions } from './config';
import { startDaemon } from './daemon';
import { bridgeStdioToDaemon } from './stdio-bridge';
import { InstanceLockedError } from './runtime/lock';
import { VERSION } from './version';

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
  if (options === 'help') return void process.stdout.write(USAGE), 0;
  if (options === 'version') return void process.stdout.write(`${VERSION}\n`), 0;

  let daemon;
  try {
    daemon = await startDaemon(options, VERSION);
  } catch (e) {
    if (e instanceof InstanceLockedError && options.stdio) return bridgeStdioToDaemon(options.stateDir);
    process.stderr.write(`branchboxd: ${(e as Error).message}\n`);
    return 1;
  }
  if (!options.stdio) {
    process.stderr.write(
      `branchboxd ${VERSION} listening on ws://127.0.0.1:${daemon.port} (state: ${daemon.stateDir})\n` +
        `  connect: token and port in ${join(daemon.stateDir, 'runtime.json')}, header "Authorization: Bearer <token>"\n` +
        `  protocol: JSON-RPC 2.0, call "initialize" first, "rpc.discover" returns the OpenRPC document\n`,
    );
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => void daemon.shutdown(`signal ${signal}`));
  }
  await daemon.stopped;
  return 0;
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
