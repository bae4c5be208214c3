/**
 * Steps the build-safety reliability tests share: deploy and wait for the final record
 * (whatever it is), run a command in an image in a labelled throw-away container, and read a
 * file's bytes and mtime to prove nothing touched it.
 */
import { readFileSync, statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { docker, type testRun } from '../../helpers/docker-fixtures';

export { deployFinal, type Deployment } from '../../helpers/daemon';

/** Runs `cmd` in `image` (a container labelled with the run, removed after) and answers its output and exit code. */
export async function runInImage(run: ReturnType<typeof testRun>, image: string, cmd: string[]): Promise<{ output: string; code: number }> {
  const container = await run.createContainer({ Image: image, Cmd: cmd, User: '0', start: false });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    let output = '';
    out.on('data', (c: Buffer) => (output += c.toString()));
    docker.modem.demuxStream(stream, out, out);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await new Promise((r) => setImmediate(r));
    return { output, code: StatusCode };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** A file's bytes and modification time, to compare before and after. */
export function fingerprint(path: string): { bytes: string; mtimeMs: number } {
  return { bytes: readFileSync(path).toString('base64'), mtimeMs: statSync(path).mtimeMs };
}

/** Whether the engine has an image of that reference. */
export async function imageExists(ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}
