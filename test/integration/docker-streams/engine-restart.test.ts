/**
 * The streams a client holds survive a restart of the Docker engine: a real branchboxd on an
 * engine of the test's own (helpers/private-engine.ts), which the test stops and starts while
 * a container writes a numbered line every 20 ms. The log stream resumes right after the last
 * line it delivered (none lost, none repeated), the event stream says `resync` and carries on,
 * stats of a container and of a sandbox carry on, and no subscription ends.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NotificationParams, StreamItem } from '../../../schemas/src/index';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { BUSYBOX, TEST_LABEL, testRun } from '../../helpers/docker-fixtures';
import { startPrivateEngine, type PrivateEngine } from '../../helpers/private-engine';
import { Collector } from './collect';

const run = testRun('bbengine');
let engine: PrivateEngine;
let daemon: TestDaemon;
let client: TestClient;

beforeAll(async () => {
  engine = await startPrivateEngine();
  daemon = await startTestDaemon({ args: ['--docker-host', engine.host, '--label', `${TEST_LABEL}=${run.runId}`] });
  client = await daemon.connect('engine-restart-test');
}, 60_000);

afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await engine?.dispose();
}, 60_000);

it('log, event and stats streams survive a restart of the engine and resume where they stopped', async () => {
  const counter = await engine.docker.createContainer({
    Image: BUSYBOX,
    name: `${run.runId}-counter`,
    Cmd: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.02; done'],
    Labels: run.labels({ 'branchbox.sandbox': run.runId }),
    HostConfig: { NetworkMode: 'none' },
  });
  await counter.start();

  const ended: NotificationParams<'subscription/end'>[] = [];
  const onEnd = (e: NotificationParams<'subscription/end'>) => void ended.push(e);
  const daemonLog = new Collector<string>();
  await client.subscribe('log/subscribe', { level: 'info' }, 'log/message', {
    onItems: (items) => items.forEach((m) => daemonLog.add(m.msg)),
  });
  const lines = new Collector<string>();
  await client.subscribe('container/logs', { id: counter.id, follow: true }, 'container/logs/data', {
    onItems: (items) => items.forEach((l) => lines.add(l.line)),
    onEnd,
  });
  const events = new Collector<StreamItem<'events/event'>>();
  await client.subscribe('events/subscribe', { types: ['container'] }, 'events/event', {
    onItems: (items) => items.forEach((e) => events.add(e)),
    onEnd,
  });
  const samples = new Collector<StreamItem<'container/stats/data'>>();
  await client.subscribe('container/stats', { id: counter.id }, 'container/stats/data', {
    onItems: (items) => items.forEach((s) => samples.add(s)),
    onEnd,
  });
  const sandboxSamples = new Collector<StreamItem<'container/stats/data'>>();
  await client.subscribe('container/stats', { sandbox: run.runId }, 'container/stats/data', {
    onItems: (items) => items.forEach((s) => sandboxSamples.add(s)),
    onEnd,
  });
  await lines.until((l) => l.length >= 20, '20 lines before the restart');
  await samples.until((s) => s.length >= 1, 'a stats sample before the restart');

  await engine.stop();
  await daemonLog.until((m) => m.includes('Lost the Docker engine'), 'the daemon to notice the engine is gone');
  const linesBefore = lines.items.length;
  const samplesBefore = samples.items.length;
  await engine.start();
  await daemonLog.until(
    (m) => m.slice(m.indexOf('Lost the Docker engine')).some((msg) => msg.startsWith('Connected to Docker')),
    'the daemon to reconnect',
  );

  // Logs: read on after the last line delivered — every number once, in order.
  await lines.until((l) => l.length >= linesBefore + 50, '50 lines after the restart');
  const numbers = lines.items.map((l) => Number(/^line (\d+)$/.exec(l)?.[1]));
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));

  // Events: a resync, then events as before.
  await events.until((e) => e.some((i) => i.type === 'resync'), 'a resync item after the reconnection');
  const marker = `${run.runId}-after`;
  await engine.docker.createContainer({
    Image: BUSYBOX,
    name: marker,
    Cmd: ['true'],
    Labels: run.labels(),
    HostConfig: { NetworkMode: 'none' },
  });
  await events.until(
    (e) => e.some((i) => i.type === 'container' && i.name === marker && i.action === 'create'),
    'the create event after the restart',
  );

  // Stats: samples of the same container again; the sandbox's stats take in a container started now.
  await samples.until(
    (s) => s.length > samplesBefore && s.at(-1)!.id === counter.id,
    'a stats sample after the restart',
  );
  const late = await engine.docker.createContainer({
    Image: BUSYBOX,
    name: `${run.runId}-late`,
    Cmd: ['sleep', '3600'],
    Labels: run.labels({ 'branchbox.sandbox': run.runId }),
    HostConfig: { NetworkMode: 'none' },
  });
  await late.start();
  await sandboxSamples.until(
    (s) => s.some((x) => x.id === late.id),
    'a sample of a container started in the sandbox after the restart',
  );

  expect(ended).toEqual([]);
  const { containers } = await client.request('container/list', { all: true });
  expect(containers.find((c) => c.id === counter.id)).toMatchObject({ state: 'running' });
}, 120_000);
