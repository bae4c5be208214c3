/**
 * The image client against the real engine: loading a `docker save` tarball from disk,
 * removing, and pruning — scoped by this run's label so images of others are never touched.
 */
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../../daemon/src/docker/engine';
import type { DockerClient } from '../../../daemon/src/docker/types';
import { BUSYBOX, docker as fixtureDocker, testRun } from '../../helpers/docker-fixtures';
import { rpcErrorOf } from './fixtures';

const run = testRun('bbimg');
const mine = `branchbox.test=${run.runId}`;
const testRepo = `${run.runId}/busybox`;
const testRef = `${testRepo}:load`;
const engine = new DockerEngine();
const dir = mkdtempSync(join(tmpdir(), 'bb-images-'));
let docker: DockerClient;

beforeAll(async () => {
  expect((await engine.start()).available).toBe(true);
  docker = engine.client();
});
afterAll(async () => {
  engine.stop();
  await run.cleanup();
  await fixtureDocker
    .getImage(testRef)
    .remove()
    .catch(() => undefined);
  const leftovers = await fixtureDocker.listImages({ filters: JSON.stringify({ label: [mine] }) });
  for (const image of leftovers)
    await fixtureDocker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const tagsOf = async (ref: string) => (await docker.images.list()).filter((i) => i.tags.includes(ref));

describe('images', () => {
  it('loads a docker save tarball from disk and removes the loaded reference', async () => {
    await fixtureDocker.getImage(BUSYBOX).tag({ repo: testRepo, tag: 'load' });
    const tarball = join(dir, 'busybox.tar');
    await pipeline(await fixtureDocker.getImage(testRef).get(), createWriteStream(tarball));
    await docker.images.remove(testRef);
    expect(await tagsOf(testRef)).toEqual([]);

    expect(await docker.images.load(tarball)).toEqual([testRef]);
    const [loaded] = await tagsOf(testRef);
    expect(loaded).toMatchObject({ dangling: false, labels: { 'branchbox.base': 'true' } });
    expect(loaded?.tags).toEqual(expect.arrayContaining([BUSYBOX, testRef]));

    // The base image keeps its other tag: removing the test reference only untags.
    expect(await docker.images.remove(testRef)).toEqual({ untagged: [testRef], deleted: [] });
    expect(await tagsOf(testRef)).toEqual([]);
    expect(await tagsOf(BUSYBOX)).toHaveLength(1);
  });

  it('answers FileNotFound for a missing tarball and DockerError for a file that is not one', async () => {
    const missing = await rpcErrorOf(docker.images.load(join(dir, 'nope.tar')));
    expect(missing).toMatchObject({
      errorName: 'FileNotFound',
      message: `Cannot load images from ${join(dir, 'nope.tar')}: no such file`,
    });
    expect((await rpcErrorOf(docker.images.load(dir))).errorName).toBe('FileNotFound');

    const junk = join(dir, 'junk.tar');
    writeFileSync(junk, 'this is not a tarball');
    const refused = await rpcErrorOf(docker.images.load(junk));
    expect(refused.errorName).toBe('DockerError');
    expect(refused.message).toMatch(/^Cannot load/);
  });

  it('answers ImageNotFound for an unknown image', async () => {
    const e = await rpcErrorOf(docker.images.remove(`${run.runId}/nothing:here`));
    expect(e).toMatchObject({ errorName: 'ImageNotFound', message: `No image "${run.runId}/nothing:here"` });
  });

  it('prunes unused images but keeps base images unless asked', async () => {
    const source = await run.createContainer({ Cmd: ['true'], start: false });
    // Containers of the base image inherit its branchbox.base=true label; the commit keeps it or overrides it.
    const base = await source.commit({ repo: `${run.runId}/base`, tag: '1' });
    const plain = await source.commit({ repo: `${run.runId}/plain`, tag: '1', changes: 'LABEL branchbox.base=false' });
    const idOf = (answer: unknown) => (answer as { Id: string }).Id;
    await source.remove();

    expect(await docker.images.prune({ label: [mine] })).toEqual({ deleted: [], spaceReclaimed: 0 }); // nothing dangling

    const pruned = await docker.images.prune({ all: true, label: [mine] });
    expect(pruned.deleted).toEqual(expect.arrayContaining([`${run.runId}/plain:1`, idOf(plain)]));
    expect(pruned.deleted).not.toContain(idOf(base));
    expect(await tagsOf(`${run.runId}/base:1`)).toHaveLength(1);

    const withBase = await docker.images.prune({ all: true, includeBase: true, label: [mine] });
    expect(withBase.deleted).toEqual(expect.arrayContaining([`${run.runId}/base:1`, idOf(base)]));
    expect(await tagsOf(`${run.runId}/base:1`)).toEqual([]);
    expect(await tagsOf(BUSYBOX)).toHaveLength(1);
  });
});
