/**
 * A daemon killed with SIGKILL stays a zombie until its parent reaps it — for as long as the
 * parent lives, when that parent never waits (an editor's process that spawned it detached, a
 * container whose pid 1 is no init). A new daemon started meanwhile, by the extension or by
 * hand, must take the state directory over and serve within well under 5 s: a zombie holds
 * no lock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDaemonHost } from '../../../extension/src/bootstrap';
import { DAEMON_JS, connectClient, startTestDaemon, type TestDaemon } from '../../helpers/daemon';

const readPid = (stateDir: string): number | undefined => {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
};
const processState = (pid: number): string | undefined => {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
};
/** Resolves once `check` answers something (checked on every tick of a 20 ms poll of a file the daemon writes). */
async function until<T>(check: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('restart after kill -9', () => {
  let parent: ChildProcess | undefined;
  let next: TestDaemon | undefined;
  let stateDir: string | undefined;

  afterEach(async () => {
    await next?.dispose();
    next = undefined;
    parent?.kill('SIGKILL');
    parent = undefined;
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  /** A daemon whose parent (`sleep`) never reaps it: killed, it stays a zombie. */
  async function zombieDaemon(): Promise<{ stateDir: string; pid: number }> {
    const dir = mkdtempSync(join(tmpdir(), 'bbd-zombie-'));
    stateDir = dir;
    const script = `"${process.execPath}" "${DAEMON_JS}" --state-dir "${dir}" --port 0 >/dev/null 2>&1 & exec sleep 600`;
    parent = spawn('sh', ['-c', script], { stdio: 'ignore' });
    const pid = await until(() => readPid(dir), 15_000, 'the first daemon');
    process.kill(pid, 'SIGKILL');
    await until(() => (processState(pid) === 'Z' ? true : undefined), 5_000, 'the killed daemon to be a zombie');
    return { stateDir: dir, pid };
  }

  it('a daemon started by hand takes over from a zombie at once', async () => {
    const { stateDir: dir, pid } = await zombieDaemon();
    const started = Date.now();
    next = await startTestDaemon({ stateDir: dir });
    const elapsed = Date.now() - started;
    expect(next.runtime.pid).not.toBe(pid);
    const client = await next.connect();
    expect((await client.request('system/info', {})).stateDir).toBeTruthy();
    await client.closeSocket();
    expect(elapsed).toBeLessThan(5_000);
  });

  it("the extension's bootstrap finds no daemon, starts one and connects", async () => {
    const { stateDir: dir, pid } = await zombieDaemon();
    const host = new LocalDaemonHost({ stateDir: dir, nodePath: process.execPath, daemonScript: DAEMON_JS, autoStart: true, extraArgs: ['--port', '0'], startTimeoutMs: 5_000 });
    expect(await host.find()).toBeUndefined();
    const endpoint = await host.start();
    expect(endpoint.pid).not.toBe(pid);
    const client = await connectClient(endpoint.url, endpoint.token);
    expect((await client.request('system/info', {})).stateDir).toBeTruthy();
    await client.closeSocket();
    process.kill(endpoint.pid!, 'SIGTERM');
    await until(() => (existsSync(join(dir, 'runtime.json')) ? undefined : true), 10_000, 'the daemon to stop');
  });
});
