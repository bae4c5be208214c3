/**
 * Containers of one benchmark run, labelled `branchbox.bench=<run id>` (not the test label:
 * a test run in parallel removes every test-labelled container it finds when it ends).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { BUSYBOX, docker } from '../../test/helpers/docker-fixtures';

export function benchRun(prefix: string) {
  const runId = `${prefix}-${randomBytes(4).toString('hex')}`;
  const filters = JSON.stringify({ label: [`branchbox.bench=${runId}`] });
  return {
    runId,
    /** Creates and starts (unless `start: false`) a busybox container (unless `Image` says otherwise) labelled with this run. */
    async createContainer({ start = true, ...opts }: Docker.ContainerCreateOptions & { start?: boolean }): Promise<Docker.Container> {
      const c = await docker.createContainer({ Image: BUSYBOX, ...opts, Labels: { ...opts.Labels, 'branchbox.bench': runId } });
      if (start) await c.start();
      return c;
    },
    /** Removes every container of this run. */
    async cleanup(): Promise<void> {
      const left = await docker.listContainers({ all: true, filters });
      await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    },
  };
}

/** `docker logs <id>` (the plain alternative of the log benches): its stdout and stderr counted line by line and dropped. */
export function dockerLogsLineCount(id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['logs', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    const count = (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    };
    child.stdout.on('data', count);
    child.stderr.on('data', count);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(lines) : reject(new Error(`docker logs exited with ${code}`))));
  });
}
