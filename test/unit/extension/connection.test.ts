/**
 * The connection's retry logic (extension/src/restart-policy.ts, connection.ts) with an
 * injected clock and a scripted daemon: the backoff sequence, the restart cap ("crashed 5
 * times in the last 3 minutes"), crashes spread over time, and the heartbeat. Time only
 * moves when the test moves it.
 */
import { describe, expect, it } from 'vitest';
import type { DaemonEndpoint, DaemonHost } from '../../../extension/src/bootstrap';
import { createServer } from 'node:net';
import { WebSocketServer } from 'ws';
import { DaemonConnection, dialWebSocket, type ConnectionState, type Transport } from '../../../extension/src/connection';
import { ConnectionNotices, DAEMON_STOPPED, type Notice } from '../../../extension/src/connection-notices';
import { Backoff, RestartLimiter, type Clock } from '../../../extension/src/restart-policy';

class FakeClock implements Clock {
  private time = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  /** Moves time forward, running due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
      await settle();
    }
    this.time = until;
  }
}

/** Lets pending promise callbacks and I/O callbacks run (no time passes on the fake clock). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

type Behaviour = 'answer' | 'crash' | 'silent-after-initialize';

/** A daemon process as the connection sees it: found, started, dialled, answering or not. */
class ScriptedDaemon implements DaemonHost {
  readonly description = 'scripted branchboxd';
  readonly canStart = true;
  readonly logFile = undefined;
  alive = false;
  pid = 100;
  starts: number[] = [];
  dials = 0;
  open: FakeTransport | undefined;

  constructor(
    private readonly clock: FakeClock,
    public behaviour: Behaviour,
  ) {}

  async find(): Promise<DaemonEndpoint | undefined> {
    return this.alive ? this.endpoint() : undefined;
  }
  async start(): Promise<DaemonEndpoint> {
    this.starts.push(this.clock.now());
    this.alive = true;
    this.pid++;
    return this.endpoint();
  }
  isRunning(): boolean {
    return this.alive;
  }
  async stop(): Promise<void> {
    this.crash(); // its process exits: its connection closes
  }
  private endpoint(): DaemonEndpoint {
    return { url: 'ws://fake', token: 't', pid: this.pid };
  }

  dial = async (): Promise<Transport> => {
    this.dials++;
    const transport = new FakeTransport((text) => this.receive(transport, text));
    this.open = transport;
    return transport;
  };

  /** The process dies: its connection closes (as dialWebSocket words a close without a close frame). */
  crash(): void {
    this.alive = false;
    this.open?.peerClosed(DAEMON_STOPPED);
  }

  private receive(transport: FakeTransport, text: string): void {
    const message = JSON.parse(text) as { id: number; method: string };
    if (this.behaviour === 'crash') return queueMicrotask(() => this.crash());
    if (message.method === 'initialize') {
      return transport.reply(message.id, {
        serverInfo: { name: 'branchboxd', version: '9.9.9' },
        protocolVersion: '1.0.0',
        capabilities: { methods: [], notifications: [], docker: true },
      });
    }
    if (this.behaviour === 'silent-after-initialize') return;
    if (message.method === 'system/info') transport.reply(message.id, { pid: this.pid });
  }
}

class FakeTransport implements Transport {
  private messageListener: ((text: string) => void) | undefined;
  private closeListener: ((reason: string) => void) | undefined;
  closed: string | undefined;
  constructor(private readonly toServer: (text: string) => void) {}
  send(text: string): void {
    if (this.closed === undefined) this.toServer(text);
  }
  onMessage(listener: (text: string) => void): void {
    this.messageListener = listener;
  }
  onClose(listener: (reason: string) => void): void {
    this.closeListener = listener;
  }
  reply(id: number, result: unknown): void {
    queueMicrotask(() => this.messageListener?.(JSON.stringify({ jsonrpc: '2.0', id, result })));
  }
  peerClosed(reason: string): void {
    if (this.closed !== undefined) return;
    this.closed = reason;
    this.closeListener?.(reason);
  }
  close(reason: string): void {
    this.peerClosed(reason);
  }
  terminate(reason: string): void {
    this.peerClosed(reason);
  }
}

const quietLog = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

function setup(behaviour: Behaviour, heartbeat = { intervalMs: 15_000, timeoutMs: 5_000 }) {
  const clock = new FakeClock();
  const daemon = new ScriptedDaemon(clock, behaviour);
  const connection = new DaemonConnection({
    host: daemon,
    clientVersion: 'test',
    log: quietLog,
    clock,
    dial: daemon.dial,
    heartbeat,
  });
  const states: (ConnectionState & { at: number })[] = [];
  connection.onDidChangeState((s) => states.push({ ...s, at: clock.now() }));
  return { clock, daemon, connection, states };
}

describe('Backoff', () => {
  it('doubles from 250 ms up to 30 s, and starts over after reset', () => {
    const b = new Backoff();
    const delays = Array.from({ length: 10 }, () => b.next());
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    b.reset();
    expect(b.next()).toBe(250);
  });
});

describe('RestartLimiter', () => {
  it('allows restarts after the first 4 crashes and refuses the 5th within 3 minutes', () => {
    const clock = new FakeClock();
    const limiter = new RestartLimiter(clock);
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(limiter.recordCrash());
      void clock.advance(10_000);
    }
    expect(answers).toEqual([true, true, true, true, false]);
    expect(limiter.describeRefusal()).toBe('branchboxd crashed 5 times in the last 3 minutes; not restarting.');
  });

  it('forgets crashes older than the window, and all of them on reset', async () => {
    const clock = new FakeClock();
    const limiter = new RestartLimiter(clock, { maxCrashes: 3, windowMs: 60_000 });
    expect(limiter.recordCrash()).toBe(true);
    expect(limiter.recordCrash()).toBe(true);
    await clock.advance(60_000);
    expect(limiter.recent).toBe(0);
    expect(limiter.recordCrash()).toBe(true);
    expect(limiter.recordCrash()).toBe(true);
    expect(limiter.recordCrash()).toBe(false);
    limiter.reset();
    expect(limiter.recordCrash()).toBe(true);
    expect(new RestartLimiter(clock, { maxCrashes: 2, windowMs: 60_000 }).describeRefusal()).toBe(
      'branchboxd crashed 2 times in the last minute; not restarting.',
    );
  });
});

describe('DaemonConnection', () => {
  it('restarts a daemon that crashes on every connection with growing delays, then gives up', async () => {
    const { clock, daemon, connection, states } = setup('crash');
    connection.start();
    await clock.advance(60_000);

    // First start at 0; each crash is followed by the next backoff delay, then a restart.
    expect(daemon.starts).toEqual([0, 250, 750, 1750, 3750]);
    const last = states.at(-1)!;
    expect(last).toMatchObject({ kind: 'failed', reason: 'branchboxd crashed 5 times in the last 3 minutes; not restarting.', at: 7750 });
    expect(states.filter((s) => s.kind === 'disconnected').map((s) => (s as { retryInMs: number }).retryInMs)).toEqual([250, 500, 1000, 2000, 4000]);
    expect(states.some((s) => s.kind === 'connected')).toBe(false);

    // Nothing happens any more until the user acts.
    await clock.advance(10 * 60_000);
    expect(daemon.starts).toHaveLength(5);
    connection.reconnect();
    await clock.advance(0);
    expect(daemon.starts).toHaveLength(6);
    connection.dispose();
  });

  it('keeps restarting a daemon whose crashes are minutes apart', async () => {
    const { clock, daemon, connection, states } = setup('answer');
    connection.start();
    await clock.advance(0);
    for (let i = 0; i < 10; i++) {
      expect(connection.connected?.generation).toBe(i + 1);
      await clock.advance(60_000);
      daemon.crash();
      await clock.advance(1_000);
    }
    expect(daemon.starts).toHaveLength(11);
    expect(states.some((s) => s.kind === 'failed')).toBe(false);
    connection.dispose();
  });

  it('resets the backoff once connected', async () => {
    const { clock, daemon, connection, states } = setup('answer');
    daemon.alive = true; // running already: not a start
    connection.start();
    await clock.advance(0);
    daemon.open!.peerClosed('socket closed (1006)'); // the socket drops, the daemon lives
    await clock.advance(0);
    expect(states.at(-1)).toMatchObject({ kind: 'disconnected', retryInMs: 250 });
    await clock.advance(250);
    expect(connection.connected?.generation).toBe(2);
    daemon.open!.peerClosed('socket closed (1006)');
    await clock.advance(0);
    expect(states.at(-1)).toMatchObject({ kind: 'disconnected', retryInMs: 250 });
    expect(daemon.starts).toEqual([]);
    connection.dispose();
  });

  it('treats a daemon that stops answering the heartbeat as hung and reconnects', async () => {
    const { clock, daemon, connection, states } = setup('silent-after-initialize');
    connection.start();
    await clock.advance(0);
    const first = connection.connected!;
    let scopeDisposed = false;
    first.scope.defer(() => (scopeDisposed = true));

    await clock.advance(15_000 + 4_999);
    expect(connection.connected).toBe(first); // the ping is late, not yet too late
    await clock.advance(1);
    expect(scopeDisposed).toBe(true);
    expect(states.find((s) => s.kind === 'disconnected')).toMatchObject({
      reason: 'branchboxd did not answer system/info within 5 s; treating it as hung',
      at: 20_000,
    });
    await clock.advance(250);
    expect(connection.connected?.generation).toBe(2);
    expect(daemon.starts).toHaveLength(1); // alive: reconnected, not restarted
    connection.dispose();
  });

  it('a daemon that answers the heartbeat stays connected', async () => {
    const { clock, connection } = setup('answer');
    const infos: unknown[] = [];
    connection.onDidReceiveInfo((i) => infos.push(i));
    connection.start();
    await clock.advance(0);
    await clock.advance(60_000);
    expect(connection.connected?.generation).toBe(1);
    expect(infos).toHaveLength(4);
    connection.dispose();
  });

  it('whenConnected waits for the connection, and gives up after its timeout', async () => {
    const { clock, daemon, connection } = setup('crash');
    const waiting = connection.whenConnected(1_000);
    const outcome = waiting.then(
      () => 'connected',
      (e: Error) => e.message,
    );
    connection.start();
    await clock.advance(1_000);
    expect(await outcome).toMatch(/^Not connected to branchboxd|^Still connecting/);
    daemon.behaviour = 'answer';
    const soon = connection.whenConnected(10_000);
    await clock.advance(10_000);
    expect((await soon).generation).toBe(1);
    connection.dispose();
  });
});

describe('ConnectionNotices', () => {
  function withNotices() {
    const t = setup('answer');
    const notices: Notice[] = [];
    const watcher = new ConnectionNotices({ canStart: () => t.daemon.canStart, restartInProgress: () => t.connection.restartInProgress });
    t.connection.onDidChangeState((s) => {
      const n = watcher.next(s);
      if (n) notices.push(n);
    });
    return { ...t, notices };
  }

  it('says nothing on the first connection; once when the daemon stops, with what happens; once when it runs again', async () => {
    const { clock, daemon, connection, notices } = withNotices();
    connection.start();
    await clock.advance(0);
    expect(connection.state.kind).toBe('connected');
    expect(notices).toEqual([]);
    daemon.crash();
    await clock.advance(0);
    expect(notices).toEqual([{ kind: 'warning', text: 'Branchbox: the daemon stopped; restarting it…' }]);
    await clock.advance(1_000);
    expect(connection.state.kind).toBe('connected');
    expect(notices.slice(1)).toEqual([{ kind: 'info', text: 'The daemon is running again: branchboxd 9.9.9 (pid 102); Branchbox is reconnected.' }]);
    // The socket drops, the daemon lives: the same process, reconnected.
    daemon.open!.peerClosed('the daemon closed the connection');
    await clock.advance(1_000);
    expect(notices.slice(2)).toEqual([
      { kind: 'warning', text: 'Branchbox: the daemon closed the connection; reconnecting…' },
      { kind: 'info', text: 'Reconnected to branchboxd 9.9.9 (pid 102).' },
    ]);
    connection.dispose();
  });

  it('a restart the user asked for says only that it is done', async () => {
    const { clock, connection, notices } = withNotices();
    connection.start();
    await clock.advance(0);
    const restart = connection.restartDaemon();
    await clock.advance(6_000);
    await restart;
    await clock.advance(1_000);
    expect(connection.state.kind).toBe('connected');
    expect(notices).toEqual([{ kind: 'info', text: 'Restarted branchboxd 9.9.9 (pid 102).' }]);
    connection.dispose();
  });
});

describe('dialWebSocket', () => {
  /** A WebSocket server on a free loopback port that does `onConnection` to each connection. */
  async function server(onConnection: (ws: import('ws').WebSocket) => void) {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', onConnection);
    return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, close: () => new Promise((r) => wss.close(r)) };
  }
  const reasonOf = async (url: string) => {
    const t = await dialWebSocket({ url, token: 't' }, 2_000);
    return new Promise<string>((r) => t.onClose(r));
  };

  it('words why the daemon went away: its process stopped (no close frame), it shut down, or nothing answers', async () => {
    const killed = await server((ws) => setTimeout(() => ws.terminate(), 20));
    expect(await reasonOf(killed.url)).toBe('the daemon stopped');
    await killed.close();
    const shutdown = await server((ws) => setTimeout(() => ws.close(1001, 'daemon shutting down'), 20));
    expect(await reasonOf(shutdown.url)).toBe('the daemon is shutting down');
    await shutdown.close();
    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    await expect(dialWebSocket({ url: `ws://127.0.0.1:${port}`, token: 't' }, 2_000)).rejects.toThrow(`the daemon is not running (nothing answers at ws://127.0.0.1:${port})`);
  });
});
