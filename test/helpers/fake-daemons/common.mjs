// What every fake branchboxd does first: take `--state-dir DIR` like the real one, listen on
// 127.0.0.1 (any free port), record its start in `<DIR>/fake-starts.log`, and write
// `<DIR>/runtime.json` ({port, token, pid, version}) once it listens.
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

export function startFakeDaemon(onConnection) {
  const at = process.argv.indexOf('--state-dir');
  if (at < 0 || !process.argv[at + 1]) {
    process.stderr.write('fake branchboxd: --state-dir DIR is required\n');
    process.exit(2);
  }
  const stateDir = process.argv[at + 1];
  mkdirSync(stateDir, { recursive: true });
  appendFileSync(join(stateDir, 'fake-starts.log'), `${process.pid}\n`);
  const token = `fake-token-${process.pid}`;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws, req) => {
    if (req.headers.authorization !== `Bearer ${token}`) return ws.close(1008, 'bad token');
    appendFileSync(join(stateDir, 'fake-connections.log'), `${process.pid}\n`);
    onConnection(ws);
  });
  wss.on('listening', () => {
    const temp = join(stateDir, `.runtime.${process.pid}.tmp`);
    writeFileSync(temp, JSON.stringify({ port: wss.address().port, token, pid: process.pid, version: '0.0.0-fake' }), { mode: 0o600 });
    renameSync(temp, join(stateDir, 'runtime.json'));
    process.stderr.write(`fake branchboxd listening on ${wss.address().port}\n`);
  });
  return wss;
}
