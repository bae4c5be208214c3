/**
 * Handlers of the sandbox lifecycle (schemas/src/lifecycle-sandbox.ts): suspend and resume,
 * the health stream and the uptime history, extension and the expiry stream; and the gate in front of `deploy/start` that refuses to deploy into a sandbox that is not
 * active.
 */
import type { sandboxLifecycleMethods } from '../../../schemas/src/lifecycle-sandbox';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { ExpiryReaper } from '../lifecycle/expiry';
import type { HealthMonitor } from '../lifecycle/health-monitor';
import type { SandboxSuspension } from '../lifecycle/suspension';
import type { UptimeHistory } from '../lifecycle/uptime';
import { RpcError } from '../rpc/errors';
import type { Handler, HandlerGroup } from '../rpc/handlers';
import type { SandboxStore } from '../sandbox/sandbox-store';

type LifecycleMethod = keyof typeof sandboxLifecycleMethods;

export interface SandboxLifecycleHandlerDeps {
  readonly sandboxes: SandboxStore;
  readonly suspension: SandboxSuspension;
  readonly health: HealthMonitor;
  readonly uptime: UptimeHistory;
  readonly expiry: ExpiryReaper;
}

export function sandboxLifecycleHandlers(deps: SandboxLifecycleHandlerDeps): HandlerGroup<LifecycleMethod> {
  /** The result with its sandbox as clients see it (with its health). */
  const view = <R extends { sandbox: Sandbox }>(r: R): R => ({ ...r, sandbox: deps.health.withHealth(r.sandbox) });
  return {
    'sandbox/suspend': async (p) => view(await deps.suspension.suspend(p.name)),
    'sandbox/resume': async (p) => view(await deps.suspension.resume(p.name)),
    'sandbox/watchHealth': (p, ctx) => {
      const only = p.sandbox !== undefined ? deps.sandboxes.require(p.sandbox) : undefined;
      const sub = ctx.session.subscribe('sandbox/health');
      for (const s of only ? [only] : deps.sandboxes.list()) sub.push(deps.health.current(s));
      const stop = deps.health.on('health', (h) => {
        if (!only || h.sandbox === only.name) sub.push(h);
      });
      sub.signal.addEventListener('abort', stop, { once: true });
      return { subscription: sub.id };
    },
    'sandbox/extend': (p, ctx) => view(deps.expiry.extend(p.name, p.by, ctx.session.clientInfo?.name ?? ctx.session.osUser)),
    'sandbox/watchExpiry': (_p, ctx) => {
      const sub = ctx.session.subscribe('sandbox/expiry');
      const stop = deps.expiry.on('notice', (n) => sub.push(n));
      sub.signal.addEventListener('abort', stop, { once: true });
      return { subscription: sub.id };
    },
    'sandbox/uptime': (p) => {
      deps.sandboxes.require(p.name);
      return { services: deps.uptime.of(p.name) };
    },
  };
}

/**
 * `deploy/start` behind the lifecycle's check: a suspended or expired sandbox answers
 * Conflict (resume it first).
 */
export function gatedDeployStart(
  start: Handler<'deploy/start'>,
  sandboxes: SandboxStore,
): Handler<'deploy/start'> {
  return (p, ctx) => {
    const sandbox = sandboxes.get(p.sandbox);
    if (sandbox && (sandbox.state === 'suspended' || sandbox.state === 'expired')) {
      throw new RpcError('Conflict', `Sandbox "${p.sandbox}" is ${sandbox.state}; resume it (sandbox/resume) before deploying into it.`, {
        sandbox: p.sandbox,
        state: sandbox.state,
      });
    }
    return start(p, ctx);
  };
}
