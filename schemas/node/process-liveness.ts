/**
 * Whether the process that wrote a runtime or lock file still runs: what every client and the
 * daemon's own lock ask before trusting the pid in such a file.
 */
import * as fs from 'node:fs';

/**
 * Whether a process with this pid runs (EPERM: it exists but is another user's). A zombie —
 * killed, not yet reaped by its parent, which may never happen when that parent does not wait
 * — is not running and holds nothing.
 */
export function isProcessAlive(pid: number): boolean {
  return processExists(pid) && !isZombie(pid);
}

/**
 * Whether the pid is still taken, zombies included (EPERM: another user's process): what a
 * client waits on after asking the daemon to shut down, until the process is gone for good.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether /proc says the process has exited and waits to be reaped (Linux; false elsewhere). */
export function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return zombieState(stat);
}

/** Whether a `/proc/<pid>/stat` line says exited: "pid (comm) S …", the state after the last ')' (comm may hold one). */
export function zombieState(stat: string): boolean {
  const close = stat.lastIndexOf(')');
  const state = stat.slice(close + 2, close + 3);
  return state === 'Z' || state === 'X';
}
