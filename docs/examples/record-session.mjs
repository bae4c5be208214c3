#!/usr/bin/env node
// Records the worked example of docs/protocol.md from a real run: starts a throwaway
// branchboxd (dist/branchboxd.js) on a temporary state directory, creates two labelled busybox
// containers, then speaks the protocol over a raw WebSocket and over `--stdio`, writing down
// every message exactly as sent and received (only arrays longer than 6 items are shortened,
// marked "…"). Nothing in the transcript is typed by hand.
//
//   node docs/examples/record-session.mjs                      # print the transcript
//   node docs/examples/record-session.mjs --write docs/protocol.md   # replace it between the markers
//
// Needs the Docker engine and the images of scripts/setup.sh; removes what it creates.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import WebSocket from 'ws';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// BRANCHBOXD: another daemon bundle to record against (default dist/branchboxd.js).
const DAEMON = process.env.BRANCHBOXD ?? join(root, 'dist/branchboxd.js');
const START = '<!-- recorded-session:start -->';
const END = '<!-- recorded-session:end -->';
const run = `record-${process.pid}`;
const docker = new Docker();

/** Arrays longer than 6 items keep their first 4, then say how many were left out. */
function shorten(value) {
  if (Array.isArray(value)) {
    const items = value.map(shorten);
    return items.length > 6 ? [...items.slice(0, 4), `… ${items.length - 4} more`] : items;
  }
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v)]));
  return value;
}

class Transcript {
  lines = [];
  note(text) {
    this.lines.push('', `// ${text}`);
  }
  sent(text) {
    this.lines.push(`→ ${JSON.stringify(shorten(JSON.parse(text)))}`);
  }
  received(text) {
    this.lines.push(`← ${JSON.stringify(shorten(JSON.parse(text)))}`);
  }
}

/** The messages of one connection, with a way to wait for the next one that matches. */
class Inbox {
  all = [];
  waiters = [];
  push(message) {
    const waiter = this.waiters.find((w) => w.match(message));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    } else this.all.push(message);
  }
  next(match, what) {
    const found = this.all.find(match);
    if (found) {
      this.all.splice(this.all.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 30_000);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }
}

async function startDaemon(stateDir) {
  const child = spawn(process.execPath, [DAEMON, '--state-dir', stateDir, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise((res, rej) => {
    child.stderr.on('data', (c) => {
      stderr += c;
      if (stderr.includes('listening on')) res();
    });
    child.once('exit', (code) => rej(new Error(`branchboxd exited with ${code}: ${stderr}`)));
  });
  return child;
}

async function main() {
  const stateDir = mkdtempSync(join(tmpdir(), 'bb-record-'));
  const t = new Transcript();
  let daemon;
  try {
    daemon = await startDaemon(stateDir);
    const runtime = JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8'));
    const labels = { 'branchbox.test': run };
    const web = await docker.createContainer({
      name: `${run}-web`,
      Image: 'branchbox/busybox:1',
      Labels: labels,
      // Two lines at start, one more each time it gets SIGUSR1.
      Cmd: ['sh', '-c', 'echo listening on :8080; echo GET /healthz 200; trap "echo GET /api/orders 200" USR1; trap "exit 0" TERM; while true; do sleep 1 & wait; done'],
    });
    await web.start();
    const stubborn = await docker.createContainer({ name: `${run}-stubborn`, Image: 'branchbox/busybox:1', Labels: labels, Cmd: ['sleep', '3600'] });
    await stubborn.start();

    // ---- WebSocket ----------------------------------------------------------------------
    const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}`, { headers: { Authorization: `Bearer ${runtime.token}` } });
    const inbox = new Inbox();
    ws.on('message', (data) => {
      const text = data.toString();
      t.received(text);
      inbox.push(JSON.parse(text));
    });
    await new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
    let id = 0;
    const send = (message) => {
      const text = JSON.stringify({ jsonrpc: '2.0', ...message });
      t.sent(text);
      ws.send(text);
    };
    const request = (method, params) => {
      const requestId = ++id;
      send({ id: requestId, method, ...(params === undefined ? {} : { params }) });
      return inbox.next((m) => m.id === requestId, `the answer to ${method}`);
    };

    t.note('A request before initialize is refused with ServerNotInitialized (-32002).');
    await request('system/info');
    t.note('initialize: who the client is; the daemon answers with what it offers.');
    await request('initialize', { clientInfo: { name: 'my-editor', version: '1.0.0' }, processId: 4242 });
    await request('system/info');
    t.note('A plain request: the containers carrying a label.');
    await request('container/list', { label: [`branchbox.test=${run}`] });

    t.note('A subscription: the last 2 log lines, then new ones as they are printed.');
    const { result } = await request('container/logs', { id: `${run}-web`, tail: 2, follow: true });
    const sub = result.subscription;
    const hasLine = (line) => (m) => m.method === 'container/logs/data' && m.params.subscription === sub && m.params.items.some((i) => i.line === line);
    await inbox.next(hasLine('GET /healthz 200'), 'the first log lines');
    await web.kill({ signal: 'SIGUSR1' });
    await inbox.next(hasLine('GET /api/orders 200'), 'a new log line');
    t.note('Cancelling it: the answer, and subscription/end.');
    const ended = inbox.next((m) => m.method === 'subscription/end' && m.params.subscription === sub, 'subscription/end');
    await request('subscription/cancel', { subscription: sub });
    await ended;

    t.note('Params that break the schema: InvalidParams (-32602), each violation in data.violations.');
    await request('container/list', { all: 'yes', colour: 'blue' });
    t.note('An application error: its stable name in data.name.');
    await request('container/inspect', { id: 'no-such-container' });

    t.note('Cancellation: stopping a container that ignores SIGTERM takes its 30 s timeout; $/cancelRequest ends the wait.');
    const stopId = ++id;
    send({ id: stopId, method: 'container/stop', params: { id: `${run}-stubborn`, timeout: 30 } });
    const stopAnswer = inbox.next((m) => m.id === stopId, 'the cancelled answer');
    send({ method: '$/cancelRequest', params: { id: stopId } });
    await stopAnswer;

    // ---- stdio ----------------------------------------------------------------------------
    t.note('The same protocol over stdio: `branchboxd --stdio --state-dir <dir>` (here relaying to the daemon above). Raw bytes, \\r\\n shown as such:');
    const stdio = spawn(process.execPath, [DAEMON, '--stdio', '--state-dir', stateDir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { clientInfo: { name: 'my-editor' } } });
    const framed = `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    t.lines.push(`→ ${JSON.stringify(framed).slice(1, -1).replace(/\\"/g, '"')}`);
    let raw = '';
    await new Promise((res, rej) => {
      stdio.stdout.on('data', (c) => {
        raw += c;
        const m = /^Content-Length: (\d+)\r\n\r\n/.exec(raw);
        if (m && Buffer.byteLength(raw) >= m[0].length + Number(m[1])) res();
      });
      stdio.once('exit', (code) => rej(new Error(`branchboxd --stdio exited with ${code}`)));
      stdio.stdin.write(framed);
    });
    const header = /^Content-Length: \d+\r\n\r\n/.exec(raw)[0];
    t.lines.push(`← ${JSON.stringify(header).slice(1, -1)}${JSON.stringify(shorten(JSON.parse(raw.slice(header.length))))}`);
    stdio.stdin.end();
    await new Promise((res) => stdio.once('exit', res));

    t.note('shutdown: the daemon answers, then stops and closes every connection.');
    const closed = new Promise((res) => ws.once('close', res));
    await request('shutdown');
    await closed;
    await new Promise((res) => daemon.once('exit', res));
  } finally {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    const leftovers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`branchbox.test=${run}`] }) });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    rmSync(stateDir, { recursive: true, force: true });
  }
  const block = ['```jsonc', ...t.lines.slice(1), '```'].join('\n');
  const target = process.argv[process.argv.indexOf('--write') + 1];
  if (process.argv.includes('--write') && target) {
    const doc = readFileSync(target, 'utf8');
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    if (start < 0 || end < start) throw new Error(`${target} has no ${START} … ${END} markers`);
    writeFileSync(target, `${doc.slice(0, start + START.length)}\n${block}\n${doc.slice(end)}`);
    console.error(`recorded ${t.lines.filter((l) => /^[→←]/.test(l)).length} messages into ${target}`);
  } else console.log(block);
}

main().catch((e) => {
  console.error(`record-session: ${e.stack ?? e}`);
  process.exit(1);
});
