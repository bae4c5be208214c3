/**
 * The fault policy on an injected event source and clock: every uncaught exception and
 * unhandled rejection is reported and survived; only a storm of them (more than `maxFaults`
 * within the window) asks, once, for a clean stop.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { describeFault, installFaultPolicy, type Fault } from '../../daemon/src/runtime/faults';

function policy(maxFaults = 3, windowMs = 1000) {
  const source = new EventEmitter();
  const reported: Fault[] = [];
  const fatal: string[] = [];
  const clock = { now: 0 };
  const uninstall = installFaultPolicy(source, {
    report: (f) => reported.push(f),
    fatal: (reason) => fatal.push(reason),
    maxFaults,
    windowMs,
    now: () => clock.now,
  });
  return { source, reported, fatal, clock, uninstall };
}

describe('fault policy', () => {
  it('reports each uncaught exception and unhandled rejection, and keeps going', () => {
    const p = policy();
    p.source.emit('uncaughtException', new Error('thrown in a callback'));
    p.source.emit('unhandledRejection', 'a rejection with a string');
    expect(p.reported.map((f) => [f.kind, describeFault(f.error), f.recent])).toEqual([
      ['uncaught exception', 'Error: thrown in a callback', 1],
      ['unhandled rejection', 'a thrown string: a rejection with a string', 2],
    ]);
    expect(p.fatal).toEqual([]);
  });

  it('asks once for a stop when faults come faster than maxFaults per window', () => {
    const p = policy(3, 1000);
    for (let i = 0; i < 3; i++) p.source.emit('uncaughtException', new Error(`fault ${i}`));
    expect(p.fatal).toEqual([]);
    p.source.emit('uncaughtException', new Error('fault 3'));
    expect(p.fatal).toEqual(['4 unexpected errors within 1 s, the last: Error: fault 3']);
    p.source.emit('uncaughtException', new Error('fault 4'));
    expect(p.fatal).toHaveLength(1);
    expect(p.reported).toHaveLength(5);
  });

  it('forgets faults older than the window', () => {
    const p = policy(3, 1000);
    for (let i = 0; i < 10; i++) {
      p.clock.now += 400;
      p.source.emit('unhandledRejection', new Error(`slow fault ${i}`));
    }
    expect(p.fatal).toEqual([]);
    expect(p.reported.at(-1)?.recent).toBe(3);
  });

  it('survives a report that throws, and describes values String() cannot convert', () => {
    const source = new EventEmitter();
    installFaultPolicy(source, {
      report: () => {
        throw new Error('the log is gone');
      },
      fatal: () => undefined,
    });
    expect(() => source.emit('uncaughtException', new Error('x'))).not.toThrow();
    expect(describeFault(Object.create(null))).toBe('a thrown object');
  });

  it('uninstalls', () => {
    const p = policy();
    p.uninstall();
    expect(p.source.listenerCount('uncaughtException')).toBe(0);
    expect(p.source.listenerCount('unhandledRejection')).toBe(0);
  });
});
