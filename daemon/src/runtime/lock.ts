/**
 * One branchboxd per state directory, enforced by the lock file `<stateDir>/branchboxd.lock`
 * holding the owner's pid.
 *
 * The lock file appears atomically with its content (written to a private temp file, then
 * hard-linked into place, which fails if the lock exists), so nobody ever reads a half-written
 * lock. A lock whose pid is dead (or a zombie: killed, never reaped), or whose content is not a
 * pid, is stale and is taken over.
 * Liveness (the zombie check included) and the lock file's format are the clients' too:
 * `schemas/node/process-liveness.ts` and `schemas/node/lock-file.ts`.
 * Removing a stale lock is serialised by a short-lived second lock file
 * (`branchboxd.lock.takeover`) and re-checked under it, so two processes racing for a stale
 * lock cannot both remove it and both win: exactly one ends up owning it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockFilePath, parseLockPid } from '../../../schemas/node/lock-file';
import { isProcessAlive } from '../../../schemas/node/process-liveness';

export { LOCK_FILE_NAME, readLockPid } from '../../../schemas/node/lock-file';
const TAKEOVER_SUFFIX = '.takeover';
/** Attempts before giving up; each is cheap, and waits only while another process takes over. */
const MAX_ATTEMPTS = 50;
/** Pause between attempts while another process holds the takeover lock. */
const RETRY_WAIT_MS = 10;

/** The state directory is owned by a live branchboxd. */
export class InstanceLockedError extends Error {
  constructor(
    readonly pid: number,
    readonly stateDir: string,
  ) {
    super(`Another branchboxd (pid ${pid}) already owns state directory ${stateDir}; stop it or use --state-dir`);
    this.name = 'InstanceLockedError';
  }
}

export interface InstanceLock {
  /** Absolute path of the lock file. */
  readonly path: string;
  /** The pid written into the lock (ours). */
  readonly pid: number;
  /** Removes the lock file if it still holds our pid. Idempotent. */
  release(): void;
}

/**
 * Takes the single-instance lock on `stateDir` (which must exist).
 *
 * @throws InstanceLockedError if a live process holds it. A pid reused by an unrelated process
 *   counts as live; the error message tells the user what to do.
 */
export function acquireInstanceLock(stateDir: string): InstanceLock {
  const dir = path.resolve(stateDir);
  const lockPath = lockFilePath(dir);
  const pid = process.pid;
  let lastProblem = 'unknown';

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createWithContent(lockPath, `${pid}\n`)) {
      heldByThisProcess.add(lockPath);
      return new OwnedLock(lockPath, pid);
    }

    const holder = readLock(lockPath);
    if (holder === undefined) continue; // vanished between our create and read: try again
    if (holder.pid !== undefined && isLiveOwner(holder.pid, lockPath)) throw new InstanceLockedError(holder.pid, dir);

    const outcome = removeStaleLock(lockPath, holder);
    if (outcome === 'busy') {
      lastProblem = 'another process kept taking over a stale lock';
      pause(RETRY_WAIT_MS);
    }
  }
  throw new Error(
    `Could not take the instance lock ${lockPath} after ${MAX_ATTEMPTS} attempts (${lastProblem}); ` +
      'check that no other branchboxd is starting, or remove the file',
  );
}

class OwnedLock implements InstanceLock {
  private released = false;

  constructor(
    readonly path: string,
    readonly pid: number,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    heldByThisProcess.delete(this.path);
    if (readLock(this.path)?.pid === this.pid) fs.rmSync(this.path, { force: true });
  }
}

/** What a lock file held when read: its pid (undefined if garbage) and identity. */
interface LockSnapshot {
  readonly pid: number | undefined;
  readonly ino: number;
  readonly dev: number;
}

/** Reads the lock file, or undefined if it does not exist. */
function readLock(lockPath: string): LockSnapshot | undefined {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    const text = fs.readFileSync(fd, 'utf8');
    return { pid: parseLockPid(text), ino: st.ino, dev: st.dev };
  } finally {
    fs.closeSync(fd);
  }
}

/** Lock files this process holds, to tell a second acquire from a stale lock with our pid. */
const heldByThisProcess = new Set<string>();

/**
 * Whether the lock's pid is a live owner. Our own pid is live only if this process really
 * holds the lock: otherwise the file was left by an earlier process that had the same pid
 * (common in containers, where the daemon often gets the same low pid on every start).
 */
function isLiveOwner(pid: number, lockPath: string): boolean {
  return pid === process.pid ? heldByThisProcess.has(lockPath) : isProcessAlive(pid);
}

/**
 * Creates `target` with `content`, atomically, failing if it exists: the content goes to a
 * unique temp file which is then hard-linked to `target`. Returns false if `target` exists.
 * On file systems without hard links, falls back to an exclusive create ('wx') and write.
 */
function createWithContent(target: string, content: string): boolean {
  const temp = `${target}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(temp, content, { flag: 'wx', mode: 0o600 });
  try {
    fs.linkSync(temp, target);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      return createExclusive(target, content);
    }
    throw e;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

function createExclusive(target: string, content: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(target, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Removes the stale lock `seen`, under the takeover lock, only if the lock file is still that
 * same file (same inode) and still stale. 'busy' if another process is taking over right now.
 */
function removeStaleLock(lockPath: string, seen: LockSnapshot): 'removed' | 'changed' | 'busy' {
  const guardPath = lockPath + TAKEOVER_SUFFIX;
  if (!createWithContent(guardPath, `${process.pid}\n`)) {
    const guard = readLock(guardPath);
    // A takeover lock whose owner died mid-takeover (or that is garbage, or has our pid: we never
    // keep it across calls) is cleared; the owner held it for microseconds, so this needs a crash
    // at exactly that moment.
    if (guard !== undefined && (guard.pid === undefined || guard.pid === process.pid || !isProcessAlive(guard.pid))) {
      removeIfSame(guardPath, guard);
    }
    return 'busy';
  }
  try {
    const now = readLock(lockPath);
    if (now === undefined || now.ino !== seen.ino || now.dev !== seen.dev) return 'changed';
    if (now.pid !== undefined && isLiveOwner(now.pid, lockPath)) return 'changed';
    fs.rmSync(lockPath, { force: true });
    return 'removed';
  } finally {
    fs.rmSync(guardPath, { force: true });
  }
}

/** Removes `file` if it is still the file `seen` describes. */
function removeIfSame(file: string, seen: LockSnapshot): void {
  const now = readLock(file);
  if (now !== undefined && now.ino === seen.ino && now.dev === seen.dev) fs.rmSync(file, { force: true });
}

/** Blocks the thread for `ms` (acquiring runs once, at startup, before the event loop matters). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
