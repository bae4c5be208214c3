/**
 * `kill -9` of a real daemon in the middle of a burst of writes made through the protocol.
 *
 * The writes: every state-changing (`mutating`) request writes one audit row to state.db once
 * it has been handled, before its answer is sent. The burst uses `template/delete` of names
 * that cannot exist in the test's fresh state directory — valid params (so the request reaches
 * the audit), harmless whatever the handler does, and local to the state directory (no
 * Docker). Eight connections keep 32 requests each in flight; the daemon is killed once a
 * given number were answered, with about 250 still in flight.
 *
 * Afterwards: state.db opens with better-sqlite3 and passes `PRAGMA integrity_check`, holds a
 * row for every answered request, and a new daemon starts on the directory, taking over the
 * stale lock and replacing the stale runtime file. (The store alone is crash-tested in
 * test/integration/store-crash.test.ts.)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { validateParams } from '../../../daemon/src/rpc/validation';
import { ProtocolError } from '../../../schemas/src/client';
import { methods } from '../../../schemas/src/index';
import {
  connectClient,
  startTestDaemon,
  type RuntimeInfo,
  type TestClient,
  type TestDaemon,
} from '../../helpers/daemon';

const WRITE_METHOD = 'template/delete';
const CONNECTIONS = 8;
const IN_FLIGHT_PER_CONNECTION = 32;

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Burst {
  /** Requests the daemon answered (a result or an error answer) before it died. */
  readonly answered: number;
  /** Requests that got no answer: the connection died under them. */
  readonly lost: number;
}

/**
 * Keeps IN_FLIGHT_PER_CONNECTION writes in flight on each connection and SIGKILLs the daemon
 * from inside the answer callback that reaches `killAfter` — so other writes are mid-way.
 */
async function burstAndKill(daemon: TestDaemon, clients: TestClient[], killAfter: number): Promise<Burst> {
  let answered = 0;
  let lost = 0;
  let killed = false;
  let serial = 0;
  const worker = async (client: TestClient, lane: number) => {
    while (!killed) {
      const name = `crash-test-no-such-template-${lane}-${serial++}`;
      try {
        await client.request(WRITE_METHOD, { name });
        answered++;
      } catch (e) {
        // Code 0 is the client's own "connection closed" (the daemon never answers 0).
        if (!(e instanceof ProtocolError) || e.code === 0) {
          lost++;
          return;
        }
        answered++;
      }
      if (answered >= killAfter && !killed) {
        killed = true;
        daemon.process.kill('SIGKILL');
      }
    }
  };
  await Promise.all(
    clients.flatMap((c, i) => Array.from({ length: IN_FLIGHT_PER_CONNECTION }, (_, j) => worker(c, i * 100 + j))),
  );
  return { answered, lost };
}

describe('kill -9 during a burst of writes', () => {
  it('the burst method is state-changing (audited) and its params are valid', () => {
    expect(methods[WRITE_METHOD].mutating).toBe(true);
    expect(validateParams(WRITE_METHOD, { name: 'crash-test-no-such-template-0-0' })).toEqual([]);
  });

  it.each([300, 1500, 4000])(
    'killed after %i answered writes: state.db passes integrity_check and a new daemon starts',
    async (killAfter) => {
      const first = await startTestDaemon();
      cleanup.push(() => first.dispose());
      const stateDir = first.stateDir;
      const clients = await Promise.all(
        Array.from({ length: CONNECTIONS }, (_, i) => connectClient(first.url, first.runtime.token, `writer-${i}`)),
      );
      cleanup.push(() => clients.forEach((c) => c.ws.terminate()));

      const burst = await burstAndKill(first, clients, killAfter);
      const exit = await new Promise<NodeJS.Signals | null>((resolve) =>
        first.process.signalCode !== null
          ? resolve(first.process.signalCode)
          : first.process.once('exit', (_c, s) => resolve(s)),
      );
      expect(exit).toBe('SIGKILL');
      expect(burst.answered).toBeGreaterThanOrEqual(killAfter);
      expect(burst.lost).toBeGreaterThan(0); // writes were still in flight when it died

      // Killed, not stopped: the runtime file and the lock are left behind, naming a dead pid.
      const staleRuntime = JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as RuntimeInfo;
      expect(staleRuntime.pid).toBe(first.runtime.pid);
      expect(readFileSync(join(stateDir, 'branchboxd.lock'), 'utf8').trim()).toBe(String(first.runtime.pid));
      expect(statSync(join(stateDir, 'state.db-wal')).size).toBeGreaterThan(0);

      const db = new Database(join(stateDir, 'state.db'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const { n } = db.prepare('SELECT count(*) AS n FROM audit WHERE method = ?').get(WRITE_METHOD) as { n: number };
        // Each answer went out after its row was committed.
        expect(n).toBeGreaterThanOrEqual(burst.answered);
      } finally {
        db.close();
      }

      const second = await startTestDaemon({ stateDir });
      cleanup.push(() => second.dispose());
      expect(second.runtime.pid).not.toBe(first.runtime.pid);
      expect(second.runtime.token).not.toBe(first.runtime.token);
      const fresh = JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as RuntimeInfo;
      expect(fresh).toEqual(second.runtime);
      expect(readFileSync(join(stateDir, 'branchboxd.lock'), 'utf8').trim()).toBe(String(second.runtime.pid));

      const client = await second.connect('after-crash');
      const info = await client.request('system/info');
      expect(info.pid).toBe(second.runtime.pid);
      expect(info.database.path).toBe(join(stateDir, 'state.db'));
      // It still writes: one more audited request, then a clean stop.
      await client.request(WRITE_METHOD, { name: 'crash-test-after-restart' }).catch((e: unknown) => {
        if (!(e instanceof ProtocolError)) throw e;
      });
      await client.closeSocket();
      expect(await second.stop()).toBe(0);
      expect(existsSync(join(stateDir, 'runtime.json'))).toBe(false);

      const reopened = new Database(join(stateDir, 'state.db'), { readonly: true });
      try {
        expect(reopened.pragma('integrity_check', { simple: true })).toBe('ok');
        const { n } = reopened
          .prepare("SELECT count(*) AS n FROM audit WHERE target = 'name=crash-test-after-restart'")
          .get() as { n: number };
        expect(n).toBe(1);
      } finally {
        reopened.close();
      }
    },
  );
});
