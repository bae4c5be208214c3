import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireInstanceLock,
  InstanceLockedError,
  LOCK_FILE_NAME,
  readLockPid,
  type InstanceLock,
} from '../../daemon/src/runtime/lock';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const contenderScript = fileURLToPath(new URL('../fixtures/lock-contender.ts', import.meta.url));

let dir: string;
let lockFile: string;
const locks: InstanceLock[] = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchbox-lock-'));
  lockFile = path.join(dir, LOCK_FILE_NAME);
});

afterEach(() => {
  for (const lock of locks.splice(0)) lock.release();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function acquire(stateDir = dir): InstanceLock {
  const lock = acquireInstanceLock(stateDir);
  locks.push(lock);
  return lock;
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = proc.pid;
  if (pid === undefined) throw new Error('could not spawn a process');
  await new Promise((resolve) => proc.on('exit', resolve));
  return pid;
}

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
  }
  throw new Error('expected an error');
}

describe('acquireInstanceLock in one process', () => {
  it('writes our pid into the lock file', () => {
    const lock = acquire();
    expect(lock.pid).toBe(process.pid);
    expect(lock.path).toBe(lockFile);
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
    expect(readLockPid(dir)).toBe(process.pid);
    expect(fs.readdirSync(dir)).toEqual([LOCK_FILE_NAME]); // no temp files left behind
  });

  it('refuses a second acquire, naming the owner pid and the directory', () => {
    acquire();
    const error = catchError(() => acquireInstanceLock(dir));
    expect(error).toBeInstanceOf(InstanceLockedError);
    expect((error as InstanceLockedError).pid).toBe(process.pid);
    expect(error.message).toBe(
      `Another branchboxd (pid ${process.pid}) already owns state directory ${dir}; stop it or use --state-dir`,
    );
  });

  it('release is idempotent and lets the lock be taken again', () => {
    const lock = acquireInstanceLock(dir);
    lock.release();
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
    expect(readLockPid(dir)).toBeUndefined();

    acquire();
    lock.release(); // the old handle must not remove the new lock
    expect(readLockPid(dir)).toBe(process.pid);
  });

  it('release leaves a lock file that holds another pid', async () => {
    const lock = acquireInstanceLock(dir);
    const other = await deadPid();
    fs.writeFileSync(lockFile, `${other}\n`);
    lock.release();
    expect(readLockPid(dir)).toBe(other);
  });

  it('takes over a lock left by an exited process', async () => {
    fs.writeFileSync(lockFile, `${await deadPid()}\n`);
    acquire();
    expect(readLockPid(dir)).toBe(process.pid);
  });

  it.each(['', 'not a pid', '-5', '12abc'])('takes over a lock with unreadable content %j', (content) => {
    fs.writeFileSync(lockFile, content);
    expect(readLockPid(dir)).toBeUndefined();
    acquire();
    expect(readLockPid(dir)).toBe(process.pid);
  });

  it('takes over a lock with our pid that this process does not hold (left by an earlier process)', () => {
    fs.writeFileSync(lockFile, `${process.pid}\n`);
    acquire();
    expect(readLockPid(dir)).toBe(process.pid);
  });
});

/** A contender child process, after it printed READY. */
interface Contender {
  readonly proc: ChildProcess;
  /** The line it printed after `go`: WIN, LOST <pid> or ERROR <message>. */
  readonly outcome: Promise<string>;
}

function startContender(): Promise<Contender> {
  const proc = spawn(process.execPath, ['--import', 'tsx', contenderScript, dir], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(proc);
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = readline.createInterface({ input: proc.stdout! });
  const exited = new Promise<never>((_, reject) =>
    proc.on('exit', (code) => reject(new Error(`contender exited early (code ${code}):\n${stderr}`))),
  );
  exited.catch(() => {}); // only observed through the races below
  const nextLine = (): Promise<string> =>
    Promise.race([new Promise<string>((resolve) => lines.once('line', resolve)), exited]);
  return nextLine().then((ready) => {
    if (ready !== 'READY') throw new Error(`contender said ${ready}`);
    return { proc, outcome: nextLine() };
  });
}

/** Starts `n` contenders, lets them race for the lock at once, returns their pids and outcomes. */
async function race(n: number): Promise<{ pid: number; outcome: string }[]> {
  const contenders = await Promise.all(Array.from({ length: n }, startContender));
  for (const c of contenders) c.proc.stdin!.write('go\n');
  const outcomes = await Promise.all(contenders.map((c) => c.outcome));
  const results = contenders.map((c, i) => ({ pid: c.proc.pid!, outcome: outcomes[i]! }));
  // Let them go: the winner releases its lock on stdin end.
  await Promise.all(
    contenders.map((c) => {
      const exit = new Promise((resolve) => c.proc.on('exit', resolve));
      c.proc.stdin!.end();
      return exit;
    }),
  );
  return results;
}

function expectExactlyOneWinner(results: { pid: number; outcome: string }[]): void {
  const winners = results.filter((r) => r.outcome === 'WIN');
  expect(winners, JSON.stringify(results)).toHaveLength(1);
  for (const r of results) if (r !== winners[0]) expect(r.outcome).toBe(`LOST ${winners[0]!.pid}`);
}

describe('acquireInstanceLock across processes', () => {
  it('two processes racing for a free lock: exactly one wins', async () => {
    const results = await race(2);
    expectExactlyOneWinner(results);
    expect(fs.existsSync(lockFile)).toBe(false); // released by the winner
  }, 30_000);

  it('three processes racing for a stale lock: exactly one wins', async () => {
    fs.writeFileSync(lockFile, `${await deadPid()}\n`);
    const results = await race(3);
    expectExactlyOneWinner(results);
    expect(fs.existsSync(lockFile)).toBe(false);
  }, 30_000);
});
