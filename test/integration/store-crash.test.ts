/**
 * A daemon killed with SIGKILL in the middle of a burst of small write transactions must leave
 * a state file that reopens cleanly (integrity ok) with every commit it reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../daemon/src/state/store';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const writerScript = fileURLToPath(new URL('../fixtures/store-writer.ts', import.meta.url));
/** The writer reports after every this many commits; the kill comes after the first report. */
const REPORT_EVERY = 500;

let dir: string;
let child: ChildProcess | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchbox-crash-'));
});

afterEach(() => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

interface CrashRun {
  /** Highest commit count the writer reported before it died. */
  readonly reported: number;
  readonly signal: NodeJS.Signals | null;
}

/** Starts the writer, SIGKILLs it on its first `committed` line, resolves once it is gone. */
function runWriterAndKill(dbPath: string): Promise<CrashRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', writerScript, dbPath, String(REPORT_EVERY)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let reported = 0;
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      const match = /^committed (\d+)$/.exec(line);
      if (match === null) return;
      if (reported === 0) proc.kill('SIGKILL'); // mid-burst: the writer is still inserting
      reported = Math.max(reported, Number(match[1]));
    });
    proc.on('error', reject);
    // 'close' comes after stdout is drained, so every report the writer made has been seen.
    proc.on('close', (_code, signal) => {
      if (reported === 0) reject(new Error(`writer exited (signal ${signal}) before committing anything:\n${stderr}`));
      else resolve({ reported, signal });
    });
  });
}

describe('state store after SIGKILL mid-burst', () => {
  it.each([1, 2, 3, 4, 5])('round %i: reopens intact with every reported commit', async () => {
    const dbPath = path.join(dir, 'state.db');

    const run = await runWriterAndKill(dbPath);
    expect(run.signal).toBe('SIGKILL');
    // Killed before any clean close: the commits are (partly) only in the write-ahead log.
    expect(fs.statSync(`${dbPath}-wal`).size).toBeGreaterThan(0);

    const store = openStore(dbPath);
    try {
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      const { n } = store.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number };
      expect(n).toBeGreaterThanOrEqual(run.reported);
    } finally {
      store.close();
    }
  });
});
