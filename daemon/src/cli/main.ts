/**
 * branchbox: the command-line client of branchboxd. A protocol client like any editor: it
 * finds the daemon through the runtime file of the state directory, speaks JSON-RPC over
 * WebSocket, and prints each result for people or, with `-o json`, exactly as the protocol
 * returned it. Exit codes are listed in `errors.ts` and in `branchbox --help`.
 *
 * This file wires the process (stdio, signals, exit code); `cli.ts` is the rest.
 */
import { runCli } from './cli';
import { ExitCode, describeError } from './errors';

/** The process entry: wires stdio and signals, sets the exit code. */
function main(): void {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    // The first Ctrl-C cancels what is in flight and lets the command end cleanly; a second one does not wait.
    if (++interrupts > 1) process.exit(ExitCode.Interrupted);
    controller.abort();
  });
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(ExitCode.Ok); // `branchbox ps | head`
  });
  runCli({
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
  }).then(
    (code) => {
      const exitCode = controller.signal.aborted && code === ExitCode.Ok ? ExitCode.Interrupted : code;
      process.exitCode = exitCode;
      // Let stdout drain, but never hang on a handle left open.
      setTimeout(() => process.exit(exitCode), 1_000).unref();
    },
    (e: unknown) => {
      process.stderr.write(`${describeError(e).line}\n`);
      process.exit(ExitCode.Failed);
    },
  );
}

main();
