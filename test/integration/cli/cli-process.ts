/**
 * Runs the `branchbox` CLI as users do: the built bundle `dist/branchbox.js` in its own
 * process, against a test daemon's state directory. `runCli` waits for the exit;
 * `spawnCli` returns the live process for streaming commands (logs -f, deploy, wait).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const CLI_JS = resolve(__dirname, '../../../dist/branchbox.js');

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly stateDir?: string;
  readonly cwd?: string;
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

function cliArgs(args: readonly string[], opts: CliOptions): string[] {
  if (!existsSync(CLI_JS)) {
    throw new Error(
      `${CLI_JS} is missing: build it (npm run build, or npx esbuild daemon/src/cli/main.ts --bundle --platform=node ` +
        `--format=cjs --target=node20 --outfile=dist/branchbox.js --external:better-sqlite3 --external:cpu-features '--external:*.node')`,
    );
  }
  return [CLI_JS, ...(opts.stateDir ? ['--state-dir', opts.stateDir] : []), ...args];
}

export interface LiveCli {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout satisfies `test` (rejects if the process exits first). */
  waitForStdout(test: (text: string) => boolean): Promise<string>;
  readonly exited: Promise<CliRun>;
  /** Kills it if still running (for cleanup after a failure). */
  kill(): void;
}

export function spawnCli(args: readonly string[], opts: CliOptions = {}): LiveCli {
  const child = spawn(process.execPath, cliArgs(args, opts), {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    waiters.forEach((w) => w());
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  let done = false;
  const exited = new Promise<CliRun>((res) =>
    child.once('close', (code, signal) => {
      done = true; // before the waiters look, so they fail instead of waiting forever
      waiters.forEach((w) => w());
      res({ code, signal, stdout, stderr });
    }),
  );
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: () => {
      if (!done) child.kill('SIGKILL');
    },
    waitForStdout: (test) =>
      new Promise<string>((res, rej) => {
        const check = () => {
          if (test(stdout)) {
            waiters.delete(check);
            res(stdout);
          } else if (done) {
            waiters.delete(check);
            rej(new Error(`branchbox exited before the expected output.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}

export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  const live = spawnCli(args, { ...opts, input: opts.input ?? '' });
  return live.exited;
}
