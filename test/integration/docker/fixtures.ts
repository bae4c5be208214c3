/** What the Docker-layer tests share: a container command that stops at once, and the error a call fails with. */
import { expect } from 'vitest';
import { RpcError } from '../../../daemon/src/rpc/errors';

/** A busybox process that exits at once on SIGTERM (as PID 1 it needs a trap). */
export const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

/** The RpcError `p` rejects with; fails the test if it resolves or rejects with anything else. */
export const rpcErrorOf = (p: Promise<unknown>): Promise<RpcError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(RpcError);
      return e as RpcError;
    },
  );
