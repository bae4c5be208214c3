/**
 * CPU time of a process from /proc/<pid>/stat, for the benches that weigh a process's CPU over
 * a stretch of wall time:
 *
 *   const before = processCpuSeconds(pid);
 *   …
 *   const used = processCpuSeconds(pid) - before;     // seconds of CPU (user + system)
 *   cpuPercent(used, wallSeconds)                     // 0.8 (% of one core)
 */
import { readFileSync } from 'node:fs';

/** USER_HZ on Linux: the unit of /proc/<pid>/stat's times. */
export const CLOCK_TICKS = 100;

/**
 * Seconds of CPU in user and system mode (utime, stime: the process's own threads, not its
 * children) from the text of /proc/<pid>/stat. The process name in parentheses may hold spaces
 * and parentheses, so the fields are counted from the last `)`. Throws on a text that is not one.
 */
export function parseProcStatCpu(text: string): { readonly user: number; readonly system: number } {
  const end = text.lastIndexOf(')');
  const fields = end < 0 ? [] : text.slice(end + 2).trim().split(' ');
  // After the name: state (1), ppid, …, utime is field 14 of the line, the 12th after the name.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (fields.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime))
    throw new Error(`not a /proc/<pid>/stat line: "${text.slice(0, 80)}"`);
  return { user: utime / CLOCK_TICKS, system: stime / CLOCK_TICKS };
}

/** CPU seconds (user + system) the process `pid` has used so far. */
export function processCpuSeconds(pid: number): number {
  const { user, system } = parseProcStatCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return user + system;
}

/** CPU seconds used over a stretch of wall time, as a percentage of one core. */
export function cpuPercent(cpuSeconds: number, wallSeconds: number): number {
  if (!(wallSeconds > 0)) throw new Error(`no wall time to divide by (${wallSeconds} s)`);
  return (cpuSeconds / wallSeconds) * 100;
}
