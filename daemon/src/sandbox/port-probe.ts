/**
 * Which ports of the host are already taken, asked synchronously (the allocator hands out a
 * port in one step, so two callers can never get the same one). On Linux the kernel's tables
 * of TCP sockets are read (`/proc/net/tcp`, `/proc/net/tcp6`: every socket of this network
 * namespace, Docker's published ports included): a port is taken by a listener, and by any
 * other socket bound to it — the local end of an outgoing connection too, whose port the
 * kernel picks from the ephemeral range (32768–60999 by default, which holds the default
 * service and gateway ranges): the engine's proxy cannot bind a port such a socket holds
 * ("address already in use" at container start). Sockets in TIME_WAIT or closed are no
 * obstacle (listeners bind over them). Elsewhere each candidate is bound briefly on
 * 127.0.0.1 by a short-lived helper process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface HostPortCheck {
  /** The first of `candidates` nobody listens on, or undefined when all are taken. */
  firstFree(candidates: readonly number[]): number | undefined;
}

/** The states of /proc/net/tcp whose socket does not keep a listener off its port: TIME_WAIT, CLOSE. */
const NO_OBSTACLE = new Set(['06', '07']);

/** Ports a TCP socket is bound to (see the module comment), from /proc; undefined where /proc/net is not available. */
export function takenPorts(procNet = '/proc/net'): Set<number> | undefined {
  const ports = new Set<number>();
  let found = false;
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`${procNet}/${file}`, 'utf8');
    } catch {
      continue;
    }
    found = true;
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st ...; local_address is HEXIP:HEXPORT
      if (fields.length < 4 || NO_OBSTACLE.has(fields[3]!)) continue;
      const port = parseInt(fields[1]!.split(':').pop()!, 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return found ? ports : undefined;
}

const PROBE_SCRIPT = `
const net = require('node:net');
const ports = JSON.parse(process.argv[1]);
(async () => {
  for (const port of ports) {
    const free = await new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
    });
    if (free) { process.stdout.write(String(port)); return; }
  }
})();
`;

/** Binds each candidate briefly on 127.0.0.1, in order, in a helper process; the first that binds. */
export function firstBindable(candidates: readonly number[], batch = 64): number | undefined {
  for (let i = 0; i < candidates.length; i += batch) {
    const slice = candidates.slice(i, i + batch);
    const result = spawnSync(process.execPath, ['-e', PROBE_SCRIPT, JSON.stringify(slice)], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (result.status !== 0)
      throw new Error(`Cannot probe ports on 127.0.0.1: ${result.stderr || result.error?.message || 'probe failed'}`);
    const port = Number(result.stdout.trim());
    if (result.stdout.trim() !== '' && Number.isInteger(port)) return port;
  }
  return undefined;
}

/** The check for this platform. */
export function hostPortCheck(): HostPortCheck {
  if (takenPorts() !== undefined) {
    return {
      firstFree(candidates) {
        const taken = takenPorts() ?? new Set<number>();
        return candidates.find((p) => !taken.has(p));
      },
    };
  }
  return { firstFree: (candidates) => firstBindable(candidates) };
}
