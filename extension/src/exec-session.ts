/**
 * One interactive process in a container, driven through the daemon (`container/exec`,
 * `exec/input`, `exec/resize`, `exec/close`, output in `exec/output`, the end in
 * `exec/exit`), so a shell works the same for local and remote engines. No `vscode`: the
 * terminal (exec-terminal.ts) and the tests drive it alike.
 *
 * `BranchboxClient.subscribe` returns only the subscription id, and `container/exec` also
 * answers a session id; so this module requests `container/exec` itself and picks its
 * output out of the raw notifications (holding any that arrive before the answer).
 */
import type { BranchboxClient } from '../../schemas/src/client';
import type { NotificationParams, Params } from '../../schemas/src/index';

export interface ExecHandlers {
  /** Bytes the process wrote (with a TTY, stdout and stderr are one stream). */
  onOutput(data: Buffer, stream: 'stdout' | 'stderr'): void;
  /** The process ended; null when the session was closed while it still ran. */
  onExit(exitCode: number | null): void;
}

export interface ExecSession {
  readonly id: string;
  /** Sends keystrokes; writes go out in order, one at a time, coalescing what piles up. */
  write(data: string): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Closes the session (a shell on a TTY gets a hangup). */
  close(): Promise<void>;
}

export async function openExecSession(
  client: BranchboxClient,
  params: Params<'container/exec'>,
  handlers: ExecHandlers,
  onWriteError: (e: unknown) => void = () => undefined,
): Promise<ExecSession> {
  /** Known once `container/exec` answers. */
  const ids: { subscription?: string; session?: string } = {};
  let early: NotificationParams<'exec/output'>[] | undefined = [];
  let exited = false;
  const deliver = (p: NotificationParams<'exec/output'>) => {
    for (const chunk of p.items) handlers.onOutput(Buffer.from(chunk.data, 'base64'), chunk.stream);
  };
  const off = client.onNotification((method, raw) => {
    if (method === 'exec/output') {
      const p = raw as NotificationParams<'exec/output'>;
      if (early) early.push(p);
      else if (p.subscription === ids.subscription) deliver(p);
    } else if (method === 'exec/exit') {
      const p = raw as NotificationParams<'exec/exit'>;
      if (p.session !== ids.session || exited) return;
      exited = true;
      off();
      handlers.onExit(p.exitCode);
    }
  });

  let result;
  try {
    result = await client.request('container/exec', params);
  } catch (e) {
    off();
    throw e;
  }
  ids.subscription = result.subscription;
  ids.session = result.session;
  const held = early;
  early = undefined;
  for (const p of held) if (p.subscription === ids.subscription) deliver(p);

  const id = result.session;
  let queued = '';
  let writing = false;
  const flush = async () => {
    if (writing) return;
    writing = true;
    try {
      while (queued && !exited) {
        const data = queued;
        queued = '';
        await client.request('exec/input', { session: id, data: Buffer.from(data, 'utf8').toString('base64') });
      }
    } catch (e) {
      if (!exited) onWriteError(e);
    } finally {
      writing = false;
    }
  };

  return {
    id,
    write: (data) => {
      queued += data;
      void flush();
    },
    resize: async (cols, rows) => {
      if (!exited) await client.request('exec/resize', { session: id, cols, rows });
    },
    close: async () => {
      if (!exited) await client.request('exec/close', { session: id });
    },
  };
}
