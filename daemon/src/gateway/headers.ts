/**
 * Header rules of the reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers stay on their hop,
 * `X-Forwarded-*` tell the upstream who asked, and the upstream sees its own host.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers that describe one connection, never forwarded (plus any that `Connection` names). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The hop-by-hop header names of a message: the fixed set plus those listed in its `Connection` header. */
export function hopByHopNames(connection: string | string[] | undefined): Set<string> {
  const names = new Set(HOP_BY_HOP);
  const values = connection === undefined ? [] : Array.isArray(connection) ? connection : [connection];
  for (const v of values) for (const name of v.split(',')) if (name.trim()) names.add(name.trim().toLowerCase());
  return names;
}

/** `headers` without hop-by-hop ones; `keep` names hop-by-hop headers to keep anyway (an upgrade's). */
export function endToEnd(headers: IncomingHttpHeaders, keep: readonly string[] = []): OutgoingHttpHeaders {
  const drop = hopByHopNames(headers.connection);
  for (const k of keep) drop.delete(k);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !drop.has(name)) out[name] = value;
  return out;
}

export interface ForwardedFrom {
  /** The client's address as the gateway saw it. */
  readonly remoteAddress: string | undefined;
  /** The Host the client asked for. */
  readonly host: string | undefined;
  /** The scheme the client used to reach the gateway. */
  readonly proto: 'http' | 'https';
}

/**
 * The headers to send upstream: end-to-end headers of the request, `Host` set to the
 * upstream's own (virtual hosts must see their name), `X-Forwarded-For` extended with the
 * client, `X-Forwarded-Host`/`-Proto` set unless a proxy in front already set them.
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  upstreamHost: string,
  from: ForwardedFrom,
  keep: readonly string[] = [],
): OutgoingHttpHeaders {
  const out = endToEnd(headers, keep);
  out.host = upstreamHost;
  const client = from.remoteAddress?.startsWith('::ffff:') ? from.remoteAddress.slice(7) : from.remoteAddress;
  if (client) {
    const prior = headers['x-forwarded-for'];
    out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${client}` : client;
  }
  if (!headers['x-forwarded-host'] && from.host) out['x-forwarded-host'] = from.host;
  if (!headers['x-forwarded-proto']) out['x-forwarded-proto'] = from.proto;
  return out;
}

/** Serializes a status line and headers for writing onto a raw socket (upgrade answers). */
export function rawResponseHead(status: number, statusMessage: string, headers: OutgoingHttpHeaders): string {
  let head = `HTTP/1.1 ${status} ${statusMessage}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v).replace(/[\r\n]+/g, ' ')}\r\n`;
  }
  return head + '\r\n';
}
