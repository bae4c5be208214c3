/**
 * Handlers of forwards (schemas/src/forward.ts) over {@link Forwards}; the dispatcher audits
 * the mutating ones. `forward/subscribe` pushes a project's new state on each change.
 */
import type { forwardMethods } from '../../../schemas/src/forward';
import type { Forwards } from '../forward/forwards';
import type { HandlerGroup } from '../rpc/handlers';

type ForwardMethod = keyof typeof forwardMethods;

export function forwardHandlers(deps: { forwards: Forwards }): HandlerGroup<ForwardMethod> {
  const { forwards } = deps;
  return {
    'forward/list': async (p) => ({ projects: await forwards.list(p.project) }),
    'forward/add': (p) => forwards.add(p),
    'forward/remove': async (p) => ({ removed: await forwards.remove(p) }),
    'forward/use': (p) => forwards.use(p),
    'forward/subscribe': (_p, ctx) => {
      const sub = ctx.session.subscribe('forward/event');
      // One change after the other, so a client's last item is the project's state now.
      let chain = Promise.resolve();
      const stop = forwards.onChange((project) => {
        chain = chain.then(() => forwards.state(project)).then((state) => void sub.push({ project, state }), (e: unknown) => ctx.log.warn('Forward event failed', { project, error: String(e) }));
      });
      sub.signal.addEventListener('abort', stop, { once: true });
      return { subscription: sub.id };
    },
  };
}
