/**
 * The host build command of a `{ command, runtime, cmd }` service: its argument list run in
 * the exported source folder on the host, with no shell, output streamed line by line.
 */
import { spawn } from 'node:child_process';
import { BuildFailure } from './deploy-docker';

const TAIL = 12;

/** Runs `argv` in `cwd`; resolves on exit code 0, throws BuildFailure (with its last output lines) otherwise (or the abort reason). */
export function runHostCommand(argv: readonly string[], cwd: string, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  const [program, ...args] = argv;
  if (!program) return Promise.reject(new BuildFailure('the build command is empty', []));
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd, signal, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    const partial = { out: '', err: '' };
    const feed = (key: 'out' | 'err') => (chunk: Buffer) => {
      const lines = (partial[key] + chunk.toString('utf8')).split(/\r?\n/);
      partial[key] = lines.pop() ?? '';
      for (const line of lines) emit(line);
    };
    const emit = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
      onLine(line);
    };
    child.stdout.on('data', feed('out'));
    child.stderr.on('data', feed('err'));
    child.on('error', (e) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const code = (e as NodeJS.ErrnoException).code;
      reject(new BuildFailure(code === 'ENOENT' ? `the build command "${program}" was not found` : `cannot run "${program}": ${e.message}`, tail));
    });
    child.on('close', (code, sig) => {
      for (const rest of [partial.out, partial.err]) if (rest) emit(rest);
      if (signal.aborted) return reject(signal.reason as Error);
      if (code === 0) resolve();
      else reject(new BuildFailure(`the build command "${argv.join(' ')}" ${sig ? `was killed by ${sig}` : `exited with code ${code}`}`, tail));
    });
  });
}
