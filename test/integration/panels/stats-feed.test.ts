/**
 * The Stats panel's extension side against a real daemon and a real busy container, without
 * VS Code: `StatsFeed` → `stats/samples` messages as the webview receives them, through the
 * webview's own state module. The history comes first (prefilled with what the daemon
 * collected before the panel opened), live samples follow; a sandbox's live samples are summed
 * per second; closing the panel ends its subscription; the sandbox deleted, the panel stops
 * its live samples and says so.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatsFeed } from '../../../extension/src/panels/stats-feed';
import type { StatsSamples, ToWebview } from '../../../schemas/src/webview';
import { StatsState } from '../../../webviews/src/stats/state';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun } from '../../helpers/docker-fixtures';
import { Collector } from '../docker-streams/collect';

const run = testRun('bbstatspanel');
const sandbox = `${run.runId}-sb`;
const MiB = 1024 * 1024;
let daemon: TestDaemon;
let client: TestClient;
let busy: string;
let idle: string;

beforeAll(async () => {
  daemon = await startTestDaemon();
  client = await daemon.connect('stats-panel-test');
  // The sandbox the panel shows exists (its panel watches it for its deletion).
  await client.request('sandbox/create', { name: sandbox });
  const labels = { 'branchbox.sandbox': sandbox };
  busy = (await run.createContainer({ Cmd: ['sh', '-c', 'while :; do :; done'], Labels: labels, HostConfig: { NanoCpus: 500_000_000, Memory: 64 * MiB } })).id;
  idle = (await run.createContainer({ Cmd: ['sleep', '600'], Labels: labels, HostConfig: { Memory: 32 * MiB } })).id;
});

afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
});

/** What a webview receives, and its state fed with it. */
function webview(sandboxPanel: boolean) {
  const messages = new Collector<ToWebview>();
  const state = new StatsState(sandboxPanel);
  const post = (m: ToWebview) => {
    if (m.type === 'stats/samples') {
      if (m.history) state.history(m.samples);
      else state.live(m.samples);
    }
    messages.add(m);
  };
  const samples = () => messages.items.filter((m): m is StatsSamples => m.type === 'stats/samples');
  return { messages, state, post, samples };
}

/** The test client, telling `endsOf(method)` how each subscription it opens ends. */
function endsSpied(endsOf: (method: string) => Collector<string>) {
  return {
    request: client.request.bind(client),
    subscribe: (async (...args: Parameters<TestClient['subscribe']>) => {
      const [method, params, notification, handlers] = args;
      const ended = endsOf(method);
      return client.subscribe(method, params, notification, {
        onItems: handlers.onItems,
        onEnd: (end) => {
          ended.add(end.reason);
          handlers.onEnd?.(end);
        },
      });
    }) as TestClient['subscribe'],
  };
}

describe('StatsFeed against a real daemon', () => {
  it('sends the history first, prefilled, then live samples of a busy container', async () => {
    // A first panel makes the daemon collect the container (test containers are collected only while watched).
    const first = webview(false);
    const feed1 = new StatsFeed(client, { kind: 'stats', container: busy, title: 'busy' }, first.post);
    await feed1.start();
    await first.messages.until(() => first.state.series.size >= 3, '3 samples in the first panel');
    expect(first.samples()[0]!.history).toBe(true); // history always comes first

    // A second panel opens on a container with history: it arrives prefilled.
    const second = webview(false);
    const feed2 = new StatsFeed(client, { kind: 'stats', container: busy, title: 'busy' }, second.post);
    await feed2.start();
    const [history] = second.samples();
    expect(history!.history).toBe(true);
    expect(history!.samples.length).toBeGreaterThanOrEqual(3);
    const historyEnd = Date.parse(history!.samples.at(-1)!.t);
    await second.messages.until(() => second.samples().some((m) => !m.history && m.samples.some((s) => Date.parse(s.t) > historyEnd)), 'a live sample after the history');
    await second.messages.until(() => second.state.series.size >= history!.samples.length + 2, 'two more points');

    const points = second.state.series.all();
    for (let i = 1; i < points.length; i++) expect(points[i]!.t).toBeGreaterThan(points[i - 1]!.t); // no repeats, in order
    for (const p of points.slice(1)) {
      // Busy, capped at half a CPU: well above an idle container's ~0 %, even when other work shares the cores.
      expect(p.cpuPercent).toBeGreaterThan(5);
      expect(p.cpuPercent).toBeLessThan(80);
      expect(p.memoryLimit).toBe(64 * MiB);
      expect(p.memoryUsed).toBeGreaterThan(0);
    }
    await feed1.dispose();
    await feed2.dispose();
  });

  it('sums a sandbox’s containers per second', async () => {
    const wv = webview(true);
    const feed = new StatsFeed(client, { kind: 'stats', sandbox, title: 'sandbox' }, wv.post);
    await feed.start();
    expect(wv.samples()[0]!.history).toBe(true);
    await wv.messages.until(() => wv.state.series.all().some((p) => p.containers === 2), 'a second with both containers');
    const both = wv.state.series.all().filter((p) => p.containers === 2);
    for (const p of both) {
      expect(p.memoryLimit).toBe(96 * MiB);
      expect(p.t % 1000).toBe(0);
    }
    expect(both.some((p) => p.cpuPercent > 15)).toBe(true);
    expect(wv.messages.items.filter((m) => m.type === 'status' && m.level === 'error')).toEqual([]);
    await feed.dispose();
  });

  it('ends its subscription in the daemon when the panel closes, and reports a missing container', async () => {
    const wv = webview(false);
    const ended = new Collector<string>();
    const spy = endsSpied(() => ended);
    const feed = new StatsFeed(spy, { kind: 'stats', container: idle, title: 'idle' }, wv.post);
    await feed.start();
    await wv.messages.until(() => wv.samples().some((m) => !m.history), 'a live sample');
    await feed.dispose();
    await ended.until((r) => r.includes('cancelled'), 'the subscription cancelled');
    const before = wv.messages.items.length;
    await client.request('system/info');
    expect(wv.messages.items.length).toBe(before);

    const missing = new StatsFeed(client, { kind: 'stats', container: 'no-such-container-bb', title: 'x' }, () => undefined);
    await expect(missing.start()).rejects.toThrow();
  });

  it('stops its live samples and says so when the sandbox is deleted; reopened, it shows the banner and no live samples', async () => {
    /** The client, with each `container/stats` subscription it opens and how it ended. */
    const statsSubs: { ended: Collector<string> }[] = [];
    const spy = endsSpied((method) => {
      const ended = new Collector<string>();
      if (method === 'container/stats') statsSubs.push({ ended });
      return ended;
    });
    const wv = webview(true);
    const feed = new StatsFeed(spy, { kind: 'stats', sandbox, title: 'sandbox' }, wv.post);
    await feed.start();
    await wv.messages.until(() => wv.samples().some((m) => !m.history), 'a live sample');
    expect(statsSubs).toHaveLength(1);
    await client.request('sandbox/delete', { name: sandbox });
    await wv.messages.until(() => wv.messages.items.some((m) => m.type === 'banner'), 'the banner');
    expect(wv.messages.items.find((m) => m.type === 'banner')).toEqual({ type: 'banner', kind: 'deleted', text: `Sandbox ${sandbox} was deleted. This panel shows what it had before; nothing new arrives.` });
    // The live subscription ends; once the daemon has answered a later request, nothing of it is in flight.
    await statsSubs[0]!.ended.until((r) => r.length > 0, 'the live stats subscription to end');
    const after = wv.messages.items.length;
    await client.request('system/info');
    expect(wv.messages.items.slice(after).filter((m) => m.type === 'stats/samples')).toEqual([]);
    await feed.dispose();

    const reopened = webview(true);
    const again = new StatsFeed(spy, { kind: 'stats', sandbox, title: 'sandbox' }, reopened.post);
    await again.start();
    expect(reopened.messages.items.map((m) => m.type)).toEqual(['banner', 'stats/samples']);
    // Reopened on a deleted sandbox: no live subscription at all.
    expect(statsSubs).toHaveLength(1);
    await again.dispose();
  });
});

describe('the panels’ bundle', () => {
  it('has what the panel host links: <kind>.js for every panel and uPlot’s stylesheet as stats.css', () => {
    const dir = resolve(__dirname, '../../../dist/webviews');
    for (const kind of ['logs', 'stats', 'deployment']) expect(readFileSync(resolve(dir, `${kind}.js`), 'utf8').length).toBeGreaterThan(1000);
    expect(readFileSync(resolve(dir, 'stats.css'), 'utf8')).toContain('.uplot');
    // The host links stats.css for the Stats panel only (panel-host.ts STYLESHEETS).
    const host = readFileSync(resolve(__dirname, '../../../extension/src/panels/panel-host.ts'), 'utf8');
    expect(host).toMatch(/STYLESHEETS[^=]*= \{ stats: 'stats\.css' \}/);
    expect(host).toContain('`${target.kind}.js`');
  });
});
