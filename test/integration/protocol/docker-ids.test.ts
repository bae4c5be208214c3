/**
 * Docker ids and names never reach the Engine API's URL paths unchecked: a real branchboxd
 * (dist/). `container/inspect ..` once ended the daemon — the id went into
 * `/containers/../json`, the engine redirected, and the redirect failed outside any handler.
 * Every container and image method now refuses what Docker's grammar does not allow with
 * InvalidParams naming the field, before any handler runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';

let daemon: TestDaemon;
let client: TestClient;
beforeAll(async () => {
  daemon = await startTestDaemon();
  client = await daemon.connect('docker-ids');
});
afterAll(async () => {
  await client?.closeSocket();
  await daemon?.dispose();
});

const BAD_NAMES = [
  '..',
  '.',
  '../json',
  '../../containers/json',
  'a/../b',
  '/..',
  '//x',
  'x/',
  '%2e%2e',
  'x?all=1',
  'x#y',
  'a b',
  '-x',
  '.x',
  '',
  'x\u0000',
];
const BAD_IMAGES = [
  '..',
  '../x',
  'a/../b',
  'Alpine',
  'a//b',
  'x:',
  `x:${'t'.repeat(200)}`,
  '%2e%2e',
  'sha256:../x',
  'x@sha256:zz',
  ' x',
];
const CONTAINER_METHODS: [string, Record<string, unknown>][] = [
  ['container/inspect', {}],
  ['container/start', {}],
  ['container/stop', {}],
  ['container/restart', {}],
  ['container/remove', { force: true }],
  ['container/logs', {}],
  ['container/stats', {}],
  ['stats/history', {}],
  ['container/exec', { cmd: ['true'] }],
];

const violatedPaths = (data: unknown) => (data as { violations: { path: string }[] }).violations.map((v) => v.path);

describe('Docker ids and names are checked against Docker grammar before they reach a URL', () => {
  it.each(CONTAINER_METHODS)(
    '%s refuses ids outside the container name grammar with InvalidParams',
    async (method, extra) => {
      for (const id of BAD_NAMES) {
        const e = await failure(client.request(method as 'container/inspect', { ...extra, id } as never));
        expect(e.code, `${method} ${JSON.stringify(id)}`).toBe(-32602);
        expect(violatedPaths(e.data)).toContain('/id');
      }
      expect((await client.request('system/info')).pid).toBe(daemon.runtime.pid);
    },
  );

  it('image/remove refuses what is neither an image id nor a reference', async () => {
    for (const image of BAD_IMAGES) {
      const e = await failure(client.request('image/remove', { image }));
      expect(e.code, JSON.stringify(image)).toBe(-32602);
      expect(violatedPaths(e.data)).toContain('/image');
    }
  });

  it('a well-formed name, with or without the leading "/", is the engine\'s to answer; the daemon lives on', async () => {
    for (const id of ['no-such-container-h4', '/no-such-container-h4']) {
      expect(await failure(client.request('container/inspect', { id }))).toMatchObject({
        errorName: 'ContainerNotFound',
      });
    }
    expect(await failure(client.request('image/remove', { image: 'localhost:5000/no/such-image-h4:1' }))).toMatchObject(
      {
        errorName: 'ImageNotFound',
      },
    );
    expect((await client.request('system/info')).pid).toBe(daemon.runtime.pid);
    expect(daemon.process.exitCode).toBeNull();
  });
});
