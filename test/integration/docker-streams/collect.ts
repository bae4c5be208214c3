/**
 * Test sinks that record what a stream delivers and let a test wait for what it expects —
 * an event, never a sleep. `until` fails with what was seen so far when the wait runs out.
 */
import type { RecordSink } from '../../../daemon/src/docker/streams/logs';

const DEFAULT_WAIT_MS = 20_000;

export class Collector<T> {
  readonly items: T[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  add(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `predicate(items)` holds; rejects after `ms` naming `what` and showing what arrived. */
  until(predicate: (items: readonly T[]) => boolean, what: string, ms = DEFAULT_WAIT_MS): Promise<void> {
    if (predicate(this.items)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.items.slice(-20))}`));
      }, ms);
      const waiter = {
        check: () => predicate(this.items),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** A sink that never asks to slow down. */
export class CollectingSink<T> extends Collector<T> implements RecordSink<T> {
  push(item: T): boolean {
    this.add(item);
    return true;
  }

  waitForDrain(): Promise<void> {
    return Promise.resolve();
  }
}
