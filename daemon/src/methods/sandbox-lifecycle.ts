/**
 * Handlers of the sandbox lifecycle (schemas/src/lifecycle-sandbox.ts): suspend and resume;
 * and the gate in front of `deploy/start` that refuses to deploy into a sandbox that is not
 * active.
 */
import type { sandboxLifecycleMethods } from '../../../schemas/src/lifecycle-sandbox';
import type { SandboxSuspension } from '../lifecycle/suspension';
import { RpcError } from '../rpc/errors';
import type { Handler, HandlerGroup } from '../rpc/handlers';
import type { SandboxStore } from '../sandbox/sandbox-store';

type LifecycleMethod = keyof typeof sandboxLifecycleMethods;

export interface SandboxLifecycleHandlerDeps {
  readonly suspension: SandboxSuspension;
}

export function sandboxLifecycleHandlers(deps: SandboxLifecycleHandlerDeps): HandlerGroup<LifecycleMethod> {
  return {
    'sandbox/suspend': (p) => deps.suspension.suspend(p.name),
    'sandbox/resume': (p) => deps.suspension.resume(p.name),
  };
}

/**
 * `deploy/start` behind the lifecycle's checks: a suspended or expired sandbox answers
 * Conflict (resume it first); then `check` (e.g. resource limits) may refuse.
 */
export function gatedDeployStart(
  start: Handler<'deploy/start'>,
  sandboxes: SandboxStore,
  check?: (p: Parameters<Handler<'deploy/start'>>[0]) => void,
): Handler<'deploy/start'> {
  return (p, ctx) => {
    const sandbox = sandboxes.get(p.sandbox);
    if (sandbox && (sandbox.state === 'suspended' || sandbox.state === 'expired')) {
      throw new RpcError('Conflict', `Sandbox "${p.sandbox}" is ${sandbox.state}; resume it (sandbox/resume) before deploying into it.`, {
        sandbox: p.sandbox,
        state: sandbox.state,
      });
    }
    check?.(p);
    return start(p, ctx);
  };
}
