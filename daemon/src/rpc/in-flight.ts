/**
 * A request in flight: cancelled by `$/cancelRequest` or by its connection closing. Most
 * requests answer at once and never look at their cancellation, so the AbortController (an
 * EventTarget, costly to make and to listen to) is made only when a handler asks for its
 * signal; the dispatcher's race against cancellation is a plain callback.
 */
import { RpcError } from './errors';

export class InFlight {
  private controller: AbortController | undefined;
  private cancelled = false;
  private onCancel: (() => void) | undefined;

  /** Aborts when the request is cancelled (already aborted if it was). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort();
    }
    return this.controller.signal;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller?.abort();
    this.onCancel?.();
  }

  /**
   * What the handler answered, or RequestCancelled as soon as the request is cancelled
   * (whatever the handler goes on doing). A value that is no promise is answered as it is.
   */
  race<T>(result: T | Promise<T>): T | Promise<T> {
    if (this.cancelled) return Promise.reject(new RpcError('RequestCancelled', 'Request cancelled'));
    if (!(result instanceof Promise)) return result;
    return new Promise<T>((resolve, reject) => {
      this.onCancel = () => reject(new RpcError('RequestCancelled', 'Request cancelled'));
      result.then(resolve, reject);
    });
  }
}
