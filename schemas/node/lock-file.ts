/**
 * `<stateDir>/branchboxd.lock`: the pid of the daemon that owns the state directory, one line.
 * The daemon takes it (daemon/src/runtime/lock.ts); clients read it to tell which daemon won a
 * race to start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STATE_FILES } from './state-files';

export const LOCK_FILE_NAME = STATE_FILES.lock;

/** Path of the lock file in `stateDir`. */
export function lockFilePath(stateDir: string): string {
  return path.join(path.resolve(stateDir), LOCK_FILE_NAME);
}

/** The pid a lock file's text holds, or undefined if it is not one. */
export function parseLockPid(text: string): number | undefined {
  if (!/^\s*\d+\s*$/.test(text)) return undefined;
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** The pid recorded in `stateDir`'s lock file, or undefined if there is none or it is unreadable. */
export function readLockPid(stateDir: string): number | undefined {
  try {
    return parseLockPid(fs.readFileSync(lockFilePath(stateDir), 'utf8'));
  } catch {
    return undefined;
  }
}
