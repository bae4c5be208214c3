/**
 * The status bar's text per connection state (extension/src/status-bar.ts) and the Attach
 * Shell terminal (extension/src/exec-terminal.ts) over a scripted exec session.
 */
import { describe, expect, it, vi } from 'vitest';
import { BranchboxClient } from '../../../schemas/src/client';
import type { ContainerSummary } from '../../../schemas/src/docker';
import type { Connected, SystemInfo } from '../../../extension/src/connection';
import { DisposableStore } from '../../../extension/src/lifetime';
import * as fake from './fake-vscode';

vi.mock('vscode', () => import('./fake-vscode'));
const { statusViewOf } = await import('../../../extension/src/status-bar');
const { ExecPseudoterminal } = await import('../../../extension/src/exec-terminal');

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function connectedTo(client: BranchboxClient, docker = true): Connected {
  return {
    client,
    endpoint: { url: 'ws://127.0.0.1:47815', token: 't', pid: 4242 },
    serverInfo: { name: 'branchboxd', version: '0.1.0' },
    protocolVersion: '1.0.0',
    capabilities: { methods: [], notifications: [], docker },
    scope: new DisposableStore(),
    generation: 1,
  };
}

describe('statusViewOf', () => {
  const info = (docker: SystemInfo['docker']) => ({ docker }) as SystemInfo;
  it('shows connecting, connected, Docker missing, reconnecting and unavailable', () => {
    const c = connectedTo(new BranchboxClient(() => undefined));
    expect(statusViewOf({ kind: 'connecting', attempt: 1 }, undefined).text).toBe('$(sync~spin) Branchbox: connecting');
    expect(statusViewOf({ kind: 'connected', connected: c }, info({ available: true, version: '27.5.1', endpoint: 'unix:///var/run/docker.sock' }))).toEqual({
      text: '$(check) Branchbox',
      tooltip: 'branchboxd 0.1.0 (pid 4242) at ws://127.0.0.1:47815\nDocker 27.5.1 at unix:///var/run/docker.sock',
    });
    expect(statusViewOf({ kind: 'connected', connected: c }, info({ available: false, reason: 'no socket' }))).toMatchObject({
      text: '$(warning) Branchbox: Docker unavailable',
      tooltip: expect.stringContaining('Docker unavailable: no socket'),
      background: 'warning',
    });
    expect(statusViewOf({ kind: 'disconnected', reason: 'socket closed (1006)', retryInMs: 2000 }, undefined)).toMatchObject({
      text: '$(sync~spin) Branchbox: reconnecting',
      tooltip: 'Not connected to branchboxd: socket closed (1006). Retrying in 2 s.',
    });
    expect(statusViewOf({ kind: 'failed', reason: 'branchboxd crashed 5 times in the last 3 minutes; not restarting.' }, undefined)).toEqual({
      text: '$(error) Branchbox: daemon unavailable',
      tooltip: 'branchboxd crashed 5 times in the last 3 minutes; not restarting.',
      background: 'error',
    });
  });
});

describe('ExecPseudoterminal', () => {
  /** `stops`: whether the container is seen stopping after the shell ended. */
  function shell(stops = false) {
    const requests: { id: number; method: string; params: Record<string, unknown> }[] = [];
    const client: BranchboxClient = new BranchboxClient((text) => {
      const r = JSON.parse(text) as (typeof requests)[number];
      requests.push(r);
      queueMicrotask(() => {
        const result = r.method === 'container/exec' ? { session: 'sess-1', subscription: 'sub-1' } : null;
        client.receive(JSON.stringify({ jsonrpc: '2.0', id: r.id, result }));
      });
    });
    const output = (bytes: Buffer) =>
      client.receive(JSON.stringify({ jsonrpc: '2.0', method: 'exec/output', params: { subscription: 'sub-1', items: [{ stream: 'stdout', data: bytes.toString('base64') }] } }));
    const exit = (exitCode: number | null) => client.receive(JSON.stringify({ jsonrpc: '2.0', method: 'exec/exit', params: { session: 'sess-1', exitCode } }));
    const connected = connectedTo(client);
    const container = { id: 'c'.repeat(64), name: 'web' } as ContainerSummary;
    const pty = new ExecPseudoterminal(connected, container, { trace() {}, debug() {}, info() {}, warn() {}, error() {} }, () => Promise.resolve(stops));
    const written: string[] = [];
    const closed: (number | void)[] = [];
    pty.onDidWrite((t) => written.push(t));
    pty.onDidClose((c) => closed.push(c));
    return { pty, requests, output, exit, written, closed, connected };
  }

  it('opens a TTY session of the terminal size, sends typed input and resizes', async () => {
    const s = shell();
    s.pty.open({ columns: 100, rows: 30 });
    s.pty.handleInput('ls\r'); // typed before the session is open: kept, not lost
    await settle();
    expect(s.requests[0]).toMatchObject({ method: 'container/exec', params: { id: 'c'.repeat(64), tty: true, cols: 100, rows: 30 } });
    expect(s.requests[1]).toMatchObject({ method: 'exec/input', params: { session: 'sess-1', data: Buffer.from('ls\r').toString('base64') } });
    s.pty.setDimensions({ columns: 120, rows: 40 });
    await settle();
    expect(s.requests[2]).toMatchObject({ method: 'exec/resize', params: { session: 'sess-1', cols: 120, rows: 40 } });
  });

  it('decodes UTF-8 split across chunks, and closes with the exit code', async () => {
    const s = shell();
    s.pty.open(undefined);
    await settle();
    const bytes = Buffer.from('héllo ✓\r\n');
    s.output(bytes.subarray(0, 2)); // "h" and half of "é"
    s.output(bytes.subarray(2));
    expect(s.written.join('')).toBe('héllo ✓\r\n');
    s.exit(3);
    expect(s.closed).toEqual([3]);
    s.pty.handleInput('x');
    await settle();
    expect(s.requests.filter((r) => r.method === 'exec/input')).toHaveLength(0);
  });

  it('killed with its container (137, the container seen stopping): says so and stays open; killed alone: closes with the code', async () => {
    /** Resolves at the terminal's next write or close. */
    const nextOf = (pty: InstanceType<typeof ExecPseudoterminal>) => new Promise<void>((resolve) => (pty.onDidWrite(() => resolve()), pty.onDidClose(() => resolve())));
    const s = shell(true);
    s.pty.open(undefined);
    await settle();
    const told = nextOf(s.pty);
    s.exit(137);
    await told;
    expect(s.written.join('')).toContain('[The container web stopped or was removed; this shell has ended.]');
    expect(s.closed).toEqual([]);

    const alive = shell(false);
    alive.pty.open(undefined);
    await settle();
    const closed = nextOf(alive.pty);
    alive.exit(137);
    await closed;
    expect(alive.closed).toEqual([137]);
  });

  it('closing the terminal closes the session; a lost connection ends it with a message', async () => {
    const s = shell();
    s.pty.open(undefined);
    await settle();
    s.pty.close();
    await settle();
    expect(s.requests.at(-1)).toMatchObject({ method: 'exec/close', params: { session: 'sess-1' } });

    const t = shell();
    t.pty.open(undefined);
    await settle();
    t.connected.scope.dispose();
    expect(t.written.join('')).toContain('The connection to branchboxd was lost');
    expect(t.closed).toEqual([]); // left open so the message can be read
    expect(fake.created.terminals).toEqual([]);
  });
});
