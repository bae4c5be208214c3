/**
 * Cancellation and subscriptions through a real daemon, over both transports.
 *
 * No method of the daemon takes time yet, so a request cannot be cancelled while it runs over
 * a real transport; that is shown at the dispatcher (test/unit/protocol/dispatcher.test.ts).
 * Here: cancelling what does not run (an unknown id, a finished request) answers nothing and
 * breaks nothing. Subscriptions use `log/subscribe`: the test daemon logs every request at
 * debug level, so requests make log lines.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../schemas/src/client';
import type { NotificationParams, StreamItem } from '../../../schemas/src/index';
import { connectClient, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { transports, type Peer } from './peers';

type LogLine = StreamItem<'log/message'>;

/** Collects a subscription's batches and its end, and lets the test wait for either. */
class StreamRecorder {
  readonly batches: LogLine[][] = [];
  end: NotificationParams<'subscription/end'> | undefined;
  private waiters: { until: () => boolean; resolve: () => void }[] = [];

  readonly handlers = {
    onItems: (items: LogLine[]) => {
      this.batches.push(items);
      this.check();
    },
    onEnd: (params: NotificationParams<'subscription/end'>) => {
      this.end = params;
      this.check();
    },
  };

  get lines(): LogLine[] {
    return this.batches.flat();
  }

  /** Resolves once `until()` holds (checked on every batch and at the end). */
  waitFor(until: () => boolean): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (w.until()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}

const isRequestLine = (line: LogLine, method: string) => line.msg === 'request' && line.fields?.method === method;

describe.each(transports)('over %s', (_name, open) => {
  let peer: Peer | undefined;
  afterEach(async () => {
    await peer?.dispose();
    peer = undefined;
  });

  async function initialized(): Promise<Peer> {
    peer = await open();
    await peer.client.request('initialize', { clientInfo: { name: 'vitest' } });
    return peer;
  }

  it('$/cancelRequest of an unknown or finished id answers nothing and the daemon carries on', async () => {
    const { client, send, inbox } = await initialized();
    await client.request('system/info');
    const before = inbox.all.length;
    send(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'never-sent' } }));
    send(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 2 } })); // system/info above, finished
    send(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: { weird: true } } }));
    send(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest' }));
    send(JSON.stringify({ jsonrpc: '2.0', id: 'barrier', method: 'system/info' }));
    expect(await inbox.response('barrier')).toMatchObject({ result: { pid: expect.any(Number) } });
    expect(inbox.all.slice(before)).toHaveLength(1);
  });

  it('a cancellable request that completes before the cancel resolves normally; a later abort is harmless', async () => {
    const { client } = await initialized();
    const controller = new AbortController();
    const info = await client.requestCancellable('system/info', {}, controller.signal);
    expect(info.pid).toEqual(expect.any(Number));
    controller.abort(); // after completion: sends nothing
    await expect(client.request('system/info')).resolves.toMatchObject({ pid: info.pid });
  });

  it('log/subscribe delivers log lines in batches; subscription/cancel ends it with subscription/end', async () => {
    const { client, inbox } = await initialized();
    const stream = new StreamRecorder();
    const sub = await client.subscribe('log/subscribe', { level: 'debug' }, 'log/message', stream.handlers);
    expect(sub.id).toEqual(expect.any(String));

    // 200 requests in flight at once: their debug lines reach the client in batches.
    await Promise.all(Array.from({ length: 200 }, () => client.request('system/info')));
    await stream.waitFor(() => stream.lines.filter((l) => isRequestLine(l, 'system/info')).length >= 200);
    const line = stream.lines.find((l) => isRequestLine(l, 'system/info'))!;
    expect(line).toMatchObject({
      t: expect.any(String),
      level: 'debug',
      msg: 'request',
      fields: { method: 'system/info' },
    });
    expect(Number.isNaN(Date.parse(line.t))).toBe(false);
    expect(stream.batches.length).toBeLessThan(stream.lines.length);
    const notifications = inbox.all.filter((m) => !Array.isArray(m) && m.method === 'log/message');
    expect(notifications.length).toBe(stream.batches.length);
    for (const n of notifications) expect((n as { params: { subscription: string } }).params.subscription).toBe(sub.id);

    await sub.cancel();
    await stream.waitFor(() => stream.end !== undefined);
    expect(stream.end).toEqual({ subscription: sub.id, reason: 'cancelled' });

    // Ended means ended: more requests, no more batches for it.
    const batchesAtEnd = inbox.all.filter((m) => !Array.isArray(m) && m.method === 'log/message').length;
    await Promise.all(Array.from({ length: 20 }, () => client.request('system/info')));
    await client.request('system/info');
    expect(inbox.all.filter((m) => !Array.isArray(m) && m.method === 'log/message').length).toBe(batchesAtEnd);
    // Cancelling it again: it no longer exists.
    const again = await client.request('subscription/cancel', { subscription: sub.id }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ProtocolError);
    expect((again as ProtocolError).code).toBe(1005);
  });

  it('log/subscribe filters by level', async () => {
    const { client } = await initialized();
    const stream = new StreamRecorder();
    const sub = await client.subscribe('log/subscribe', { level: 'warn' }, 'log/message', stream.handlers);
    await client.request('system/info');
    await sub.cancel();
    await stream.waitFor(() => stream.end !== undefined);
    expect(stream.lines.filter((l) => l.level === 'debug' || l.level === 'info')).toEqual([]);
  });

  it('subscription/cancel of an unknown id answers SubscriptionNotFound (1005)', async () => {
    const { client } = await initialized();
    const e = await client
      .request('subscription/cancel', { subscription: 'no-such-subscription' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProtocolError);
    expect(e).toMatchObject({ code: 1005, errorName: 'SubscriptionNotFound', data: { name: 'SubscriptionNotFound' } });
  });
});

describe('subscriptions and the connection', () => {
  let daemon: TestDaemon | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await daemon?.dispose();
    daemon = undefined;
  });

  async function connect(name: string): Promise<TestClient> {
    const client = await daemon!.connect(name);
    clients.push(client);
    return client;
  }

  it('closing a connection ends its subscriptions and the daemon counts it gone', async () => {
    daemon = await startTestDaemon();
    const observer = await connect('observer');
    const subscriber = await connect('subscriber');
    const baseline = (await observer.request('system/info')).connections;
    expect(baseline).toBe(2);

    const theirs = new StreamRecorder();
    await subscriber.subscribe('log/subscribe', { level: 'debug' }, 'log/message', theirs.handlers);
    await subscriber.request('system/info');
    await theirs.waitFor(() => theirs.lines.some((l) => isRequestLine(l, 'system/info')));

    // The observer watches the log for the daemon noticing the close, then asks.
    const mine = new StreamRecorder();
    await observer.subscribe('log/subscribe', { level: 'debug' }, 'log/message', mine.handlers);
    await subscriber.closeSocket();
    await mine.waitFor(() =>
      mine.lines.some((l) => l.msg === 'connection closed' && String(l.fields?.conn).startsWith('ws#')),
    );
    expect((await observer.request('system/info')).connections).toBe(baseline - 1);

    // The closed connection's subscription is gone with it: the daemon keeps serving and
    // keeps logging without trying to write to it.
    await observer.request('system/info');
    expect(daemon.process.exitCode).toBeNull();
  });

  it('connections go back down after many connect/close cycles with open subscriptions', async () => {
    daemon = await startTestDaemon();
    const observer = await connect('observer');
    for (let i = 0; i < 10; i++) {
      const c = await connectClient(daemon.url, daemon.runtime.token, `cycle-${i}`);
      await c.subscribe('log/subscribe', { level: 'debug' }, 'log/message', { onItems: () => undefined });
      await c.closeSocket();
    }
    // Closes are processed as the daemon reads them: ask until it has seen all (bounded).
    let connections = Infinity;
    for (let attempt = 0; attempt < 1000 && connections !== 1; attempt++) {
      connections = (await observer.request('system/info')).connections;
    }
    expect(connections).toBe(1);
  });

  it('shutdown ends open subscriptions with reason "shutdown" before the process exits', async () => {
    daemon = await startTestDaemon();
    const client = await connect('vitest');
    const stream = new StreamRecorder();
    const sub = await client.subscribe('log/subscribe', { level: 'info' }, 'log/message', stream.handlers);
    // The client's own close() would report "shutdown" too; listen to the wire instead.
    const ends: unknown[] = [];
    client.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { method?: string; params?: unknown };
      if (m.method === 'subscription/end') ends.push(m.params);
    });
    await client.request('shutdown');
    expect(await daemon.exited).toBe(0);
    expect(ends).toEqual([{ subscription: sub.id, reason: 'shutdown' }]);
  });
});
