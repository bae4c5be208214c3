/**
 * The one thing a session needs from a transport: a way to send a message, a measure of
 * what is still waiting to be written (for backpressure), and a way to close.
 */
export interface Connection {
  /** A short label for logs: `ws#3 127.0.0.1:51234`, `stdio`. */
  readonly label: string;
  send(message: string): void;
  /** Bytes queued by the transport but not yet written to the peer. */
  bufferedAmount(): number;
  /** Resolves when the transport's write buffer has drained (or the connection closed). */
  whenDrained(): Promise<void>;
  close(code?: number, reason?: string): void;
}
