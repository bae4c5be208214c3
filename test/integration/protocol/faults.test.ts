/**
 * Faults nothing in the daemon can catch — a throw in a callback, a rejected promise nobody
 * awaits, an 'error' event without a listener — injected into a real branchboxd process (dist/)
 * by a preloaded module (fault-injector.mjs, fired by SIGUSR2), since no real request fails
 * that way on demand. Node's default ended the process (`container/inspect ..` did, through
 * an 'error' event); the daemon now logs each one and keeps serving, and stops cleanly, exit
 * code 1, only when they come in a storm.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon';

const INJECTOR = pathToFileURL(resolve(__dirname, 'fault-injector.mjs')).href;
const env = (rounds: number) => ({ NODE_OPTIONS: `--import ${INJECTOR}`, BRANCHBOX_TEST_FAULT_ROUNDS: String(rounds) });

let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.dispose();
  daemon = undefined;
});

/** Resolves once stderr holds `count` lines matching `pattern`, or the process exited. */
function stderrLines(d: TestDaemon, pattern: RegExp, count: number): Promise<string[]> {
  const matching = () =>
    d
      .stderr()
      .split('\n')
      .filter((l) => pattern.test(l));
  return new Promise((resolvePromise) => {
    const check = () => {
      if (matching().length < count) return;
      d.process.stderr!.off('data', check);
      resolvePromise(matching());
    };
    d.process.stderr!.on('data', check);
    void d.exited.then(() => resolvePromise(matching()));
    check();
  });
}

describe('faults nothing in the daemon can catch', () => {
  it('an uncaught exception, an unhandled rejection and error events without listeners are logged, and it keeps serving', async () => {
    daemon = await startTestDaemon({ env: env(1) });
    const client = await daemon.connect('faults');
    daemon.process.kill('SIGUSR2');
    const lines = await stderrLines(daemon, /still serving/, 4);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringContaining('uncaught exception, still serving: Error: injected fault: thrown in a callback'),
        expect.stringContaining('unhandled rejection, still serving: Error: injected fault: a rejected promise'),
        expect.stringContaining('uncaught exception, still serving: Error: injected fault: an error event'),
        expect.stringContaining('ECONNREFUSED'),
      ]),
    );
    expect(daemon.process.exitCode).toBeNull();
    expect((await client.request('system/info')).pid).toBe(daemon.runtime.pid);
    const log = readFileSync(join(daemon.stateDir, 'branchboxd.log'), 'utf8');
    expect(log.match(/the daemon keeps serving/g)).toHaveLength(4);
    expect(log).toContain('injected fault: thrown in a callback');
    await client.closeSocket();
  });

  it('a storm of them is a fatal state: the daemon stops cleanly, says why and exits 1', async () => {
    daemon = await startTestDaemon({ env: env(20) });
    daemon.process.kill('SIGUSR2');
    expect(await daemon.exited).toBe(1);
    expect(daemon.stderr()).toMatch(/branchboxd: stopping: \d+ unexpected errors within 60 s/);
    expect(existsSync(join(daemon.stateDir, 'runtime.json'))).toBe(false); // a clean stop removes it
    expect(readFileSync(join(daemon.stateDir, 'branchboxd.log'), 'utf8')).toContain('branchboxd stopped');
  });
});
