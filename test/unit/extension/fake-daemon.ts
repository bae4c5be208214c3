/**
 * A scripted daemon for the panels' feeds (they take `subscribe` and `request`): sandboxes and
 * deployments it answers from, every subscription recorded with its params so a test pushes
 * items or ends it, and a manual clock for the feeds' timers. No Docker, no socket.
 */
import { ProtocolError } from '../../../schemas/src/client';
import type { DeploymentRecord } from '../../../schemas/src/deploy';
import type { LogRecord } from '../../../schemas/src/docker-streams';
import type { Sandbox, SandboxEvent } from '../../../schemas/src/sandbox';

interface Handlers {
  onItems(items: unknown[]): void;
  onEnd?(end: { subscription: string; reason: string; error?: { code: number; message: string } }): void;
}

export interface FakeSubscription {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly handlers: Handlers;
  cancelled: boolean;
}

export function sandboxOf(name: string, services: Record<string, { container?: string; deployment?: string }>): Sandbox {
  return {
    name,
    state: 'active',
    owner: 'test',
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    network: `sandbox-${name}`,
    services: Object.entries(services).map(([service, s]) => ({
      service,
      route: 'sandbox',
      ...(s.container ? { containerId: s.container } : {}),
      ...(s.deployment ? { deploymentId: s.deployment } : {}),
    })),
    ports: [],
  };
}

export class FakeDaemon {
  readonly sandboxes = new Map<string, Sandbox>();
  readonly deployments = new Map<string, DeploymentRecord>();
  readonly subscriptions: FakeSubscription[] = [];
  readonly requests: string[] = [];

  readonly client = {
    request: async (method: string, params: Record<string, unknown>): Promise<unknown> => {
      this.requests.push(method);
      await Promise.resolve();
      switch (method) {
        case 'sandbox/get': {
          const s = this.sandboxes.get(params.name as string);
          if (!s) throw new ProtocolError(1001, `No sandbox "${String(params.name)}"`, { name: 'SandboxNotFound' });
          return structuredClone(s);
        }
        case 'deploy/get':
          return structuredClone(this.deployments.get(params.id as string));
        case 'deploy/logs':
          return { lines: [], more: false };
        case 'deploy/list':
          return { deployments: [] };
        case 'stats/history':
          return [];
        default:
          throw new Error(`unscripted ${method}`);
      }
    },
    subscribe: async (method: string, params: Record<string, unknown>, _notification: string, handlers: Handlers) => {
      const sub: FakeSubscription = { method, params, handlers, cancelled: false };
      this.subscriptions.push(sub);
      await Promise.resolve();
      return { id: String(this.subscriptions.length), subscription: String(this.subscriptions.length), cancel: async () => void (sub.cancelled = true) };
    },
  };

  /** The live subscriptions of `method` (of container `id`, for container streams). */
  live(method: string, id?: string): FakeSubscription[] {
    return this.subscriptions.filter((s) => s.method === method && !s.cancelled && (id === undefined || s.params.id === id));
  }

  /** The sandbox changes, as the daemon announces them (the store is updated first). */
  update(sandbox: Sandbox): void {
    this.sandboxes.set(sandbox.name, sandbox);
    this.announce({ kind: 'updated', name: sandbox.name, sandbox });
  }

  delete(name: string): void {
    this.sandboxes.delete(name);
    this.announce({ kind: 'deleted', name });
  }

  announce(event: SandboxEvent): void {
    for (const s of this.live('sandbox/subscribe')) s.handlers.onItems([structuredClone(event)]);
  }

  /** Lines of container `id` (on its live log subscription). */
  print(id: string, ...lines: string[]): void {
    const records: LogRecord[] = lines.map((line, i) => ({ stream: 'stdout', line, t: `2026-01-01T00:00:${String(10 + i).padStart(2, '0')}.000000000Z` }));
    for (const s of this.live('container/logs', id)) s.handlers.onItems(records);
  }

  /** Container `id` was removed: its streams complete. */
  remove(id: string): void {
    for (const s of this.subscriptions.filter((x) => !x.cancelled && x.params.id === id)) {
      s.cancelled = true;
      s.handlers.onEnd?.({ subscription: 's', reason: 'completed' });
    }
  }
}

/** A clock whose timers run when the test advances it. */
export class ManualClock {
  private now = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== handle);
  };

  /** Moves time on by `ms`, running the timers due (in order). */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.fn();
    }
    this.now = until;
  }
}

/** Lets pending promise callbacks run. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
