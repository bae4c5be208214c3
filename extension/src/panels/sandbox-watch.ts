/**
 * Watches sandboxes for a panel: `sandbox/subscribe` (every sandbox change, whoever caused it)
 * filtered to the names a panel shows, after one `sandbox/get` each for how they are now.
 * A redeploy is an `updated` event whose services name another container and deployment; a
 * delete is a `deleted` event, after which the name is done with (a sandbox created later under
 * the same name is another sandbox, not what the panel showed). No `vscode`.
 */
import type { BranchboxClient } from '../../../schemas/src/client';
import { ProtocolError } from '../../../schemas/src/client';
import type { Sandbox, SandboxEvent } from '../../../schemas/src/sandbox';

export type SandboxWatchClient = Pick<BranchboxClient, 'subscribe' | 'request'>;

/** A watched sandbox now: how it is, or `undefined` once deleted. */
export type SandboxChangeListener = (name: string, sandbox: Sandbox | undefined) => void;

export class SandboxWatch {
  private cancel: (() => Promise<void>) | undefined;
  private readonly current = new Map<string, Sandbox | undefined>();
  private stopped = false;

  private constructor(private readonly onChange: SandboxChangeListener) {}

  /**
   * Starts watching `names`: subscribes first, so no change falls between the read and the
   * stream, then reads each sandbox (`undefined`: it no longer exists). `onChange` is called
   * for changes after that read; what the read found is in {@link sandbox}.
   */
  static async start(client: SandboxWatchClient, names: Iterable<string>, onChange: SandboxChangeListener): Promise<SandboxWatch> {
    const watch = new SandboxWatch(onChange);
    const wanted = new Set(names);
    let backlog: SandboxEvent[] | undefined = [];
    const sub = await client.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
      onItems: (events) => {
        const mine = events.filter((e) => wanted.has(e.name));
        if (backlog) backlog.push(...mine);
        else for (const e of mine) watch.apply(e);
      },
    });
    watch.cancel = sub.cancel;
    try {
      await Promise.all([...wanted].map(async (name) => watch.current.set(name, await readSandbox(client, name))));
    } catch (e) {
      await watch.dispose();
      throw e;
    }
    // What arrived during the reads is older than (or as new as) what they answered; only a
    // deletion among it still matters.
    const early = backlog;
    backlog = undefined;
    for (const e of early) if (e.kind === 'deleted') watch.apply(e);
    return watch;
  }

  /** How `name` is as last known; `undefined` once deleted (or when it did not exist at the start). */
  sandbox(name: string): Sandbox | undefined {
    return this.current.get(name);
  }

  async dispose(): Promise<void> {
    this.stopped = true;
    const cancel = this.cancel;
    this.cancel = undefined;
    await cancel?.().catch(() => undefined);
  }

  private apply(e: SandboxEvent): void {
    if (this.stopped || !this.current.has(e.name)) return;
    if (this.current.get(e.name) === undefined) return; // deleted: done with
    if (e.kind === 'deleted') {
      this.current.set(e.name, undefined);
      this.onChange(e.name, undefined);
    } else if (e.sandbox) {
      this.current.set(e.name, e.sandbox);
      this.onChange(e.name, e.sandbox);
    }
  }
}

/** `sandbox/get`, or `undefined` when there is no such sandbox (any more). */
export async function readSandbox(client: Pick<BranchboxClient, 'request'>, name: string): Promise<Sandbox | undefined> {
  try {
    return await client.request('sandbox/get', { name });
  } catch (e) {
    if (e instanceof ProtocolError && e.errorName === 'SandboxNotFound') return undefined;
    throw e;
  }
}
