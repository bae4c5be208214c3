/**
 * Events and disposal without `vscode`, so the connection and the models run in plain Node
 * (unit and integration tests) as well as in the extension host. The shapes match VS Code's
 * (`Event<T>` returns a disposable), so `context.subscriptions.push(...)` takes them as is.
 */

export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (value: T) => void) => Disposable;

/** An event source: `event` for listeners, `fire` for the owner. */
export class Emitter<T> implements Disposable {
  private listeners = new Set<(value: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  };

  /** Calls every listener; one that throws does not keep the others (or the owner) from running. */
  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (e) {
        console.error('Branchbox: an event listener failed', e);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/**
 * A disposal scope: everything added is disposed, newest first, when the scope is. Adding to
 * a disposed scope disposes at once (a subscription opened on a connection that has just
 * ended must not leak).
 */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposedFlag = false;

  get disposed(): boolean {
    return this.disposedFlag;
  }

  add<T extends Disposable>(item: T): T {
    if (this.disposedFlag) item.dispose();
    else this.items.push(item);
    return item;
  }

  /** Adds a function to run on disposal. */
  defer(fn: () => void): void {
    this.add({ dispose: fn });
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    for (const item of this.items.splice(0).reverse()) {
      try {
        item.dispose();
      } catch {
        // One failing disposal must not keep the others from running.
      }
    }
  }
}

/** Resolves with the first value of `event` that satisfies `predicate`. */
export function nextEvent<T>(event: Event<T>, predicate: (value: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const sub = event((value) => {
      if (!predicate(value)) return;
      sub.dispose();
      resolve(value);
    });
  });
}
