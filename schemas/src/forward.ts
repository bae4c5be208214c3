/**
 * Forwards: one stable local address per service port that follows the project's current
 * sandbox. A forward `{project, service, containerPort, localPort}` listens on
 * 127.0.0.1:<localPort>; each new connection is piped to the loopback port allocated to
 * `containerPort` of the container serving `service` in the project's current sandbox
 * (`forward/use`). Switching sandboxes leaves connections in flight on their upstream; new ones
 * go to the new sandbox. A connection with nowhere to go (no current sandbox, the service not
 * running there, the port not published) is closed at once and the reason kept in `lastError`.
 *
 * Projects are named as sandboxes carry them (`Sandbox.project`: `project:` of branchbox.yaml,
 * or the compose project name). Forwards and current sandboxes are kept in the state database
 * and listen again when the daemon starts. Deleting the current sandbox unsets it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Batch, Obj, SubscriptionResult, Timestamp, defineMethods, defineNotifications } from './core';

const ProjectName = Type.String({ minLength: 1, maxLength: 200, description: 'The project, as sandboxes name it (`Sandbox.project`).' });
const ServiceName = Type.String({ minLength: 1, maxLength: 200, description: 'A service of the project.' });
const PortNumber = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });

export const ForwardTarget = Obj(
  {
    sandbox: Type.String(),
    containerId: Type.String({ description: 'The serving container new connections reach.' }),
    hostPort: Type.Integer({ description: 'Its allocated loopback port for `containerPort`: connections are piped to 127.0.0.1:<hostPort>.' }),
  },
  'Where a new connection goes now.',
);
export type ForwardTarget = Static<typeof ForwardTarget>;

export const ForwardView = Obj(
  {
    project: Type.String(),
    service: Type.String(),
    containerPort: Type.Integer(),
    localPort: Type.Integer(),
    address: Type.String({ description: '127.0.0.1:<localPort>' }),
    listening: Type.Boolean({ description: 'Whether the local port is bound (false: `listenError` says why).' }),
    listenError: Type.Optional(Type.String({ description: 'Why the local port could not be bound (e.g. taken by another process since the daemon started).' })),
    sandbox: Type.Optional(Type.String({ description: "The project's current sandbox; absent when none is set." })),
    target: Type.Optional(ForwardTarget),
    reason: Type.Optional(Type.String({ description: 'When there is no target: why new connections are refused.' })),
    connections: Obj({
      open: Type.Integer({ description: 'Connections piped now.' }),
      total: Type.Integer({ description: 'Connections piped since the daemon started.' }),
      refused: Type.Integer({ description: 'Connections closed at once since the daemon started (nowhere to go, upstream refused).' }),
    }),
    lastError: Type.Optional(
      Obj({ at: Timestamp('When it happened.'), message: Type.String({ description: 'Why the last refused or failed connection was.' }) }),
    ),
  },
  'A forward, its target now and its connections.',
);
export type ForwardView = Static<typeof ForwardView>;

export const ForwardProject = Obj(
  {
    project: Type.String(),
    sandbox: Type.Optional(Type.String({ description: 'The current sandbox of the project; absent when none is set.' })),
    forwards: Type.Array(ForwardView, { description: 'By service, then container port.' }),
  },
  "A project's current sandbox and forwards.",
);
export type ForwardProject = Static<typeof ForwardProject>;

export const ForwardEvent = Obj(
  {
    project: Type.String(),
    state: ForwardProject,
  },
  "A project's forwards changed (added, removed, switched, or its current sandbox was deleted): how they are now.",
);
export type ForwardEvent = Static<typeof ForwardEvent>;

export const forwardMethods = defineMethods({
  'forward/list': {
    summary: 'Every project with forwards or a current sandbox: each forward, where new connections go now, its connections and last error.',
    params: Obj({ project: Type.Optional(ProjectName) }),
    result: Obj({ projects: Type.Array(ForwardProject, { description: 'By project name.' }) }),
  },
  'forward/add': {
    summary: 'Forwards 127.0.0.1:<localPort> to a service port of the current sandbox of the project.',
    description:
      'Without `containerPort`: the service\'s first published port (compose `ports`), else its `port`, read from the project file of ' +
      'a sandbox of the project. Without `localPort`: the published port (else the container port) + 10000, e.g. 5432 → 15432. ' +
      'PortInUse when the local port is bound by another process or another forward (`data.port`; a forward holding it is named). ' +
      'Adding a forward that exists but does not listen (its port was taken when the daemon started) listens again. InvalidParams when the forward exists already, or the defaults cannot be worked out (no sandbox of the project has a readable project file).',
    mutating: true,
    errors: ['PortInUse', 'ConfigInvalid', 'FileNotFound'],
    params: Obj({
      project: ProjectName,
      service: ServiceName,
      containerPort: Type.Optional(PortNumber('The port inside the container.')),
      localPort: Type.Optional(PortNumber('The port on 127.0.0.1 (default: published or container port + 10000).')),
    }),
    result: ForwardView,
  },
  'forward/remove': {
    summary: 'Removes a forward: its local port closes and the connections through it end.',
    description: 'Without `containerPort`, the service must have exactly one forward. InvalidParams names what exists when nothing matches.',
    mutating: true,
    params: Obj({ project: ProjectName, service: ServiceName, containerPort: Type.Optional(PortNumber('The port inside the container.')) }),
    result: Obj({ removed: ForwardView }),
  },
  'forward/use': {
    summary: "Makes a sandbox the project's current one: every forward of the project sends new connections there.",
    description:
      'Connections in flight keep their upstream. `sandbox: null` unsets it (new connections are refused). Without `project`, ' +
      "the sandbox's project. SandboxNotFound for an unknown sandbox; InvalidParams when the sandbox belongs to another project " +
      'or has none and no `project` is given.',
    mutating: true,
    errors: ['SandboxNotFound'],
    params: Obj({
      project: Type.Optional(ProjectName),
      sandbox: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], { description: 'The sandbox, or null to unset.' }),
    }),
    result: ForwardProject,
  },
  'forward/subscribe': {
    summary: "Streams each change of a project's forwards or current sandbox (whoever caused it) as the project's new state.",
    notification: 'forward/event',
    params: Obj({}),
    result: SubscriptionResult,
  },
});

export const forwardNotifications = defineNotifications({
  'forward/event': {
    summary: 'Forward changes for a `forward/subscribe` subscription.',
    direction: 'toClient',
    params: Batch(ForwardEvent, 'Changes, oldest first.'),
  },
});
