/**
 * The Branchbox protocol: every method and notification, assembled from one module per
 * namespace. Both the daemon and its clients take their types from here.
 */
import type { Static } from '@sinclair/typebox';
import { daemonMethods, daemonNotifications } from './daemon';
import { dockerMethods, dockerNotifications } from './docker';
import { dockerStreamMethods, dockerStreamNotifications } from './docker-streams';
import { routeMethods } from './route';
import { sandboxMethods, sandboxNotifications } from './sandbox';
import { deployMethods, deployNotifications } from './deploy';
import { sandboxLifecycleMethods, sandboxLifecycleNotifications } from './lifecycle-sandbox';
import { trustMethods } from './trust';
import { imageMethods } from './images';
import { forwardMethods, forwardNotifications } from './forward';
import { watchMethods, watchNotifications } from './watch';
import { followMethods } from './follow';

export * from './errors';
export { PROTOCOL_VERSION } from './daemon';
import { mergeTables } from './core';
export type { MethodSpec, NotificationSpec } from './core';

/** Every method; a name two namespaces declare throws when this module loads. */
export const methods = mergeTables(
  'method',
  daemonMethods,
  dockerMethods,
  dockerStreamMethods,
  routeMethods,
  sandboxMethods,
  deployMethods,
  sandboxLifecycleMethods,
  trustMethods,
  imageMethods,
  forwardMethods,
  watchMethods,
  followMethods,
);

/** Every notification; a name two namespaces declare throws when this module loads. */
export const notifications = mergeTables(
  'notification',
  daemonNotifications,
  dockerNotifications,
  dockerStreamNotifications,
  sandboxNotifications,
  deployNotifications,
  sandboxLifecycleNotifications,
  forwardNotifications,
  watchNotifications,
);

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type Params<M extends MethodName> = Static<Methods[M]['params']>;
export type Result<M extends MethodName> = Static<Methods[M]['result']>;

export type Notifications = typeof notifications;
export type NotificationName = keyof Notifications;
export type NotificationParams<N extends NotificationName> = Static<Notifications[N]['params']>;

/** The notification methods of subscriptions, with the type of one item. */
export type StreamItem<N extends NotificationName> =
  NotificationParams<N> extends { items: (infer I)[] } ? I : never;
