/**
 * Containers of one benchmark run, labelled `branchbox.bench=<run id>` (not the test label:
 * a test run in parallel removes every test-labelled container it finds when it ends).
 */
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
