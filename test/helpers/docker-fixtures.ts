/**
 * Docker objects for tests: every container, network, volume or image a test creates (or has
 * a daemon create, with `BRANCHBOX_EXTRA_LABELS`) carries the label `branchbox.test=<run id>`
 * so cleanup removes exactly what this run made, even when a test fails. Tests run on the
 * offline base images built by scripts/setup.sh (`branchbox.base=true`), which cleanup never
 * removes.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';

export const BUSYBOX = 'branchbox/busybox:1';
export const NODE = 'branchbox/node:20';
export const TEST_LABEL = 'branchbox.test';
const BASE_LABEL = 'branchbox.base';

export const docker = new Docker();

/**
 * The id of this whole test run (`scripts/test.sh` sets BRANCHBOX_TEST_SUITE, 6 hex digits);
 * every run id below embeds it, so the run's leftover check finds its own objects and never
 * another run's on a shared engine.
 */
export const SUITE = process.env.BRANCHBOX_TEST_SUITE ?? randomBytes(3).toString('hex');

/** A run id of this suite: `<prefix>-<suite><8 random hex digits>` (see {@link SUITE}). */
export const newRunId = (prefix: string): string => `${prefix}-${SUITE}${randomBytes(4).toString('hex')}`;

/** One id per test file run; pass `labels()` to everything you create. */
export function testRun(prefix = 'bbtest') {
  const runId = newRunId(prefix);
  const labels = (extra: Record<string, string> = {}) => ({ [TEST_LABEL]: runId, ...extra });

  async function createContainer(
    opts: Docker.ContainerCreateOptions & { start?: boolean },
  ): Promise<Docker.Container> {
    const { start = true, ...create } = opts;
    const container = await docker.createContainer({
      Image: BUSYBOX,
      ...create,
      Labels: { ...(create.Labels ?? {}), [TEST_LABEL]: runId },
      HostConfig: { AutoRemove: false, ...(create.HostConfig ?? {}) },
    });
    if (start) await container.start();
    return container;
  }

  /** Removes every container, network, volume and image (but a base image) labelled with this run id. */
  async function cleanup(): Promise<void> {
    const filters = JSON.stringify({ label: [`${TEST_LABEL}=${runId}`] });
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    const networks = await docker.listNetworks({ filters });
    await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
    const { Volumes } = await docker.listVolumes({ filters });
    await Promise.all((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
    const images = await docker.listImages({ filters });
    await Promise.all(
      images
        .filter((i) => i.Labels?.[BASE_LABEL] !== 'true')
        .map((i) => docker.getImage(i.Id).remove({ force: true }).catch(() => undefined)),
    );
  }

  return { runId, labels, createContainer, cleanup };
}
