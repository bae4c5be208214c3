/** Small formatters for text output: ids, durations, ages, sizes, ports. */

import { parseDuration as parseProtocolDuration } from '../../../schemas/src/durations';

export const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "3 minutes ago" style, from an ISO timestamp. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)}${units[unit]}`;
}

export function ports(list: readonly { container: number; host?: number; hostIp?: string; protocol: string }[]): string {
  return list
    .map((p) => (p.host !== undefined ? `${p.hostIp ?? '0.0.0.0'}:${p.host}->${p.container}/${p.protocol}` : `${p.container}/${p.protocol}`))
    .join(', ');
}

/** Parses a duration flag with the one grammar of durations (`500ms`, `90s`, `5m`, `3d`); undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  try {
    return parseProtocolDuration(text);
  } catch {
    return undefined;
  }
}

/** An audit entry's detail on one line: `key=value`, lists joined with ", ", objects as JSON. */
export function auditDetail(detail: Readonly<Record<string, unknown>> | undefined): string {
  if (!detail) return '';
  const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.map(text).join(', ') : text(v)}`)
    .join(' ');
}
