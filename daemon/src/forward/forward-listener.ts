/**
 * One forward's TCP listener on 127.0.0.1:<localPort>. Each connection asks where to go at the
 * moment it arrives and keeps that upstream for its whole life: a switch of the current
 * sandbox changes only where the next connections go. A connection with nowhere to go is
 * closed at once, counted and its reason kept; a peer reset on either side ends that one pipe,
 * never the daemon. {@link ForwardListener.endContainer} ends, cleanly, the pipes to a container
 * that went away.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { RpcError } from '../rpc/errors';
import type { Logger } from '../runtime/log';
import type { ForwardSpec } from './forward-store';

/** Where a new connection of a forward goes: a serving container's loopback port. */
export interface Upstream {
  readonly sandbox: string;
  readonly containerId: string;
  readonly hostPort: number;
}

/** The upstream for a new connection, or why there is none. */
export type Resolution = { readonly target: Upstream } | { readonly reason: string };

export interface ConnectionCounts {
  readonly open: number;
  readonly total: number;
  readonly refused: number;
}

export interface ForwardError {
  readonly at: string;
  readonly message: string;
}

interface Pipe {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly containerId: string;
}

/** A refusal is logged again at most this often while its reason stays the same (a client retrying in a loop). */
const REPEAT_LOG_MS = 10_000;

export class ForwardListener {
  private server: Server | undefined;
  private readonly pipes = new Set<Pipe>();
  private total = 0;
  private refused = 0;
  private error: ForwardError | undefined;
  private lastLogged = { message: '', at: 0 };
  /** Why the port is not bound, once listening failed. */
  listenError: string | undefined;

  constructor(
    readonly spec: ForwardSpec,
    private readonly resolve: () => Promise<Resolution>,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  get counts(): ConnectionCounts {
    return { open: this.pipes.size, total: this.total, refused: this.refused };
  }

  get lastError(): ForwardError | undefined {
    return this.error;
  }

  /** Binds 127.0.0.1:<localPort>. @throws RpcError PortInUse when another process holds it, InvalidParams when binding is not allowed */
  async listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port: this.spec.localPort, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      const failure = bindFailure(this.spec.localPort, e as NodeJS.ErrnoException);
      this.listenError = failure.message;
      throw failure;
    }
    // After listening, a server error (none is expected) is logged; the forward keeps its port.
    server.on('error', (e) => this.log.warn('Forward listener error', { ...this.fields(), error: e.message }));
    this.listenError = undefined;
    this.server = server;
  }

  /** Stops listening and ends every connection through the forward. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const pipe of this.pipes) end(pipe);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Ends the connections piped to a container that stopped or was removed; answers how many. */
  endContainer(containerId: string): number {
    let ended = 0;
    for (const pipe of this.pipes) {
      if (pipe.containerId !== containerId) continue;
      end(pipe);
      ended++;
    }
    return ended;
  }

  private accept(client: Socket): void {
    client.on('error', () => client.destroy()); // a peer reset ends this connection only
    this.resolve()
      .then((resolution) => {
        if (client.destroyed) return;
        if ('reason' in resolution) this.refuse(client, resolution.reason);
        else this.pipe(client, resolution.target);
      })
      // A failed lookup, or a throw while connecting upstream: this connection is refused, nothing else.
      .catch((e: unknown) => this.refuse(client, `the target could not be reached: ${(e as Error).message}`));
  }

  private pipe(client: Socket, target: Upstream): void {
    const upstream = connect({ host: '127.0.0.1', port: target.hostPort, allowHalfOpen: true });
    let connected = false;
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) this.refuse(client, `${target.sandbox}: 127.0.0.1:${target.hostPort} refused the connection (${e.code ?? e.message})`);
      upstream.destroy();
      client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      const pipe: Pipe = { client, upstream, containerId: target.containerId };
      this.pipes.add(pipe);
      this.total++;
      const done = () => {
        this.pipes.delete(pipe);
        client.destroy();
        upstream.destroy();
      };
      client.once('close', done);
      upstream.once('close', done);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  private refuse(client: Socket, reason: string): void {
    this.refused++;
    const at = this.now();
    this.error = { at: at.toISOString(), message: reason };
    client.destroy();
    if (reason !== this.lastLogged.message || at.getTime() - this.lastLogged.at >= REPEAT_LOG_MS) {
      this.lastLogged = { message: reason, at: at.getTime() };
      this.log.info('Forward refused a connection', { ...this.fields(), reason, refused: this.refused });
    }
  }

  private fields() {
    const { project, service, containerPort, localPort } = this.spec;
    return { project, service, containerPort, localPort };
  }
}

/** How long a local peer has to read what was already written before its connection is cut. */
const END_GRACE_MS = 2_000;

/**
 * Ends a pipe cleanly: the client gets what was already written, then FIN; a client that does
 * not read it within the grace period is cut (closing a forward never waits on a peer).
 */
function end(pipe: Pipe): void {
  pipe.client.unpipe(pipe.upstream);
  pipe.upstream.unpipe(pipe.client);
  pipe.client.end(() => pipe.client.destroy());
  setTimeout(() => pipe.client.destroy(), END_GRACE_MS).unref();
  pipe.upstream.destroy();
}

function bindFailure(port: number, e: NodeJS.ErrnoException): RpcError {
  if (e.code === 'EADDRINUSE') return new RpcError('PortInUse', `127.0.0.1:${port} is already in use by another process.`, { port });
  if (e.code === 'EACCES') return new RpcError('InvalidParams', `Not allowed to listen on 127.0.0.1:${port} (ports below 1024 need privileges).`, { port });
  return new RpcError('PortInUse', `127.0.0.1:${port} cannot be listened on: ${e.message}`, { port });
}
