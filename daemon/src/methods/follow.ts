/**
 * Handlers of follow (schemas/src/follow.ts) over {@link Follows}; the dispatcher audits
 * `sandbox/follow`. The sandbox answered is completed by `view` (its health), as sandbox/* do.
 */
import type { followMethods } from '../../../schemas/src/follow';
import type { Follows } from '../follow/follows';
import type { SandboxView } from './sandbox';
import type { HandlerGroup } from '../rpc/handlers';

type FollowMethod = keyof typeof followMethods;

export function followHandlers(deps: { follows: Follows; view: SandboxView }): HandlerGroup<FollowMethod> {
  const { follows, view } = deps;
  return {
    'sandbox/follow': (p) => view(follows.set(p.sandbox, p.follow)),
    'follow/check': async (p) => ({ started: await follows.check(p.repoPath) }),
  };
}
