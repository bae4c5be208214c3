/**
 * The Docker namespace: containers, images, networks and volumes of the engine the daemon
 * talks to, and a live feed of their changes. Every Docker object is reported in plain
 * Branchbox terms (never the engine's raw JSON), so clients do not depend on Docker API
 * versions.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Batch, Obj, Ok, SubscriptionResult, Timestamp, defineMethods, defineNotifications, engineErrors } from './core';
import { ContainerRef, ImageRef } from './docker-refs';

const Labels = Type.Record(Type.String(), Type.String(), { description: 'Docker labels, as set on the object.' });

export const ContainerState = Type.Union(
  [
    Type.Literal('created'),
    Type.Literal('running'),
    Type.Literal('paused'),
    Type.Literal('restarting'),
    Type.Literal('removing'),
    Type.Literal('exited'),
    Type.Literal('dead'),
  ],
  { description: "Docker's state of the container." },
);
export type ContainerState = Static<typeof ContainerState>;

export const HealthState = Type.Union([Type.Literal('starting'), Type.Literal('healthy'), Type.Literal('unhealthy')], {
  description: "The result of the container's own HEALTHCHECK; absent when it has none.",
});
export type HealthState = Static<typeof HealthState>;

export const PortMapping = Obj({
  container: Type.Integer({ description: 'The port inside the container.' }),
  host: Type.Optional(Type.Integer({ description: 'The published host port; absent when the port is only exposed.' })),
  hostIp: Type.Optional(Type.String({ description: 'The host address the port is bound to (e.g. 127.0.0.1).' })),
  protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('sctp')]),
});
export type PortMapping = Static<typeof PortMapping>;

export const ContainerSummary = Obj(
  {
    id: Type.String({ description: 'The full container id.' }),
    name: Type.String({ description: 'The container name, without the leading slash.' }),
    image: Type.String({ description: 'The image the container was created from, as given at creation.' }),
    state: ContainerState,
    status: Type.String({
      description: 'Human-readable status as the docker CLI prints it, e.g. "Up 5 minutes (healthy)".',
    }),
    health: Type.Optional(HealthState),
    ports: Type.Array(PortMapping),
    labels: Labels,
    created: Timestamp('When the container was created.'),
    startedAt: Type.Optional(Timestamp('When the container last started; absent if it never ran.')),
    finishedAt: Type.Optional(Timestamp('When the container last stopped; absent if it never stopped.')),
    exitCode: Type.Optional(
      Type.Integer({ description: 'The exit code of the last run; absent if it never stopped.' }),
    ),
    sandbox: Type.Optional(Type.String({ description: 'The Branchbox sandbox (label `branchbox.sandbox`).' })),
    service: Type.Optional(Type.String({ description: 'The Branchbox service (label `branchbox.service`).' })),
    composeProject: Type.Optional(
      Type.String({ description: 'The Compose project (label `com.docker.compose.project`).' }),
    ),
  },
  'One container, as listed.',
);
export type ContainerSummary = Static<typeof ContainerSummary>;

const Mount = Obj({
  type: Type.String({ description: 'bind, volume, tmpfs, ...' }),
  source: Type.String(),
  destination: Type.String(),
  name: Type.Optional(Type.String({ description: 'The volume name, for volume mounts.' })),
  readOnly: Type.Boolean(),
});

const NetworkAttachment = Obj({
  name: Type.String(),
  id: Type.String(),
  ipAddress: Type.Optional(Type.String()),
  aliases: Type.Array(Type.String()),
});

const HealthProbe = Obj({
  start: Timestamp('When the probe started.'),
  end: Timestamp('When the probe ended.'),
  exitCode: Type.Integer({ description: '0 healthy, 1 unhealthy, other values are errors of the probe itself.' }),
  output: Type.String({ description: 'What the probe printed (Docker keeps at most 4 KiB).' }),
});

export const ContainerDetails = Obj(
  {
    ...ContainerSummary.properties,
    command: Type.Array(Type.String(), { description: 'The command (Cmd).' }),
    entrypoint: Type.Array(Type.String()),
    workingDir: Type.Optional(Type.String()),
    user: Type.Optional(Type.String()),
    tty: Type.Boolean(),
    env: Type.Array(Type.String(), {
      description:
        'The environment as `KEY=value`. A value reads `***` when it is or contains a secret value of any sandbox, or ' +
        'when its key names a secret (secret, token, password, passphrase, authorization, credential, api/private/access ' +
        'key, any `*_KEY`).',
    }),
    mounts: Type.Array(Mount),
    networks: Type.Array(NetworkAttachment),
    restartCount: Type.Integer(),
    oomKilled: Type.Boolean({ description: 'Whether the last run was killed for lack of memory.' }),
    error: Type.Optional(Type.String({ description: 'Why the engine failed to run the container, when it did.' })),
    lastHealthProbe: Type.Optional(HealthProbe),
    failingStreak: Type.Optional(Type.Integer({ description: 'Consecutive failed health probes.' })),
  },
  'One container, inspected.',
);
export type ContainerDetails = Static<typeof ContainerDetails>;

export const ImageSummary = Obj({
  id: Type.String({ description: 'The image id (sha256:...).' }),
  tags: Type.Array(Type.String(), { description: 'repository:tag references; empty for a dangling image.' }),
  digests: Type.Array(Type.String()),
  created: Timestamp('When the image was built.'),
  size: Type.Integer({ description: 'Size in bytes.' }),
  labels: Labels,
  dangling: Type.Boolean({ description: 'Untagged and not used as a parent.' }),
  parentId: Type.Optional(Type.String({ description: 'The image it was committed on (a build step before), when that is on this engine.' })),
});
export type ImageSummary = Static<typeof ImageSummary>;

export const NetworkSummary = Obj({
  id: Type.String(),
  name: Type.String(),
  driver: Type.String(),
  scope: Type.String({ description: 'local, global or swarm.' }),
  internal: Type.Boolean(),
  attachable: Type.Boolean(),
  labels: Labels,
  created: Timestamp('When the network was created.'),
  sandbox: Type.Optional(Type.String({ description: 'The Branchbox sandbox (label `branchbox.sandbox`).' })),
});
export type NetworkSummary = Static<typeof NetworkSummary>;

export const VolumeSummary = Obj({
  name: Type.String(),
  driver: Type.String(),
  mountpoint: Type.String(),
  scope: Type.String(),
  labels: Labels,
  created: Type.Optional(Timestamp('When the volume was created.')),
  sandbox: Type.Optional(Type.String({ description: 'The Branchbox sandbox (label `branchbox.sandbox`).' })),
});
export type VolumeSummary = Static<typeof VolumeSummary>;

export const DockerObjectType = Type.Union(
  [Type.Literal('container'), Type.Literal('image'), Type.Literal('network'), Type.Literal('volume')],
  { description: 'The kind of Docker object an event is about.' },
);
export type DockerObjectType = Static<typeof DockerObjectType>;

export const DockerEvent = Obj(
  {
    type: DockerObjectType,
    action: Type.String({
      description:
        "Docker's action without its detail: create, start, die, stop, destroy, health_status, exec_start, pull, tag, connect, ...",
    }),
    id: Type.String({ description: 'The object id (a network or volume may be named instead).' }),
    name: Type.Optional(Type.String()),
    labels: Type.Optional(Labels),
    time: Timestamp('When the engine recorded the event.'),
    health: Type.Optional(HealthState),
    exitCode: Type.Optional(Type.Integer({ description: 'For `die`: the exit code.' })),
    container: Type.Optional(ContainerSummary),
  },
  'A change of one Docker object. Container events carry the container as it is after the change (except `destroy`).',
);
export type DockerEvent = Static<typeof DockerEvent>;

export const ResyncEvent = Obj(
  { type: Type.Literal('resync'), reason: Type.Optional(Type.String()) },
  'Events may have been missed (the engine reconnected, or the client read too slowly): refetch what you show.',
);
export type ResyncEvent = Static<typeof ResyncEvent>;

const LabelFilter = Type.Optional(
  Type.Array(Type.String({ minLength: 1 }), {
    description: 'Only objects with every one of these labels: `key` or `key=value`.',
  }),
);

/** What container/start|stop|restart|remove say about containers of another Branchbox daemon. */
const OTHER_INSTANCE =
  'Acts on any container the id or name designates, as the docker CLI does, except one managed by another Branchbox ' +
  'daemon (labels `branchbox.managed=true` and a `branchbox.instance` other than this daemon\'s, see `system/info`): ' +
  'that is refused with `Conflict`, whose message and `data.owner` name the owning instance and sandbox.';

export const dockerMethods = defineMethods({
  'container/list': {
    summary: "Lists containers with their state, health, ports and labels, from the daemon's live model.",
    description:
      "Answered from a model kept current by the engine's event stream (no call to Docker), so it is cheap to call. " +
      'Like `docker ps`, only running containers unless `all` is true.',
    errors: [...engineErrors],
    params: Obj({
      all: Type.Optional(Type.Boolean({ description: 'Include containers that are not running.' })),
      label: LabelFilter,
      state: Type.Optional(
        Type.Array(ContainerState, { description: 'Only containers in one of these states (implies all).' }),
      ),
      sandbox: Type.Optional(
        Type.String({ description: 'Only the containers of this Branchbox sandbox (implies all).' }),
      ),
    }),
    result: Obj({ containers: Type.Array(ContainerSummary, { description: 'Newest first.' }) }),
  },
  'container/inspect': {
    summary:
      'Everything about one container: configuration (secrets masked: in the environment, and as `***` wherever a ' +
      'secret value appears — labels, command, entrypoint, health probe output), mounts, networks, exit and health details.',
    errors: ['ContainerNotFound', ...engineErrors],
    params: Obj({ id: ContainerRef('The container.') }),
    result: ContainerDetails,
  },
  'container/start': {
    summary: 'Starts a container; starting a running container does nothing.',
    description: OTHER_INSTANCE,
    mutating: true,
    errors: ['ContainerNotFound', 'Conflict', ...engineErrors],
    params: Obj({ id: ContainerRef('The container.') }),
    result: Ok,
  },
  'container/stop': {
    summary:
      'Stops a container: SIGTERM, then SIGKILL after `timeout` seconds; stopping a stopped container does nothing.',
    description: OTHER_INSTANCE,
    mutating: true,
    errors: ['ContainerNotFound', 'Conflict', ...engineErrors],
    params: Obj({
      id: ContainerRef('The container.'),
      timeout: Type.Optional(
        Type.Integer({
          minimum: 0,
          description: "Seconds to wait before killing (default: the container's own, usually 10).",
        }),
      ),
    }),
    result: Ok,
  },
  'container/restart': {
    summary: 'Stops (as `container/stop`) and starts a container.',
    description: OTHER_INSTANCE,
    mutating: true,
    errors: ['ContainerNotFound', 'Conflict', ...engineErrors],
    params: Obj({
      id: ContainerRef('The container.'),
      timeout: Type.Optional(Type.Integer({ minimum: 0, description: 'Seconds to wait before killing.' })),
    }),
    result: Ok,
  },
  'container/remove': {
    summary: 'Removes a container. A running container is refused unless `force` (which kills it).',
    description: OTHER_INSTANCE,
    mutating: true,
    errors: ['ContainerNotFound', 'ContainerRunning', 'Conflict', ...engineErrors],
    params: Obj({
      id: ContainerRef('The container.'),
      force: Type.Optional(Type.Boolean({ description: 'Kill the container first if it runs.' })),
      volumes: Type.Optional(Type.Boolean({ description: 'Also remove its anonymous volumes.' })),
    }),
    result: Ok,
  },
  'image/list': {
    summary: 'Lists images.',
    errors: [...engineErrors],
    params: Obj({
      all: Type.Optional(Type.Boolean({ description: 'Include intermediate images.' })),
      label: LabelFilter,
    }),
    result: Obj({ images: Type.Array(ImageSummary) }),
  },
  'image/remove': {
    summary: 'Removes an image reference (untag) or image. Refused while a container uses it, unless `force`.',
    mutating: true,
    errors: ['ImageNotFound', 'Conflict', ...engineErrors],
    params: Obj({
      image: ImageRef('The image.'),
      force: Type.Optional(Type.Boolean()),
    }),
    result: Obj({ untagged: Type.Array(Type.String()), deleted: Type.Array(Type.String()) }),
  },
  'image/prune': {
    summary:
      'Removes dangling images, or every unused image with `all`. Branchbox base images are kept unless `includeBase`.',
    mutating: true,
    errors: [...engineErrors],
    params: Obj({
      all: Type.Optional(
        Type.Boolean({ description: 'Remove every image no container uses, not only dangling ones.' }),
      ),
      includeBase: Type.Optional(Type.Boolean({ description: 'Also remove images labelled `branchbox.base=true`.' })),
      label: LabelFilter,
    }),
    result: Obj({
      deleted: Type.Array(Type.String(), { description: 'Ids and references removed.' }),
      spaceReclaimed: Type.Integer({ description: 'Bytes freed.' }),
    }),
  },
  'image/load': {
    summary: "Loads images from a `docker save` tarball on the daemon's disk (for machines without a registry).",
    mutating: true,
    errors: ['FileNotFound', ...engineErrors],
    params: Obj({ path: Type.String({ minLength: 1, description: 'Absolute path of the tarball.' }) }),
    result: Obj({
      images: Type.Array(Type.String(), { description: 'The references (or ids, for untagged images) loaded.' }),
    }),
  },
  'network/list': {
    summary: 'Lists networks.',
    errors: [...engineErrors],
    params: Obj({ label: LabelFilter }),
    result: Obj({ networks: Type.Array(NetworkSummary) }),
  },
  'volume/list': {
    summary: 'Lists volumes.',
    errors: [...engineErrors],
    params: Obj({ label: LabelFilter }),
    result: Obj({ volumes: Type.Array(VolumeSummary) }),
  },
  'events/subscribe': {
    summary: 'Streams changes of containers, images, networks and volumes as they happen.',
    description:
      'Items arrive in `events/event` batches. The subscription survives the engine going away: after it reconnects ' +
      '(or if the client read too slowly and events were dropped) an item `{type: "resync"}` tells the client to refetch.',
    notification: 'events/event',
    params: Obj({
      types: Type.Optional(Type.Array(DockerObjectType, { description: 'Only these kinds (default: all four).' })),
    }),
    result: SubscriptionResult,
  },
});

export const dockerNotifications = defineNotifications({
  'events/event': {
    summary: 'Docker events for an `events/subscribe` subscription.',
    direction: 'toClient',
    params: Batch(Type.Union([DockerEvent, ResyncEvent]), 'Events, oldest first.'),
  },
});
