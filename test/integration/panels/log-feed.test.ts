/**
 * The Logs panel's extension side against a real daemon and real containers, without VS
 * Code: `LogFeed` subscriptions → batched `logs/batch` messages as the webview would receive
 * them; merged sources; a panel that stops acknowledging throttles the daemon and then gets
 * every line exactly once; closing the panel ends its subscriptions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogFeed } from '../../../extension/src/panels/log-feed';
import type { LogsBatch, LogsSourceStatus, ToWebview } from '../../../schemas/src/webview';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { testRun } from '../../helpers/docker-fixtures';
import { Collector } from '../docker-streams/collect';

const run = testRun('bbpanels');
let daemon: TestDaemon;
let client: TestClient;

beforeAll(async () => {
  daemon = await startTestDaemon();
  client = await daemon.connect('panels-test');
});

afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
});

/** A container that prints `n` numbered lines (`prefix i`) then stays up. */
async function printer(n: number, prefix: string, extra = ''): Promise<string> {
  const c = await run.createContainer({
    Cmd: ['sh', '-c', `i=0; while [ $i -lt ${n} ]; do echo "${prefix} $i"; i=$((i+1)); done; ${extra} exec sleep 3600`],
  });
  return c.id;
}

/** What the webview would receive, with a switch for acknowledging. */
function webview(feedRef: { feed?: LogFeed }, autoAck = true) {
  const state = { autoAck };
  const messages = new Collector<ToWebview>();
  const batches = () => messages.items.filter((m): m is LogsBatch => m.type === 'logs/batch');
  const lines = () => batches().flatMap((b) => b.lines);
  const post = (m: ToWebview) => {
    messages.add(m);
    if (state.autoAck && m.type === 'logs/batch') queueMicrotask(() => feedRef.feed?.ack(m.seq));
  };
  return { messages, batches, lines, post, state };
}

describe('LogFeed against a real daemon', () => {
  it('delivers a container’s lines in batches, in order, then new ones as they are printed', async () => {
    const id = await printer(2000, 'line', 'echo oops >&2;');
    const ref: { feed?: LogFeed } = {};
    const wv = webview(ref);
    ref.feed = new LogFeed({ client, sources: [{ container: id, label: 'printer' }], post: wv.post });
    await ref.feed.start();
    await wv.messages.until(() => wv.lines().length >= 2001, '2001 lines');
    const lines = wv.lines();
    // The engine orders stdout against stderr only by timestamp, not in the stream.
    expect(lines.filter((l) => !l.err).map((l) => l.text)).toEqual(Array.from({ length: 2000 }, (_, i) => `line ${i}`));
    expect(lines.filter((l) => l.err)).toMatchObject([{ text: 'oops', err: true, src: 0 }]);
    expect(lines.every((l) => l.ts > 0)).toBe(true);
    // Batched: far fewer messages than lines, none over the batch size.
    expect(wv.batches().length).toBeLessThan(20);
    expect(wv.messages.items.find((m) => m.type === 'logs/source')).toMatchObject({ state: 'following' });

    // Lines printed later follow.
    const container = (await import('../../helpers/docker-fixtures')).docker.getContainer(id);
    const exec = await container.exec({ Cmd: ['sh', '-c', 'echo late > /proc/1/fd/1'], AttachStdout: true });
    (await exec.start({ hijack: true, stdin: false })).resume();
    await wv.messages.until(() => wv.lines().some((l) => l.text === 'late'), 'the late line');
    await ref.feed.dispose();
  });

  it('merges several containers by timestamp, one source index each', async () => {
    const a = await printer(300, 'a');
    const b = await printer(300, 'b');
    const ref: { feed?: LogFeed } = {};
    const wv = webview(ref);
    ref.feed = new LogFeed({
      client,
      sources: [
        { container: a, label: 'a' },
        { container: b, label: 'b' },
      ],
      post: wv.post,
    });
    await ref.feed.start();
    await wv.messages.until(() => wv.lines().length >= 600, '600 merged lines');
    const lines = wv.lines();
    expect(lines.filter((l) => l.src === 0).map((l) => l.text)).toEqual(
      Array.from({ length: 300 }, (_, i) => `a ${i}`),
    );
    expect(lines.filter((l) => l.src === 1).map((l) => l.text)).toEqual(
      Array.from({ length: 300 }, (_, i) => `b ${i}`),
    );
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.ts).toBeGreaterThanOrEqual(lines[i - 1]!.ts);
    await ref.feed.dispose();
  });

  it('throttles the daemon while the panel lags, then resumes without losing or repeating a line', async () => {
    const id = await printer(20_000, 'n');
    const ref: { feed?: LogFeed } = {};
    const wv = webview(ref, false);
    ref.feed = new LogFeed({
      client,
      sources: [{ container: id, label: 'n' }],
      post: wv.post,
      tail: 'all',
      batcher: { maxBatchLines: 1000, maxInFlight: 1, highWater: 3000, lowWater: 500 },
    });
    await ref.feed.start();
    const statuses = () =>
      wv.messages.items.filter((m): m is LogsSourceStatus => m.type === 'logs/source').map((m) => m.state);
    // Nobody acknowledges: one batch goes out, the rest waits, the source is throttled (the
    // throttle may come before the first flush sends that batch: wait for both).
    await wv.messages.until(() => statuses().includes('throttled') && wv.batches().length > 0, 'the source throttled');
    expect(wv.batches()).toHaveLength(1);
    // Now the panel keeps up: it acknowledges what it got and every batch from now on.
    wv.state.autoAck = true;
    for (const b of wv.batches()) ref.feed!.ack(b.seq);
    await wv.messages.until(() => wv.lines().length >= 20_000, 'all 20000 lines');
    expect(wv.lines().map((l) => l.text)).toEqual(Array.from({ length: 20_000 }, (_, i) => `n ${i}`));
    expect(statuses().filter((s) => s === 'following').length).toBeGreaterThanOrEqual(2); // resumed
    await ref.feed.dispose();
  });

  it('ends its subscriptions in the daemon when the panel closes', async () => {
    const id = await printer(10, 'x');
    const ref: { feed?: LogFeed } = {};
    const wv = webview(ref);
    const ended = new Collector<string>();
    const subscriptions: string[] = [];
    const spy = {
      request: client.request.bind(client),
      subscribe: (async (...args: Parameters<TestClient['subscribe']>) => {
        const [method, params, notification, handlers] = args;
        const sub = await client.subscribe(method, params, notification, {
          onItems: handlers.onItems,
          onEnd: (end) => {
            ended.add(end.reason);
            handlers.onEnd?.(end);
          },
        });
        subscriptions.push(sub.id);
        return sub;
      }) as TestClient['subscribe'],
    };
    ref.feed = new LogFeed({ client: spy, sources: [{ container: id, label: 'x' }], post: wv.post });
    await ref.feed.start();
    await wv.messages.until(() => wv.lines().length >= 10, '10 lines');
    await ref.feed.dispose();
    await ended.until((r) => r.includes('cancelled'), 'the subscription cancelled');
    expect(subscriptions).toHaveLength(1);
    // Nothing reaches the panel after it closed.
    const before = wv.messages.items.length;
    await client.request('system/info');
    expect(wv.messages.items.length).toBe(before);
  });

  it('hands over to the feed of the next connection: the panel keeps its lines and gets every later one exactly once', async () => {
    const c = await run.createContainer({ Cmd: ['sh', '-c', 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.01; done'] });
    const sources = [{ container: c.id, label: 'ticker' }];
    const tick = (text: string) => Number(/^tick (\d+)$/.exec(text)?.[1]);
    // The container's output as it happens, straight from the daemon: the clock of this test.
    const printed = new Collector<number>();
    await client.subscribe('container/logs', { id: c.id, follow: true }, 'container/logs/data', {
      onItems: (items) => items.forEach((l) => printed.add(tick(l.line))),
    });
    const ref: { feed?: LogFeed } = {};
    const wv = webview(ref);
    const first = await daemon.connect('panels-first-connection');
    ref.feed = new LogFeed({ client: first, sources, post: wv.post });
    await ref.feed.start();
    await wv.messages.until(() => wv.lines().length >= 50, '50 lines');
    // The panel stops acknowledging: after 3 batches in flight, lines wait in the feed, and must reach the panel all the same.
    wv.state.autoAck = false;
    const feed = ref.feed;
    const lastPosted = tick(wv.lines().at(-1)!.text);
    await printed.until((n) => n.at(-1)! > lastPosted + 200, '200 more lines printed');
    expect(feed.batcher.pending).toBeGreaterThan(0);

    await first.closeSocket(); // the connection is lost...
    const positions = feed.handOver(); // ...and the panel host hands over
    expect(feed.batcher.pending).toBe(0);
    const before = wv.lines().length;

    wv.state.autoAck = true;
    const second = await daemon.connect('panels-second-connection');
    ref.feed = new LogFeed({ client: second, sources, post: wv.post, resumeFrom: positions });
    await ref.feed.start();
    await wv.messages.until(() => wv.lines().length >= before + 50, '50 more lines on the new connection');
    const numbers = wv.lines().map((l) => tick(l.text));
    expect(numbers).toEqual(numbers.map((_, i) => i));
    await ref.feed.dispose();
    await second.closeSocket();
  });
});
