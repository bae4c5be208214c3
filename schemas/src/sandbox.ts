/**
 * Projects, sandboxes, their environments, templates, snapshots and the audit trail.
 *
 * A sandbox is a named, isolated set of deployed services: Docker network `sandbox-{name}`,
 * the container serving a service `sandbox-{name}_{service}` (see ./docker-names.ts),
 * everything labelled `branchbox.sandbox=<name>`.
 * Secrets set with `env/set {secret: true}` are stored encrypted and every answer shows them
 * as `***`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Batch, Obj, Ok, SubscriptionResult, Timestamp, defineMethods, defineNotifications, engineErrors } from './core';
import { SandboxHealth } from './health';
import { DURATION_PATTERN, ENV_KEY_PATTERN, NAME_RULE, Project, Resources, RouteKind, TemplateSpec, TtlBasis } from './project';

/** Names are checked by the daemon (InvalidName with the rule), not by the params schema, so the error says what is wrong. */
const Name = (what: string) =>
  Type.String({ minLength: 1, maxLength: 200, description: `The ${what} name (${NAME_RULE}).` });
const Duration = Type.String({ pattern: DURATION_PATTERN, description: 'e.g. 30m, 8h, 3d.' });

export const SandboxState = Type.Union(
  [Type.Literal('active'), Type.Literal('suspended'), Type.Literal('expired'), Type.Literal('deleting')],
  { description: 'deleting: a delete began and has not finished; calling sandbox/delete again finishes it.' },
);
export type SandboxState = Static<typeof SandboxState>;

export const TtlPolicy = Obj(
  {
    idle: Duration,
    retain: Type.Optional(
      Type.String({ pattern: DURATION_PATTERN, description: 'Delete this long after expiring (default: keep).' }),
    ),
    from: Type.Optional(TtlBasis),
  },
  'Expire the sandbox `idle` after its latest activity of the kind `from` names; delete it `retain` after it expired.',
);
export type TtlPolicy = Static<typeof TtlPolicy>;

export const WorkingTreeMarker = Obj(
  {
    changedFiles: Type.Integer({
      minimum: 0,
      description:
        'How many files of the service\'s build context (the whole repository when it is the root) differ from `commit` in the ' +
        'working tree it runs: tracked files modified, added or deleted, and untracked files git does not ignore.',
    }),
    since: Timestamp('When the service began running uncommitted changes on top of `commit` (a watch\'s first sync, or the switch-over of a deployment with includeUncommitted).'),
    updatedAt: Timestamp('When `changedFiles` was last measured (after each sync of a watch).'),
  },
  'The service runs its `commit` plus changes of the working tree (synced by a watch, or deployed with includeUncommitted); ' +
    'absent when it runs the commit as it is. A deployment of a commit without uncommitted changes clears it.',
);
export type WorkingTreeMarker = Static<typeof WorkingTreeMarker>;

export const SandboxServiceView = Obj({
  service: Type.String(),
  route: RouteKind,
  routeUrl: Type.Optional(
    Type.String({ description: 'For route `url` (and `baseline`, the baseline URL when known).' }),
  ),
  branch: Type.Optional(Type.String()),
  commit: Type.Optional(Type.String()),
  containerId: Type.Optional(Type.String()),
  hostPort: Type.Optional(Type.Integer()),
  deploymentId: Type.Optional(Type.String({ description: 'The deployment serving now.' })),
  url: Type.Optional(Type.String({ description: 'http://127.0.0.1:<hostPort>, where the service answers directly.' })),
  ports: Type.Optional(
    Type.Array(
      Obj({
        container: Type.Integer(),
        protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
        hostPort: Type.Integer({ description: 'The allocated loopback port: 127.0.0.1:<hostPort> reaches the container port.' }),
        published: Type.Optional(Type.Integer({ description: 'The host port the compose file asked for.' })),
      }),
      { description: 'Every published port of the serving container and where it is reachable on this machine.' },
    ),
  ),
  job: Type.Optional(Type.Boolean({ description: 'A one-shot job (ran to completion).' })),
  workingTree: Type.Optional(WorkingTreeMarker),
});
export type SandboxServiceView = Static<typeof SandboxServiceView>;

export const PortLease = Obj({
  port: Type.Integer(),
  service: Type.Optional(Type.String()),
  purpose: Type.Union([Type.Literal('service'), Type.Literal('gateway')]),
  deploymentId: Type.Optional(Type.String()),
  allocatedAt: Timestamp('When the port was handed out.'),
});
export type PortLease = Static<typeof PortLease>;

export const SandboxFollow = Obj(
  {
    since: Timestamp('When follow was turned on.'),
    lastCheckAt: Type.Optional(Timestamp('When the heads of its branches were last compared with what it serves.')),
    lastRedeploy: Type.Optional(
      Obj(
        {
          commit: Type.String({ description: 'The head deployed.' }),
          branch: Type.String(),
          at: Timestamp('When the redeploy started.'),
          deployments: Type.Array(Type.String(), { description: 'The deployments it started (requestedBy `branchboxd (follow)`).' }),
        },
        'The last redeploy follow started.',
      ),
    ),
    lastError: Type.Optional(
      Obj(
        {
          at: Timestamp('When it happened.'),
          message: Type.String({ description: 'Why, in one line (e.g. a redeploy that failed: that commit is not tried again until the branch moves).' }),
          branch: Type.Optional(Type.String()),
          commit: Type.Optional(Type.String()),
        },
        'The last redeploy that failed or could not start; cleared by the next one that ends running.',
      ),
    ),
  },
  'Present when the sandbox follows its branches (`sandbox/follow`): each service deployed from a branch is redeployed when that branch\'s head moves.',
);
export type SandboxFollow = Static<typeof SandboxFollow>;

export const Sandbox = Obj(
  {
    name: Type.String(),
    state: SandboxState,
    owner: Type.String(),
    project: Type.Optional(Type.String()),
    repoPath: Type.Optional(Type.String()),
    template: Type.Optional(Type.String({ description: 'The template it was created from.' })),
    createdAt: Timestamp('When it was created.'),
    updatedAt: Timestamp('When it last changed.'),
    lastDeployAt: Type.Optional(Timestamp('When a deployment last switched over in it.')),
    ttl: Type.Optional(TtlPolicy),
    resources: Type.Optional(Resources),
    network: Type.String({ description: 'The Docker network, sandbox-{name}.' }),
    services: Type.Array(SandboxServiceView),
    ports: Type.Array(PortLease),
    follow: Type.Optional(SandboxFollow),
    health: Type.Optional(
      Obj(
        SandboxHealth.properties,
        'Its health as the health monitor last computed it (the item `sandbox/watchHealth` pushes). Present only ' +
          'for an active sandbox once the monitor has checked a container serving in it: absent while suspended, ' +
          'expired or deleting (nothing runs on purpose), with no service deployed, and for a moment after a create ' +
          'or resume, until the first check.',
      ),
    ),
  },
  'A sandbox, with what serves in it, the ports it holds and its health.',
);
export type Sandbox = Static<typeof Sandbox>;

export const DeployOutcome = Obj(
  {
    service: Type.String(),
    deploymentId: Type.Optional(Type.String()),
    branch: Type.Optional(Type.String()),
    commit: Type.Optional(Type.String()),
    status: Type.String({
      description:
        'The deployment status (running, failed, cancelled...), `started` when not waited for, `skipped` when it could not start.',
    }),
    diagnosis: Type.Optional(Type.String({ description: 'Why it failed or was skipped, in one line.' })),
  },
  'A deployment a sandbox request started.',
);
export type DeployOutcome = Static<typeof DeployOutcome>;

const SandboxWithDeploys = Obj({
  sandbox: Sandbox,
  deployments: Type.Array(DeployOutcome, {
    description: 'One per service deployed; a failure here leaves the sandbox in place.',
  }),
});

const Wait = Type.Optional(
  Type.Boolean({
    description:
      'Wait until the deployments are final before answering (default true); false answers once they started.',
  }),
);

export const SandboxEvent = Obj(
  {
    kind: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('deleted')]),
    name: Type.String(),
    sandbox: Type.Optional(Sandbox),
  },
  'A sandbox changed; `sandbox` is how it is now (absent for deleted).',
);
export type SandboxEvent = Static<typeof SandboxEvent>;

export const EnvEntry = Obj({
  sandbox: Type.String(),
  service: Type.Optional(Type.String({ description: 'Absent for a sandbox-level entry (applies to every service).' })),
  key: Type.String(),
  value: Type.String({ description: 'The value; `***` for a secret.' }),
  secret: Type.Boolean(),
  updatedAt: Timestamp('When it was last set.'),
});
export type EnvEntry = Static<typeof EnvEntry>;

const EnvTarget = {
  sandbox: Type.String({ minLength: 1 }),
  service: Type.Optional(Type.String({ minLength: 1, description: 'Omit for the sandbox level (every service).' })),
};
const EnvKey = Type.String({ minLength: 1, maxLength: 256, description: `An environment key (${ENV_KEY_PATTERN}).` });

export const Template = Obj({
  name: Type.String(),
  source: Type.Union([Type.Literal('project'), Type.Literal('saved')], {
    description: 'project: from branchbox.yaml (read-only); saved: stored in the daemon.',
  }),
  project: Type.Optional(Type.String()),
  spec: TemplateSpec,
  createdAt: Type.Optional(Timestamp('For saved templates.')),
  updatedAt: Type.Optional(Timestamp('For saved templates.')),
});
export type Template = Static<typeof Template>;

export const SnapshotSummary = Obj({
  name: Type.String(),
  sandbox: Type.String({ description: 'The sandbox it was taken of.' }),
  project: Type.Optional(Type.String()),
  createdAt: Timestamp('When it was taken.'),
  services: Type.Array(
    Obj({
      service: Type.String(),
      route: RouteKind,
      routeUrl: Type.Optional(Type.String()),
      branch: Type.Optional(Type.String()),
      commit: Type.Optional(Type.String()),
    }),
  ),
  envKeys: Type.Integer({ description: 'How many environment entries it holds.' }),
  volumes: Type.Array(
    Obj({
      name: Type.String({ description: 'The project volume (a compose `volumes` key).' }),
      bytes: Type.Integer({ description: 'The size of its data as stored (a tar under the state directory).' }),
    }),
    { description: 'The named volumes whose data it holds, by name; empty when the sandbox had none.' },
  ),
});
export type SnapshotSummary = Static<typeof SnapshotSummary>;

export const AuditRecord = Obj({
  id: Type.Integer(),
  at: Timestamp('When the request answered.'),
  client: Type.Optional(Type.String({ description: 'The client name given at initialize.' })),
  osUser: Type.Optional(Type.String()),
  method: Type.String(),
  target: Type.Optional(Type.String({ description: 'What it acted on, e.g. `sandbox=qa1`.' })),
  outcome: Type.String({ description: '`ok`, or `error <Name>: <message>` (secrets masked).' }),
  detail: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        'What changed, by method: ref, commit and deployments of a deploy; kind and URL of a route; TTL, resources or ' +
        'owner of a sandbox update; `by` of an extend; the key (never the value) of an environment change; counts of a ' +
        'delete or prune; ... Secrets masked.',
    }),
  ),
});
export type AuditRecord = Static<typeof AuditRecord>;

const sandboxErrors = ['SandboxNotFound'] as const;

export const sandboxMethods = defineMethods({
  'project/load': {
    summary: 'Reads and validates branchbox.yaml; answers the normalized project.',
    description: 'ConfigInvalid lists every problem as `{file, line, column, field, message}` in `data.errors`.',
    errors: ['ConfigInvalid', 'FileNotFound'],
    params: Obj({
      path: Type.String({ minLength: 1, description: 'The repository root, or the path of the yaml file itself.' }),
    }),
    result: Project,
  },
  'sandbox/list': {
    summary: 'Lists every sandbox with its services and ports.',
    params: Obj({}),
    result: Obj({ sandboxes: Type.Array(Sandbox, { description: 'By name.' }) }),
  },
  'sandbox/get': {
    summary: 'One sandbox with its services and ports.',
    errors: [...sandboxErrors],
    params: Obj({ name: Type.String({ minLength: 1 }) }),
    result: Sandbox,
  },
  'sandbox/create': {
    summary: 'Creates a sandbox and its Docker network; from a template, also deploys the branches it names.',
    description:
      'The name is a DNS label (InvalidName otherwise) and must be free (NameTaken). With `repoPath` the project is read ' +
      'from its branchbox.yaml; `fromTemplate` is looked up there first, then among saved templates. Deployment failures ' +
      'are reported in `deployments`; the sandbox stays. With `fromSnapshot`, the sandbox\'s named volumes are created ' +
      "filled with that snapshot's volume data before anything is deployed (only the data: not its services, environment " +
      'or settings); a volume the snapshot has no data for starts empty. If seeding fails, the sandbox is not created.',
    mutating: true,
    errors: ['InvalidName', 'NameTaken', 'TemplateNotFound', 'SnapshotNotFound', 'ConfigInvalid', 'FileNotFound', ...engineErrors],
    params: Obj({
      name: Name('sandbox'),
      repoPath: Type.Optional(
        Type.String({ minLength: 1, description: 'The repository whose services the sandbox runs.' }),
      ),
      fromTemplate: Type.Optional(Type.String({ minLength: 1 })),
      ttl: Type.Optional(TtlPolicy),
      resources: Type.Optional(Resources),
      owner: Type.Optional(Type.String({ minLength: 1, description: 'Default: the OS user of the client.' })),
      fromSnapshot: Type.Optional(
        Type.String({ minLength: 1, description: "A snapshot whose volume data seeds the new sandbox's volumes." }),
      ),
      wait: Wait,
    }),
    result: SandboxWithDeploys,
  },
  'sandbox/volumes': {
    summary: "Lists a sandbox's named volumes: what sandbox/delete removes with their data, what clone and snapshot carry.",
    errors: [...sandboxErrors, ...engineErrors],
    params: Obj({ name: Type.String({ minLength: 1 }) }),
    result: Obj({
      volumes: Type.Array(
        Obj({
          name: Type.String({ description: 'The project volume (a compose `volumes` key).' }),
          dockerName: Type.String({ description: 'The Docker volume: `sandbox-{sandbox}_{name}`.' }),
        }),
        { description: 'By name.' },
      ),
    }),
  },
  'sandbox/update': {
    summary: "Changes a sandbox's TTL policy, resource limits or owner (null clears ttl or resources).",
    mutating: true,
    errors: [...sandboxErrors, 'Conflict'],
    params: Obj({
      name: Type.String({ minLength: 1 }),
      ttl: Type.Optional(Type.Union([TtlPolicy, Type.Null()])),
      resources: Type.Optional(Type.Union([Resources, Type.Null()])),
      owner: Type.Optional(Type.String({ minLength: 1 })),
    }),
    result: Sandbox,
  },
  'sandbox/delete': {
    summary:
      'Deletes a sandbox: cancels its deployments, removes its containers, network and named volumes (their data is gone), releases its ports.',
    description:
      'The sandbox is `deleting` until everything is gone; if a step fails, calling again finishes the job. Afterwards no ' +
      'Docker object labelled `branchbox.sandbox=<name>` remains: its named volumes (sandbox/volumes lists them; a ' +
      'confirmation should name them, e.g. "deletes 2 volumes: pgdata, cache") are removed with their data. Snapshots ' +
      'of it, their volume data included, are kept.',
    mutating: true,
    errors: [...sandboxErrors, ...engineErrors],
    params: Obj({ name: Type.String({ minLength: 1 }) }),
    result: Obj({
      containers: Type.Integer({ description: 'Containers removed.' }),
      networks: Type.Integer({ description: 'Networks removed.' }),
      ports: Type.Integer({ description: 'Ports released.' }),
      volumes: Type.Array(Type.String(), { description: 'The named volumes removed, by name.' }),
    }),
  },
  'sandbox/clone': {
    summary: 'Copies a sandbox into a new one: the same branches and commits, environment and routes, on new ports.',
    description:
      "Each named volume's data is copied into the new sandbox's volume of the same name before anything is deployed; " +
      "the source's running containers that mount a volume are paused during its copy and unpaused afterwards. If a " +
      'copy fails, the new sandbox is not created.',
    mutating: true,
    errors: [...sandboxErrors, 'InvalidName', 'NameTaken', ...engineErrors],
    params: Obj({ name: Type.String({ minLength: 1 }), newName: Name('new sandbox'), wait: Wait }),
    result: SandboxWithDeploys,
  },
  'sandbox/snapshot': {
    summary: "Freezes a sandbox's exact commits, environment, routes and named volumes' data under a name.",
    description:
      "Each named volume's data is stored as a tar under the state directory (`snapshots/<snapshot>/<volume>.tar`, " +
      'sizes in `volumes`); the running containers that mount a volume are paused while it is read. If a capture ' +
      'fails, no snapshot is saved.',
    mutating: true,
    errors: [...sandboxErrors, 'InvalidName', 'NameTaken', ...engineErrors],
    params: Obj({ name: Type.String({ minLength: 1 }), snapshot: Name('snapshot') }),
    result: SnapshotSummary,
  },
  'sandbox/restore': {
    summary: 'Recreates a snapshot: into its own sandbox (redeploying its commits) or into a new one.',
    description:
      "`into` defaults to the sandbox the snapshot was taken of. An existing sandbox gets the snapshot's environment and " +
      'routes and its commits redeployed; a missing one is created first. Named volumes are made afresh with the ' +
      "snapshot's data before anything is deployed (an existing sandbox's volumes the snapshot has no data for are made " +
      'empty); this is refused (`Conflict`, naming them) while a container of the sandbox, in any state, mounts one of ' +
      'them: delete the sandbox first, or restore into a new one.',
    mutating: true,
    errors: ['SnapshotNotFound', 'InvalidName', 'Conflict', ...engineErrors],
    params: Obj({ snapshot: Type.String({ minLength: 1 }), into: Type.Optional(Name('target sandbox')), wait: Wait }),
    result: SandboxWithDeploys,
  },
  'sandbox/subscribe': {
    summary: 'Streams sandbox changes (created, updated, deleted) as they happen, whoever caused them.',
    notification: 'sandbox/event',
    params: Obj({}),
    result: SubscriptionResult,
  },
  'snapshot/list': {
    summary: 'Lists snapshots, newest first.',
    params: Obj({
      sandbox: Type.Optional(Type.String({ minLength: 1, description: 'Only snapshots of this sandbox.' })),
    }),
    result: Obj({ snapshots: Type.Array(SnapshotSummary) }),
  },
  'snapshot/delete': {
    summary: 'Deletes a snapshot and its stored volume data.',
    mutating: true,
    errors: ['SnapshotNotFound'],
    params: Obj({ name: Type.String({ minLength: 1 }) }),
    result: Ok,
  },
  'env/list': {
    summary: 'Lists the environment of a sandbox (secrets masked): every entry, or those of one service.',
    errors: [...sandboxErrors],
    params: Obj(EnvTarget),
    result: Obj({
      entries: Type.Array(EnvEntry, { description: 'Sandbox-level entries first, then by service and key.' }),
    }),
  },
  'env/get': {
    summary: 'One environment entry (a secret masked), or null when it is not set.',
    errors: [...sandboxErrors, 'InvalidName'],
    params: Obj({ ...EnvTarget, key: EnvKey }),
    result: Type.Union([EnvEntry, Type.Null()]),
  },
  'env/set': {
    summary: 'Sets a variable or a secret of a sandbox or of one of its services; used by the next deployment.',
    description:
      'A secret is stored encrypted (AES-256-GCM) and never answered, logged or audited in clear; its value is masked ' +
      'as `***` in everything that leaves the daemon (container logs, exec output, inspect, errors, the daemon log), ' +
      'whichever sandbox\'s container prints it. A secret shorter than 6 characters is not masked inside output (it ' +
      'would mask ordinary text): the answer then carries a `warning`.',
    mutating: true,
    errors: [...sandboxErrors, 'InvalidName'],
    params: Obj({
      ...EnvTarget,
      key: EnvKey,
      value: Type.String({ maxLength: 65536 }),
      secret: Type.Optional(Type.Boolean({ description: 'Store encrypted and mask everywhere (default false).' })),
    }),
    result: Obj(
      {
        ...EnvEntry.properties,
        warning: Type.Optional(
          Type.String({ description: 'Set for a secret too short to be masked inside output; says why.' }),
        ),
      },
      'The entry as set (a secret masked).',
    ),
  },
  'env/delete': {
    summary: 'Removes an environment entry; removing one that is not set does nothing.',
    mutating: true,
    errors: [...sandboxErrors, 'InvalidName'],
    params: Obj({ ...EnvTarget, key: EnvKey }),
    result: Obj({ deleted: Type.Boolean() }),
  },
  'template/list': {
    summary: "Lists saved templates and, with `repoPath`, the project's own.",
    errors: ['ConfigInvalid', 'FileNotFound'],
    params: Obj({ repoPath: Type.Optional(Type.String({ minLength: 1 })) }),
    result: Obj({ templates: Type.Array(Template) }),
  },
  'template/get': {
    summary: "One template: the project's (with `repoPath`) or a saved one.",
    errors: ['TemplateNotFound', 'ConfigInvalid', 'FileNotFound'],
    params: Obj({ name: Type.String({ minLength: 1 }), repoPath: Type.Optional(Type.String({ minLength: 1 })) }),
    result: Template,
  },
  'template/save': {
    summary: 'Saves a template in the daemon (replacing a saved one of the same name).',
    mutating: true,
    errors: ['InvalidName'],
    params: Obj({ name: Name('template'), spec: TemplateSpec }),
    result: Template,
  },
  'template/delete': {
    summary: 'Deletes a saved template.',
    mutating: true,
    errors: ['TemplateNotFound'],
    params: Obj({ name: Type.String({ minLength: 1 }) }),
    result: Ok,
  },
  'audit/list': {
    summary: 'The audit trail of state-changing requests, newest first, filtered.',
    params: Obj({
      method: Type.Optional(
        Type.String({ minLength: 1, description: 'A method, or a namespace ending in "/" (e.g. "sandbox/").' }),
      ),
      target: Type.Optional(
        Type.String({
          minLength: 1,
          description: '`key=value` (e.g. `sandbox=qa1`) or a bare value matching any key (e.g. `qa1`).',
        }),
      ),
      client: Type.Optional(Type.String({ minLength: 1 })),
      since: Type.Optional(Timestamp('Only entries at or after this time.')),
      until: Type.Optional(Timestamp('Only entries before this time.')),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'Default 200.' })),
    }),
    result: Obj({ entries: Type.Array(AuditRecord) }),
  },
});

export const sandboxNotifications = defineNotifications({
  'sandbox/event': {
    summary: 'Sandbox changes for a `sandbox/subscribe` subscription.',
    direction: 'toClient',
    params: Batch(SandboxEvent, 'Changes, oldest first.'),
  },
});
