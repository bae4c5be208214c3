/**
 * `stats/history` finds a container by name as it finds it by id: a real branchboxd and the
 * real engine. Names are the engine's to resolve — a deployment renames its new container into
 * place, so a name remembered when collection began is not the container's name any more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../../schemas/src/index';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun } from '../../helpers/docker-fixtures';
import { Collector } from './collect';

const run = testRun('bbstatn');
let daemon: TestDaemon;
let client: TestClient;

beforeAll(async () => {
  daemon = await startTestDaemon();
  client = await daemon.connect('stats-names-test');
});

afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
});

describe('stats/history by container name', () => {
  it('answers the samples of a container by its name, with or without the leading "/", also after a rename', async () => {
    const first = `${run.runId}-before`;
    const c = await run.createContainer({ name: first, Cmd: ['sleep', '300'] });
    const items = new Collector<StreamItem<'container/stats/data'>>();
    const sub = await client.subscribe('container/stats', { id: c.id }, 'container/stats/data', {
      onItems: (batch) => batch.forEach((i) => items.add(i)),
    });
    await items.until((i) => i.length >= 2, 'two samples');

    const byId = await client.request('stats/history', { id: c.id });
    expect(byId.length).toBeGreaterThanOrEqual(2);
    for (const ref of [first, `/${first}`]) {
      const byName = await client.request('stats/history', { id: ref });
      expect(
        byName.map((s) => s.t),
        ref,
      ).toEqual(expect.arrayContaining(byId.map((s) => s.t)));
    }

    // A deployment creates its container under one name and renames it into place.
    const renamed = `${run.runId}-after`;
    await c.rename({ name: renamed });
    for (const ref of [renamed, `/${renamed}`]) {
      const byName = await client.request('stats/history', { id: ref });
      expect(
        byName.map((s) => s.t),
        ref,
      ).toEqual(expect.arrayContaining(byId.map((s) => s.t)));
      expect(byName.every((s) => s.id === c.id)).toBe(true);
    }
    await sub.cancel();
  });
});
