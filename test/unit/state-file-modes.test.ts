/**
 * The files the daemon keeps in its state directory are private (0600) whatever the umask
 * and the directory's mode: created so, and set so when found otherwise at start.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileLogger } from '../../daemon/src/runtime/log';
import { ensureStateDir, writeRuntimeFile } from '../../schemas/node/runtime-file';
import { SecretBox } from '../../daemon/src/sandbox/secrets';
import { openStore } from '../../daemon/src/state/store';

const posixOnly = process.platform === 'win32' ? it.skip : it;
const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

let dir: string;
let umask: number;

beforeEach(() => {
  umask = process.umask(0);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-modes-'));
  fs.chmodSync(dir, 0o777);
});

afterEach(() => {
  process.umask(umask);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('state files under umask 0 in a 0777 directory', () => {
  posixOnly('are created 0600: state.db and its -wal and -shm, secret.key, runtime.json, the log', () => {
    const store = openStore(path.join(dir, 'state.db'));
    store.setMeta('k', 'v');
    new SecretBox(dir).encrypt('x');
    writeRuntimeFile(dir, { port: 1, token: 't', pid: process.pid, version: '0' });
    const log = createFileLogger({ stateDir: dir });
    log.info('hello');
    const files = ['state.db', 'state.db-wal', 'state.db-shm', 'secret.key', 'runtime.json', 'branchboxd.log'];
    for (const f of files) expect([f, modeOf(path.join(dir, f)).toString(8)]).toEqual([f, '600']);
    log.close();
    store.close();
  });

  posixOnly('are set to 0600 at start when an earlier run left them readable', () => {
    openStore(path.join(dir, 'state.db')).close();
    new SecretBox(dir).encrypt('x');
    const files = ['state.db', 'state.db-wal', 'state.db-shm', 'secret.key', 'runtime.json', 'branchboxd.log', 'branchboxd.log.1'];
    for (const f of files) {
      const file = path.join(dir, f);
      if (!fs.existsSync(file)) fs.writeFileSync(file, f === 'runtime.json' ? '{}' : '');
      fs.chmodSync(file, 0o666);
    }
    ensureStateDir(dir);
    const store = openStore(path.join(dir, 'state.db'));
    new SecretBox(dir).protectKeyFile();
    const log = createFileLogger({ stateDir: dir });
    for (const f of files) expect([f, modeOf(path.join(dir, f)).toString(8)]).toEqual([f, '600']);
    expect(modeOf(dir)).toBe(0o777); // the directory the user chose keeps its mode
    log.close();
    store.close();
  });
});
