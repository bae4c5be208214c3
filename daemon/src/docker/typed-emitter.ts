/**
 * A typed wrapper over Node's EventEmitter: event names and listener arguments are checked,
 * `on` returns the function that removes the listener, and a throwing listener cannot break
 * the emitter's producer (its error goes to `onListenerError`).
 */
import { EventEmitter } from 'node:events';

export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  constructor(private readonly onListenerError: (event: string, error: unknown) => void = () => undefined) {
    this.emitter.setMaxListeners(0);
  }

  /** Adds a listener; call the returned function to remove it. */
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): () => void {
    const wrapped = (...args: unknown[]) => {
      try {
        listener(...(args as E[K]));
      } catch (e) {
        this.onListenerError(event, e);
      }
    };
    this.emitter.on(event, wrapped);
    return () => this.emitter.off(event, wrapped);
  }

  /** Resolves with the arguments of the next `event` for which `accept` holds; rejects when `signal` aborts. */
  next<K extends keyof E & string>(
    event: K,
    accept: (...args: E[K]) => boolean = () => true,
    signal?: AbortSignal,
  ): Promise<E[K]> {
    return new Promise((resolve, reject) => {
      const abort = () => {
        off();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const off = this.on(event, (...args) => {
        if (!accept(...args)) return;
        off();
        signal?.removeEventListener('abort', abort);
        resolve(args);
      });
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    });
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    this.emitter.emit(event, ...args);
  }
}
