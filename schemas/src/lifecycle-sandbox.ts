/**
 * The life of a running sandbox: suspend and resume, and its health.
 *
 * Suspend stops every container of the sandbox and keeps everything else (containers, images,
 * rows, ports); the sandbox's gateways then send the services it serves to the project's
 * baseline, or answer 503 "sandbox <name> is suspended" when there is none. Resume starts the
 * same containers again — the same commits on the same host ports — and waits for their health checks;
 * a service whose port another program took meanwhile is deployed again at its commit on another port.
 *
 * Health is pushed through its own subscription, `sandbox/watchHealth` → `sandbox/health`,
 * one item per sandbox whose health changed (not as part of `sandbox/event`); the health last
 * computed is also the `health` field of a `Sandbox` (schemas in `health.ts`).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Batch, Obj, SubscriptionResult, Timestamp, defineMethods, defineNotifications, engineErrors } from './core';
import { DURATION_PATTERN } from './project';
import { Sandbox } from './sandbox';

import { SandboxHealth } from './health';

export { SandboxHealth, SandboxHealthState, ServiceHealth, ServiceHealthState } from './health';

const SandboxName = Type.String({ minLength: 1 });

export const ServiceResumeOutcome = Obj(
  {
    service: Type.String(),
    containerId: Type.Optional(Type.String()),
    hostPort: Type.Optional(Type.Integer()),
    commit: Type.Optional(Type.String()),
    healthy: Type.Boolean({ description: 'Whether its health check passed after the start.' }),
    detail: Type.String({ description: 'The last probe result, or why it could not start.' }),
  },
  'One service a resume started again.',
);
export type ServiceResumeOutcome = Static<typeof ServiceResumeOutcome>;

export const UptimeMinute = Obj({
  minute: Timestamp('The start of the minute (UTC).'),
  status: Type.Union([Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down')], {
    description: 'up: every check of the minute passed; down: none did; degraded: some did.',
  }),
});

export const ExpiryNotice = Obj(
  {
    sandbox: Type.String(),
    kind: Type.Union([Type.Literal('warning'), Type.Literal('expired'), Type.Literal('deleted')], {
      description: 'warning: it expires soon unless extended; expired: it was suspended (state `expired`); deleted: its retention ended.',
    }),
    reason: Type.String(),
    at: Timestamp('When it happened.'),
    expiresAt: Type.Optional(Timestamp('When it expires (warning).')),
    deletesAt: Type.Optional(Timestamp('When it will be deleted (expired, with a retention).')),
  },
  'A step of the expiry of a sandbox.',
);
export type ExpiryNotice = Static<typeof ExpiryNotice>;

export const sandboxLifecycleMethods = defineMethods({
  'sandbox/suspend': {
    summary: 'Stops every container of a sandbox, keeping its containers, images, rows and ports; state `suspended`.',
    description:
      'Deployments in flight are cancelled first. Suspending a suspended (or expired) sandbox does nothing. While it is ' +
      'suspended its gateways send the services it serves to the baseline (503 naming the state when there is none), and ' +
      'deploy/start into it answers Conflict.',
    mutating: true,
    errors: ['SandboxNotFound', 'Conflict', ...engineErrors],
    params: Obj({ name: SandboxName }),
    result: Obj({
      sandbox: Sandbox,
      stopped: Type.Integer({ description: 'Containers stopped.' }),
    }),
  },
  'sandbox/resume': {
    summary: 'Starts the containers of a suspended (or expired) sandbox again, at the same commits and ports, and waits for their health.',
    description:
      'The sandbox is `active` once its containers run; `services` says which passed their health check (a service whose ' +
      'container is gone or cannot start is reported, not thrown). A service whose host port another program took while the ' +
      'sandbox was suspended is deployed again at its commit on another port, and its `detail` says so. Resuming an active sandbox does nothing.',
    mutating: true,
    errors: ['SandboxNotFound', 'Conflict', ...engineErrors],
    params: Obj({ name: SandboxName }),
    result: Obj({ sandbox: Sandbox, services: Type.Array(ServiceResumeOutcome) }),
  },
  'sandbox/watchHealth': {
    summary: 'Streams health changes: of one sandbox, or of every sandbox. The current health comes first.',
    notification: 'sandbox/health',
    errors: ['SandboxNotFound'],
    params: Obj({ sandbox: Type.Optional(SandboxName) }),
    result: SubscriptionResult,
  },
  'sandbox/uptime': {
    summary: 'The uptime history of each service of a sandbox: one status per minute, the last 24 hours, oldest first.',
    description: 'Minutes without a check (suspended, or the daemon was not running) are left out.',
    errors: ['SandboxNotFound'],
    params: Obj({ name: SandboxName }),
    result: Obj({
      services: Type.Array(Obj({ service: Type.String(), minutes: Type.Array(UptimeMinute) })),
    }),
  },
  'sandbox/extend': {
    summary: "Postpones a sandbox's expiry (active) or its deletion (expired) by a duration.",
    description:
      'Idle time counts from what the policy\'s `from` names (default `activity`: the latest of creation, last ' +
      'deployment, last gateway request), or from the last resume when later; an extension adds to the deadline in ' +
      'every basis, including `created`, and is reset by a resume or an expiry. Conflict when the sandbox has no TTL policy.',
    mutating: true,
    errors: ['SandboxNotFound', 'Conflict'],
    params: Obj({
      name: SandboxName,
      by: Type.String({ pattern: DURATION_PATTERN, description: 'e.g. 30m, 8h, 3d.' }),
    }),
    result: Obj({
      sandbox: Sandbox,
      expiresAt: Type.Optional(Timestamp('The new expiry of an active sandbox.')),
      deletesAt: Type.Optional(Timestamp('The new deletion time of an expired sandbox with a retention.')),
    }),
  },
  'sandbox/watchExpiry': {
    summary: 'Streams expiry steps of every sandbox: warnings before expiry, expiries (suspended), deletions after retention.',
    notification: 'sandbox/expiry',
    params: Obj({}),
    result: SubscriptionResult,
  },
});

export const sandboxLifecycleNotifications = defineNotifications({
  'sandbox/health': {
    summary: 'Health changes for a `sandbox/watchHealth` subscription.',
    direction: 'toClient',
    params: Batch(SandboxHealth, 'Sandboxes whose health changed, oldest first.'),
  },
  'sandbox/expiry': {
    summary: 'Expiry steps for a `sandbox/watchExpiry` subscription.',
    direction: 'toClient',
    params: Batch(ExpiryNotice, 'Oldest first.'),
  },
});
