/*
 * Loaded into a daemon under test with NODE_OPTIONS="--import <this file's URL>": on SIGUSR2
 * it causes, BRANCHBOX_TEST_FAULT_ROUNDS times (default 1), one fault of each kind nothing in
 * the daemon can catch — a throw in a callback, a rejected promise nobody awaits, an 'error'
 * event without a listener, a socket error without a listener — as a bug in any module could.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';

const rounds = Number(process.env.BRANCHBOX_TEST_FAULT_ROUNDS || '1');

process.on('SIGUSR2', () => {
  for (let i = 0; i < rounds; i++) {
    setImmediate(() => {
      throw new Error(`injected fault: thrown in a callback (${i})`);
    });
    void Promise.reject(new Error(`injected fault: a rejected promise (${i})`));
    setImmediate(() => new EventEmitter().emit('error', new Error(`injected fault: an error event (${i})`)));
    net.connect({ host: '127.0.0.1', port: 1 }); // refused: its 'error' event has no listener
  }
});
