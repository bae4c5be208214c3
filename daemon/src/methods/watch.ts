/**
 * Handlers of watch mode (schemas/src/watch.ts) over {@link Watches}; the dispatcher audits
 * `watch/start` and `watch/stop`. `watch/subscribe` pushes every watch event (of one sandbox,
 * when asked) until cancelled.
 */
import type { watchMethods } from '../../../schemas/src/watch';
import type { HandlerGroup } from '../rpc/handlers';
import type { Watches } from '../watch/watches';

type WatchMethod = keyof typeof watchMethods;

export function watchHandlers(deps: { watches: Watches }): HandlerGroup<WatchMethod> {
  const { watches } = deps;
  return {
    'watch/start': (p) => watches.start(p),
    'watch/stop': async (p) => ({ stopped: await watches.stop(p.sandbox) }),
    'watch/list': (p) => ({ watches: watches.list(p.sandbox) }),
    'watch/subscribe': (p, ctx) => {
      const sub = ctx.session.subscribe('watch/event');
      const off = watches.on('event', (e) => {
        if (p.sandbox === undefined || e.sandbox === p.sandbox) sub.push(e);
      });
      sub.signal.addEventListener('abort', off, { once: true });
      return { subscription: sub.id };
    },
  };
}
