/**
 * Header rules of the reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers stay on their hop,
 * `X-Forwarded-*` tell the upstream who asked, and the upstream sees its own host.
 *
 * Headers travel as Node's raw lists (`rawHeaders`: name, value, name, value…, names as the
 * peer wrote them, repeated headers kept apart), read and written in one pass: the proxy never
 * builds header objects, which costs a copy per request and merges repeated headers.
 */

/** A header list as `IncomingMessage.rawHeaders` gives it and `writeHead`/`http.request` take it: name, value, name, value… */
export type RawHeaders = string[];

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

/** The header names (lower case) a message's `Connection` headers make hop-by-hop beyond the fixed set; undefined when none. */
function connectionNamed(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && !HOP_BY_HOP.has(name)) (named ??= new Set()).add(name);
    }
  }
  return named;
}

/** Whether the header `name` (lower case) stays on its hop. */
function isHopByHop(name: string, named: Set<string> | undefined, keep: readonly string[]): boolean {
  return (HOP_BY_HOP.has(name) || named?.has(name) === true) && !keep.includes(name);
}

/** `raw` without hop-by-hop headers; `keep` names hop-by-hop headers to keep anyway (an upgrade's). */
export function endToEnd(raw: readonly string[], keep: readonly string[] = []): RawHeaders {
  const named = connectionNamed(raw);
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!isHopByHop(raw[i]!.toLowerCase(), named, keep)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

export interface ForwardedFrom {
  /** The client's address as the gateway saw it. */
  readonly remoteAddress: string | undefined;
  /** The scheme the client used to reach the gateway. */
  readonly proto: 'http' | 'https';
}

/** What goes upstream of a request: its headers, and whether it has a body to send. */
export interface UpstreamHead {
  readonly headers: RawHeaders;
  readonly hasBody: boolean;
}

/**
 * The head to send upstream: end-to-end headers of the request, `Host` set to the upstream's
 * own (virtual hosts must see their name), `X-Forwarded-For` extended with the client,
 * `X-Forwarded-Host` (the Host the client asked for) and `-Proto` set unless a proxy in front
 * already set them. A request has a body when its Content-Length is not 0 or, without one,
 * when it has a Transfer-Encoding.
 */
export function upstreamRequestHead(
  raw: readonly string[],
  upstreamHost: string,
  from: ForwardedFrom,
  keep: readonly string[] = [],
): UpstreamHead {
  const named = connectionNamed(raw);
  const headers: RawHeaders = ['Host', upstreamHost];
  let clientHost: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedHost = false;
  let forwardedProto = false;
  let contentLength: string | undefined;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    switch (name) {
      case 'host':
        clientHost ??= value;
        continue;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'x-forwarded-host':
        forwardedHost ||= value !== '';
        break;
      case 'x-forwarded-proto':
        forwardedProto ||= value !== '';
        break;
      case 'content-length':
        contentLength ??= value;
        break;
      case 'transfer-encoding':
        chunked = true;
        break;
    }
    if (!isHopByHop(name, named, keep)) headers.push(raw[i]!, value);
  }
  const address = from.remoteAddress;
  const client = address?.startsWith('::ffff:') ? address.slice(7) : address;
  if (client) headers.push('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${client}` : client);
  else if (forwardedFor !== undefined) headers.push('X-Forwarded-For', forwardedFor);
  if (!forwardedHost && clientHost) headers.push('X-Forwarded-Host', clientHost);
  if (!forwardedProto) headers.push('X-Forwarded-Proto', from.proto);
  return { headers, hasBody: contentLength !== undefined ? contentLength !== '0' : chunked };
}

/** Serializes a status line and headers for writing onto a raw socket (upgrade answers). */
export function rawResponseHead(status: number, statusMessage: string, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${statusMessage}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]!.replace(/[\r\n]+/g, ' ')}\r\n`;
  return head + '\r\n';
}
