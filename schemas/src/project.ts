/**
 * The project file `branchbox.yaml`: its schema as the user writes it (`ProjectFile`, also
 * written to `schemas/branchbox.schema.json` for editors) and the normalized project the
 * daemon answers `project/load` with (`Project`: durations in ms, sizes in bytes, commands as
 * argument arrays, routes longest prefix first).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Obj } from './core';
import { DURATION_PATTERN } from './durations';

export { DURATION_PATTERN };

/** DNS label rules shared by sandbox, service, template and snapshot names. */
export const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$';
export const NAME_RULE = 'lowercase a-z, 0-9 and "-", 1 to 40 characters, not starting or ending with "-"';
export const ENV_KEY_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?([bB]|[kKmMgGtT]([iI]?[bB])?)?$';

/**
 * A map keyed by names that follow `pattern`; `x-key-rule` says the rule in words for error
 * messages (JSON Schema validators ignore unknown `x-` keywords).
 */
const NamedMap = <T extends TSchema>(pattern: string, rule: string, value: T, description: string) =>
  Type.Record(Type.String({ pattern }), value, { additionalProperties: false, description, 'x-key-rule': rule });

export const Duration = Type.String({
  pattern: DURATION_PATTERN,
  description: 'A duration: a whole number and a unit, ms, s, m, h, d or w (e.g. 5s, 2m, 3d).',
  'x-message': 'must be a duration such as 5s, 2m or 3d (units ms, s, m, h, d, w)',
});
/** What a sandbox's TTL counts idle time from (`ttl.from`; `ttlFrom` in a template). */
export const TtlBasis = Type.Union(
  [Type.Literal('activity'), Type.Literal('created'), Type.Literal('deploy'), Type.Literal('request')],
  {
    description:
      'What the idle time counts from. activity (default): the latest of creation, last deployment and last gateway ' +
      'request; created: creation only (a fixed lifetime); deploy: the last deployment (creation before the first); ' +
      'request: the last request through its gateways (before the first, the latest of creation and last deployment). ' +
      'In every basis a resume starts the idle time afresh, sandbox/extend adds to the deadline, and a deployment in ' +
      'progress holds the expiry.',
    'x-message': 'must be activity, created, deploy or request',
  },
);
export type TtlBasis = Static<typeof TtlBasis>;
const Url = Type.String({
  pattern: '^https?://',
  description: 'An http or https URL.',
  'x-message': 'must be an http:// or https:// URL',
});
export const Size = Type.Union([Type.String({ pattern: SIZE_PATTERN }), Type.Integer({ minimum: 0 })], {
  description:
    'A size in bytes, or a number with a binary unit as Docker reads it: b, k, m, g, t (e.g. 256m, 1g, 1.5GiB).',
  'x-message': 'must be a size such as 256m or 1g, or a number of bytes',
});
const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
  'x-message': 'must be a string, number or boolean',
});
const EnvMap = NamedMap(
  ENV_KEY_PATTERN,
  'environment keys are letters, digits and "_", not starting with a digit',
  Scalar,
  'Environment variables.',
);
const Argv = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String(), { minItems: 1 })], {
  description:
    'A command: a string split into arguments like a shell would (quotes group, no expansion, no pipes), or the arguments as a list.',
  'x-message': 'must be a command string or a list of arguments',
});

const ResourcesFile = Obj(
  {
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'CPUs the container may use, e.g. 0.5.' })),
    memory: Type.Optional(Size),
  },
  'Resource limits of each container.',
);

/** Linux capability names (without `CAP_`), as `security.capAdd` may name them. */
export const LINUX_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/** The default pids limit of a container (see SecurityFile). */
export const DEFAULT_PIDS_LIMIT = 512;

const SecurityFile = Obj(
  {
    capAdd: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^([Cc][Aa][Pp]_)?[A-Za-z_]+$',
          'x-message': 'must be a Linux capability name such as NET_BIND_SERVICE or CAP_CHOWN',
        }),
        { uniqueItems: true, maxItems: 64, description: 'Capabilities given back to the container (all are dropped), e.g. [CHOWN, SETUID].' },
      ),
    ),
    noNewPrivileges: Type.Optional(
      Type.Boolean({ description: 'Keep processes from gaining privileges (setuid binaries, file capabilities); default true.' }),
    ),
    pidsLimit: Type.Optional(
      Type.Integer({ minimum: 16, maximum: 32768, description: `The most processes and threads the container may run (default ${DEFAULT_PIDS_LIMIT}).` }),
    ),
    user: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$',
        description: "The user (and group) the container runs as, name or id, e.g. 1000:1000 (default: the image's USER).",
        'x-message': 'must be a user name or id, optionally with :group',
      }),
    ),
    privileged: Type.Optional(
      Type.Boolean({ description: 'Only false is accepted: Branchbox never runs privileged containers (give capabilities in capAdd).' }),
    ),
  },
  `How the container is confined. Defaults: every capability dropped, no-new-privileges, a pids limit of ${DEFAULT_PIDS_LIMIT}, the image's user.`,
);

const BuildFile = Type.Union(
  [
    Obj(
      {
        dockerfile: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Path of the Dockerfile, relative to the context (default Dockerfile).',
          }),
        ),
        args: Type.Optional(NamedMap('^.+$', 'build argument names are not empty', Scalar, 'Build arguments.')),
        target: Type.Optional(Type.String({ minLength: 1, description: 'The stage of a multi-stage Dockerfile to build.' })),
      },
      'Build the context with a Dockerfile.',
    ),
    Obj(
      { image: Type.String({ minLength: 1, description: 'An image already on the engine, e.g. local/app:1.' }) },
      'Run an existing image.',
    ),
    Obj(
      {
        command: Argv,
        runtime: Type.String({
          minLength: 1,
          description: 'The image the service runs in (never pulled): `cmd` runs in it with the context, as the build command left it, mounted read-only at /src.',
        }),
        cmd: Type.Optional(Argv),
      },
      'Run a build command on this computer (once you trusted it) in the exported context, then run `cmd` in the runtime image.',
    ),
  ],
  {
    description: 'How the service is built: { dockerfile, args } or { image } or { command, runtime, cmd }.',
    'x-message': 'must be one of { dockerfile, args }, { image } or { command, runtime, cmd }',
  },
);

const HealthFile = Obj(
  {
    path: Type.String({
      pattern: '^/',
      description: 'HTTP path probed on the container port; healthy on 2xx/3xx.',
      'x-message': 'must be a path starting with "/"',
    }),
    interval: Type.Optional(Duration),
    timeout: Type.Optional(Duration),
    retries: Type.Optional(Type.Integer({ minimum: 1 })),
    startPeriod: Type.Optional(Duration),
  },
  'The HTTP health check (defaults: interval 5s, timeout 2s, retries 3, startPeriod 0s).',
);

/** The actions of a watch rule, in compose `develop.watch` words (daemon/src/watch/ runs them). */
export const WatchAction = Type.Union([Type.Literal('sync'), Type.Literal('sync+restart'), Type.Literal('rebuild')], {
  description:
    'sync: copy the changed files into the running container (deleted ones deleted); sync+restart: the same, then restart ' +
    'the container and wait until it is healthy; rebuild: deploy the service again from the working tree.',
  'x-message': 'must be sync, sync+restart or rebuild',
});
export type WatchAction = Static<typeof WatchAction>;

/** The most watch rules one service may have. */
export const MAX_WATCH_RULES = 64;

const WatchRuleFile = Obj(
  {
    action: WatchAction,
    path: Type.String({
      minLength: 1,
      description: 'The file or folder watched, relative to this file (the repository root) and inside the repository.',
    }),
    target: Type.Optional(
      Type.String({
        pattern: '^/',
        description: 'sync and sync+restart (required): where `path` is in the container, an absolute path.',
        'x-message': 'must be an absolute path in the container',
      }),
    ),
    ignore: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        maxItems: 256,
        description: 'Patterns (.dockerignore syntax) relative to `path`: changes of the files they match are not acted on.',
      }),
    ),
  },
  'A watch rule: what happens in the sandbox when files under `path` change (compose develop.watch).',
);

export const ServiceFile = Obj(
  {
    context: Type.Optional(
      Type.String({ minLength: 1, description: 'The build context inside the repository (default ".").' }),
    ),
    build: Type.Optional(BuildFile),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      description: 'The port the service listens on inside the container.',
    }),
    health: Type.Optional(HealthFile),
    env: Type.Optional(EnvMap),
    resources: Type.Optional(ResourcesFile),
    security: Type.Optional(SecurityFile),
    watch: Type.Optional(
      Type.Array(WatchRuleFile, {
        maxItems: MAX_WATCH_RULES,
        description: 'What watch mode (`branchbox dev`) does when files change, rule by rule (compose develop.watch).',
      }),
    ),
  },
  'A service of the project.',
);

const RouteFile = Type.Union([Type.Literal('sandbox'), Type.Literal('baseline'), Url, Obj({ url: Url })], {
  description: 'sandbox, baseline, or a URL (http/https).',
  'x-message': 'must be sandbox, baseline or an http(s) URL',
});

const TemplateServiceFile = Type.Union(
  [
    Type.String({ minLength: 1, description: 'The branch to deploy.' }),
    Obj({
      branch: Type.Optional(Type.String({ minLength: 1 })),
      commit: Type.Optional(
        Type.String({ pattern: '^[0-9a-f]{7,40}$', 'x-message': 'must be a commit id: 7 to 40 lowercase hex digits' }),
      ),
    }),
  ],
  { 'x-message': 'must be a branch name or { branch, commit }' },
);

export const TemplateFile = Obj(
  {
    services: Type.Optional(
      NamedMap(
        NAME_PATTERN,
        `service names are ${NAME_RULE}`,
        TemplateServiceFile,
        'The services the sandbox runs, and from which branch; all others go to baseline.',
      ),
    ),
    env: Type.Optional(EnvMap),
    routes: Type.Optional(
      NamedMap(NAME_PATTERN, `service names are ${NAME_RULE}`, RouteFile, 'Where each service is routed.'),
    ),
    ttl: Type.Optional(Duration),
    ttlFrom: Type.Optional(TtlBasis),
    resources: Type.Optional(ResourcesFile),
  },
  'A reusable sandbox spec.',
);

export const ProjectFile = Type.Object(
  {
    version: Type.Literal(1, { description: 'The version of this file format.' }),
    project: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
      description: 'The project name.',
      'x-message': 'must be a name of letters, digits, ".", "_" and "-"',
    }),
    baseline: Type.Optional(
      NamedMap(
        NAME_PATTERN,
        `service names are ${NAME_RULE}`,
        Url,
        'Where each service goes when the sandbox does not run it (a URL).',
      ),
    ),
    services: NamedMap(
      NAME_PATTERN,
      `service names are ${NAME_RULE}`,
      ServiceFile,
      'The services Branchbox can build and run.',
    ),
    routes: Type.Optional(
      NamedMap(
        '^/',
        'route prefixes start with "/"',
        Type.String({ pattern: NAME_PATTERN, 'x-message': 'must be a service name' }),
        'Gateway path prefix -> service.',
      ),
    ),
    templates: Type.Optional(
      NamedMap(NAME_PATTERN, `template names are ${NAME_RULE}`, TemplateFile, 'Reusable sandbox specs.'),
    ),
  },
  {
    additionalProperties: false,
    title: 'branchbox.yaml',
    description: 'A Branchbox project: how to build and run its services in sandboxes, and where the rest goes.',
  },
);
export type ProjectFile = Static<typeof ProjectFile>;

/** The compose project's name rule, as `docker compose` sanitizes a folder name. */
const ProjectName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  description: 'The project name.',
  'x-message': 'must be a name of letters, digits, ".", "_" and "-"',
});

/**
 * What a compose service has no word for: whether it is served over HTTP (routed through the
 * gateway), on which container port, and how its health is probed (an HTTP path or a command
 * run in the container). In `branchbox.yaml` next to `compose:`, or under `x-branchbox` in a
 * compose file (branchbox.yaml wins).
 */
export const ComposeServiceExtras = Obj(
  {
    http: Type.Optional(Type.Boolean({ description: 'Served over HTTP through the gateway (default: true when a route leads to it or health.path is set, else false).' })),
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: 'The container port of the gateway and the probes (default: the first published container port, else the first exposed one).',
      }),
    ),
    health: Type.Optional(
      Obj(
        {
          path: Type.Optional(
            Type.String({ pattern: '^/', description: 'HTTP path probed on the port; healthy on 2xx/3xx.', 'x-message': 'must be a path starting with "/"' }),
          ),
          command: Type.Optional(Argv),
          interval: Type.Optional(Duration),
          timeout: Type.Optional(Duration),
          retries: Type.Optional(Type.Integer({ minimum: 1 })),
          startPeriod: Type.Optional(Duration),
        },
        'The probe Branchbox runs: an HTTP path, or a command run in the container (healthy when it exits 0).',
      ),
    ),
    security: Type.Optional(SecurityFile),
  },
  'What Branchbox adds to a compose service.',
);

const composeExtrasFields = {
  project: Type.Optional(ProjectName),
  baseline: Type.Optional(
    NamedMap(NAME_PATTERN, `service names are ${NAME_RULE}`, Url, 'Where each service goes when the sandbox does not run it (a URL).'),
  ),
  services: Type.Optional(
    NamedMap(NAME_PATTERN, `service names are ${NAME_RULE}`, ComposeServiceExtras, 'What Branchbox adds to the compose services.'),
  ),
  routes: Type.Optional(
    NamedMap(
      '^/',
      'route prefixes start with "/"',
      Type.String({ pattern: NAME_PATTERN, 'x-message': 'must be a service name' }),
      'Gateway path prefix -> service.',
    ),
  ),
  templates: Type.Optional(
    NamedMap(NAME_PATTERN, `template names are ${NAME_RULE}`, TemplateFile, 'Reusable sandbox specs.'),
  ),
};

/** The `x-branchbox` key of a compose file. */
export const ComposeExtrasFile = Obj(composeExtrasFields, 'What Branchbox adds to this compose project (x-branchbox).');
export type ComposeExtrasFile = Static<typeof ComposeExtrasFile>;

/** `branchbox.yaml` naming compose files: it carries only what Compose has no word for. */
export const ComposeProjectFile = Type.Object(
  {
    version: Type.Literal(1, { description: 'The version of this file format.' }),
    compose: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      maxItems: 16,
      description: 'The compose files, relative to this file, merged in order as `docker compose -f a -f b` does.',
    }),
    ...composeExtrasFields,
  },
  {
    additionalProperties: false,
    description: 'A Branchbox project over compose files: the services are theirs, this file adds routes, baseline, templates and per-service extras.',
  },
);
export type ComposeProjectFile = Static<typeof ComposeProjectFile>;

// ---------------------------------------------------------------------------------------------
// The normalized project, as `project/load` answers it.

export const Resources = Obj(
  {
    nanoCpus: Type.Optional(
      Type.Integer({ minimum: 1, description: 'CPU quota in units of 1e-9 CPUs (0.5 CPU = 500000000).' }),
    ),
    memoryBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Memory limit in bytes.' })),
  },
  'Resource limits of each container.',
);
export type Resources = Static<typeof Resources>;

export const ServiceSecurity = Obj(
  {
    capAdd: Type.Optional(Type.Array(Type.String(), { description: 'Capabilities given back, upper case without CAP_.' })),
    noNewPrivileges: Type.Optional(Type.Boolean()),
    pidsLimit: Type.Optional(Type.Integer()),
    user: Type.Optional(Type.String()),
  },
  "What the service's branchbox.yaml changes of the container defaults (every capability dropped, no-new-privileges, pids limit, the image's user).",
);
export type ServiceSecurity = Static<typeof ServiceSecurity>;

export const ServiceBuild = Type.Union([
  Obj({
    kind: Type.Literal('dockerfile'),
    dockerfile: Type.String({ description: 'Relative to the context.' }),
    args: Type.Record(Type.String(), Type.String()),
    target: Type.Optional(Type.String({ description: 'The stage of a multi-stage Dockerfile to build (compose build.target).' })),
  }),
  Obj({ kind: Type.Literal('image'), image: Type.String() }),
  Obj({
    kind: Type.Literal('command'),
    command: Type.Array(Type.String(), { description: 'The build command as arguments (never run through a shell).' }),
    runtime: Type.String(),
    cmd: Type.Array(Type.String()),
  }),
]);
export type ServiceBuild = Static<typeof ServiceBuild>;

/** A container port the service publishes: each gets its own allocated loopback port in each sandbox. */
export const PortMapping = Obj({
  container: Type.Integer({ minimum: 1, maximum: 65535 }),
  protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  published: Type.Optional(
    Type.Integer({ description: 'The host port the compose file asked for; never bound as such (sandboxes would collide): shown beside the allocated one.' }),
  ),
});
export type PortMapping = Static<typeof PortMapping>;

/** A mount of the service's containers. */
export const VolumeMount = Obj({
  type: Type.Union([Type.Literal('volume'), Type.Literal('bind'), Type.Literal('tmpfs')]),
  source: Type.Optional(
    Type.String({
      description:
        'volume: the key under the project\'s `volumes` (the Docker volume is per sandbox, docker-names.ts volumeName; absent: an anonymous volume); ' +
        'bind: a path relative to the repository root, inside it (the deployed commit\'s export is what is mounted).',
    }),
  ),
  target: Type.String({ description: 'Absolute path in the container.' }),
  readOnly: Type.Boolean(),
});
export type VolumeMount = Static<typeof VolumeMount>;

export const DependencyCondition = Type.Union([
  Type.Literal('service_started'),
  Type.Literal('service_healthy'),
  Type.Literal('service_completed_successfully'),
]);
export type DependencyCondition = Static<typeof DependencyCondition>;

/** The container's Docker HEALTHCHECK, as the engine takes it. */
export const DockerHealthcheck = Obj({
  test: Type.Array(Type.String(), { description: '["CMD", ...argv] or ["CMD-SHELL", "command"]; ["NONE"] disables the image\'s.' }),
  intervalMs: Type.Optional(Type.Integer()),
  timeoutMs: Type.Optional(Type.Integer()),
  retries: Type.Optional(Type.Integer()),
  startPeriodMs: Type.Optional(Type.Integer()),
});
export type DockerHealthcheck = Static<typeof DockerHealthcheck>;

export const RestartPolicy = Obj({
  name: Type.Union([Type.Literal('no'), Type.Literal('always'), Type.Literal('on-failure'), Type.Literal('unless-stopped')]),
  maximumRetryCount: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type RestartPolicy = Static<typeof RestartPolicy>;

export const WatchRule = Obj(
  {
    action: WatchAction,
    path: Type.String({ description: 'The file or folder watched, relative to the repository root (`.` for all of it).' }),
    target: Type.Optional(Type.String({ description: 'sync, sync+restart: where `path` is in the container (absolute).' })),
    ignore: Type.Array(Type.String(), { description: 'Patterns (.dockerignore syntax) relative to `path` whose changes are not acted on.' }),
  },
  'A watch rule as the daemon runs it.',
);
export type WatchRule = Static<typeof WatchRule>;

export const ServiceConfig = Obj({
  name: Type.String(),
  context: Type.String({ description: 'Relative to the repository root.' }),
  build: ServiceBuild,
  port: Type.Optional(
    Type.Integer({
      description:
        'The container port the gateway and the HTTP/TCP probes use (branchbox.yaml: always; compose: the x-branchbox port, else the first published or exposed one; absent: the service listens on nothing, e.g. a job).',
    }),
  ),
  http: Type.Boolean({ description: 'Served over HTTP and routed through the gateway (every branchbox.yaml service; compose services x-branchbox names or routes).' }),
  health: Type.Optional(
    Obj({
      path: Type.Optional(Type.String({ description: 'HTTP path probed on `port`; absent with `command`.' })),
      command: Type.Optional(Type.Array(Type.String(), { description: 'A command probe run in the container through exec: healthy when it exits 0.' })),
      intervalMs: Type.Integer(),
      timeoutMs: Type.Integer(),
      retries: Type.Integer(),
      startPeriodMs: Type.Integer(),
    }),
  ),
  env: Type.Record(Type.String(), Type.String()),
  resources: Resources,
  security: Type.Optional(ServiceSecurity),
  // ---- what compose files add (absent for branchbox.yaml services) ----
  ports: Type.Optional(Type.Array(PortMapping, { description: 'Published ports (compose `ports`), each remapped to an allocated loopback port.' })),
  expose: Type.Optional(Type.Array(Type.Integer(), { description: 'Ports reachable on the sandbox network only.' })),
  command: Type.Optional(Type.Array(Type.String(), { description: "Replaces the image's CMD." })),
  entrypoint: Type.Optional(Type.Array(Type.String(), { description: "Replaces the image's ENTRYPOINT ([] clears it)." })),
  workingDir: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "The user's labels (never branchbox.*)." })),
  restart: Type.Optional(RestartPolicy),
  volumes: Type.Optional(Type.Array(VolumeMount)),
  tmpfs: Type.Optional(Type.Array(Type.String(), { description: 'Paths mounted as tmpfs ("path[:options]").' })),
  dependsOn: Type.Optional(
    Type.Record(Type.String(), Obj({ condition: DependencyCondition, required: Type.Boolean(), restart: Type.Boolean() }), {
      description: 'Services started first, and what each must reach before this one starts.',
    }),
  ),
  healthcheck: Type.Optional(DockerHealthcheck),
  profiles: Type.Optional(Type.Array(Type.String(), { description: 'Deployed only when one of these profiles is chosen.' })),
  watch: Type.Optional(Type.Array(WatchRule, { description: 'The watch rules (branchbox.yaml `watch:`, compose `develop.watch`).' })),
  job: Type.Optional(
    Type.Boolean({ description: 'Runs to completion (a service others wait on with service_completed_successfully): exit 0 is success, not a crash.' }),
  ),
});
export type ServiceConfig = Static<typeof ServiceConfig>;

export const RouteKind = Type.Union([Type.Literal('sandbox'), Type.Literal('baseline'), Type.Literal('url')], {
  description: "sandbox: the sandbox's container; baseline: the project's baseline URL; url: any URL.",
});
export type RouteKind = Static<typeof RouteKind>;

export const TemplateSpec = Obj(
  {
    services: Type.Record(
      Type.String(),
      Obj({
        branch: Type.Optional(Type.String({ minLength: 1 })),
        commit: Type.Optional(Type.String({ pattern: '^[0-9a-f]{7,40}$' })),
      }),
      { description: 'The services the sandbox runs and from which branch (or commit); the rest go to baseline.' },
    ),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: ENV_KEY_PATTERN }), Type.String(), {
        description: 'Sandbox-level variables (not secrets).',
      }),
    ),
    routes: Type.Optional(
      Type.Record(Type.String(), Obj({ kind: RouteKind, url: Type.Optional(Type.String({ pattern: '^https?://' })) }), {
        description: 'Where each service is routed, when not the default.',
      }),
    ),
    ttl: Type.Optional(
      Type.String({ pattern: DURATION_PATTERN, description: 'Expire the sandbox after this long without activity.' }),
    ),
    ttlFrom: Type.Optional(TtlBasis),
    resources: Type.Optional(Resources),
  },
  'A reusable sandbox spec.',
);
export type TemplateSpec = Static<typeof TemplateSpec>;

const ConfigProblemShape = Obj({
  file: Type.String(),
  line: Type.Integer({ description: '1-based.' }),
  column: Type.Integer({ description: '1-based.' }),
  field: Type.String({ description: 'Dotted path of the field, e.g. services.account.port; empty for the document.' }),
  message: Type.String(),
});

export const Project = Obj(
  {
    name: Type.String(),
    file: Type.String({ description: 'Absolute path of branchbox.yaml (of the first compose file when there is no branchbox.yaml).' }),
    root: Type.String({ description: 'Absolute path of the repository root.' }),
    baseline: Type.Record(Type.String(), Type.String(), { description: 'Service -> baseline URL.' }),
    services: Type.Record(Type.String(), ServiceConfig),
    routes: Type.Array(Obj({ prefix: Type.String(), service: Type.String() }), {
      description: 'Longest prefix first.',
    }),
    templates: Type.Record(Type.String(), TemplateSpec),
    source: Type.Optional(
      Obj({
        kind: Type.Union([Type.Literal('branchbox'), Type.Literal('compose')]),
        files: Type.Array(Type.String(), { description: 'Absolute paths of the files read, in merge order (compose files, then branchbox.yaml if any).' }),
      }),
    ),
    volumes: Type.Optional(
      Type.Record(Type.String(), Obj({ labels: Type.Optional(Type.Record(Type.String(), Type.String())) }), {
        description: 'Named volumes (compose `volumes`): one Docker volume per sandbox each.',
      }),
    ),
    profiles: Type.Optional(Type.Array(Type.String(), { description: 'Every profile a service names.' })),
    warnings: Type.Optional(
      Type.Array(ConfigProblemShape, {
        description: 'What the compose files ask that Branchbox ignores (each key it does not support and does not refuse), at file:line.',
      }),
    ),
  },
  'A validated, normalized project (branchbox.yaml, or compose files with what x-branchbox adds).',
);
export type Project = Static<typeof Project>;

/** One problem of a project file, as listed in ConfigInvalid's `data.errors`. */
export const ConfigProblem = ConfigProblemShape;
export type ConfigProblem = Static<typeof ConfigProblem>;

/**
 * The JSON Schema document of branchbox.yaml, as written to `schemas/branchbox.schema.json`
 * (for VS Code's `yamlValidation`/`jsonValidation` and any editor with a YAML language server).
 */
export function buildProjectFileSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'branchbox.yaml',
    description: 'A Branchbox project: its own services, or compose files (`compose:`) with what Compose has no word for.',
    if: { type: 'object', required: ['compose'] },
    then: JSON.parse(JSON.stringify(ComposeProjectFile)) as Record<string, unknown>,
    else: JSON.parse(JSON.stringify(ProjectFile)) as Record<string, unknown>,
  };
}
