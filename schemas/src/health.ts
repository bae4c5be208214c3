/**
 * The health of a sandbox and of each service it serves, as the health monitor computes it:
 * pushed by `sandbox/watchHealth` (notification `sandbox/health`) and carried, as last
 * computed, by the `health` field of a `Sandbox` (sandbox/get, sandbox/list...). Its own
 * module because both `sandbox.ts` and `lifecycle-sandbox.ts` use it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Obj, Timestamp } from './core';

export const SandboxHealthState = Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')], {
  description:
    'healthy: every serving container runs and passes its probe; degraded: some service is failing, restarting or stopped ' +
    'while others are fine; unhealthy: no service is healthy.',
});
export type SandboxHealthState = Static<typeof SandboxHealthState>;

export const ServiceHealthState = Type.Union(
  [Type.Literal('healthy'), Type.Literal('starting'), Type.Literal('failing'), Type.Literal('unhealthy'), Type.Literal('stopped')],
  {
    description:
      'starting: restarted, waiting for its first good probe; failing: probes fail but fewer than the retries; ' +
      'unhealthy: failed `retries` probes in a row or the container is not running; stopped: suspended or gone.',
  },
);
export type ServiceHealthState = Static<typeof ServiceHealthState>;

export const ServiceHealth = Obj({
  service: Type.String(),
  containerId: Type.Optional(Type.String()),
  state: ServiceHealthState,
  dockerState: Type.Optional(Type.String({ description: 'The container state as Docker reports it (running, exited...).' })),
  dockerHealth: Type.Optional(Type.String({ description: "Docker's own health-check status when the image declares one." })),
  restartCount: Type.Integer({ description: 'Restarts made by the health monitor since the last deployment.' }),
  probe: Type.Optional(Type.String({ description: 'The last HTTP (or TCP) probe result.' })),
  failures: Type.Integer({ description: 'Probes failed in a row.' }),
  reason: Type.Optional(Type.String({ description: 'Why it is not healthy; after the last restart, why it is left alone.' })),
  checkedAt: Timestamp('When it was last checked.'),
});
export type ServiceHealth = Static<typeof ServiceHealth>;

export const SandboxHealth = Obj(
  {
    sandbox: Type.String(),
    state: SandboxHealthState,
    services: Type.Array(ServiceHealth),
    at: Timestamp('When this was computed.'),
  },
  "A sandbox's health and that of each service it serves.",
);
export type SandboxHealth = Static<typeof SandboxHealth>;

