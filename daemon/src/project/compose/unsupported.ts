/**
 * Every compose key Branchbox does not support, and what it does about it: `refuse` (a
 * ConfigProblem: running without it would change what the service does, or weaken its
 * confinement) or `warn` (a warning of `Project.warnings`: the service runs the same for
 * development without it). Nothing is silently ignored: a key here is reported at its
 * file:line and removed before schema validation; any other key the compose-spec schema does
 * not know is reported by the schema. docs/compose.md quotes these tables.
 */

export interface KeyVerdict {
  readonly verdict: 'refuse' | 'warn';
  readonly why: string;
}

const refuse = (why: string): KeyVerdict => ({ verdict: 'refuse', why });
const warn = (why: string): KeyVerdict => ({ verdict: 'warn', why });

const SHARED = 'would share state between sandboxes, which Branchbox keeps apart';
const CONFINEMENT = 'would weaken the confinement every sandbox container runs under';

export const TOP_LEVEL_KEYS: Readonly<Record<string, KeyVerdict>> = {
  version: warn('is obsolete and ignored, as docker compose ignores it'),
  secrets: refuse('is not supported: give secrets as sandbox secrets (branchbox env set --secret)'),
  configs: refuse('is not supported: put the file in the repository and mount it with a bind mount'),
  include: refuse('is not supported: name the files in branchbox.yaml `compose:` instead'),
  models: refuse('is not supported'),
};

export const SERVICE_KEYS: Readonly<Record<string, KeyVerdict>> = {
  // semantics or security: refused
  privileged: refuse(`${CONFINEMENT}: give the capabilities the service needs in x-branchbox services.<name>.security.capAdd`),
  cap_add: refuse('is not read from compose: give capabilities in x-branchbox services.<name>.security.capAdd (every one is dropped by default)'),
  security_opt: refuse(CONFINEMENT),
  network_mode: refuse('is not supported: every service runs on its sandbox network'),
  pid: refuse(CONFINEMENT),
  ipc: refuse(CONFINEMENT),
  uts: refuse(CONFINEMENT),
  userns_mode: refuse(CONFINEMENT),
  cgroup: refuse(CONFINEMENT),
  cgroup_parent: refuse(CONFINEMENT),
  devices: refuse(CONFINEMENT),
  device_cgroup_rules: refuse(CONFINEMENT),
  gpus: refuse('is not supported'),
  group_add: refuse(CONFINEMENT),
  sysctls: refuse(CONFINEMENT),
  runtime: refuse(CONFINEMENT),
  isolation: refuse('is not supported'),
  credential_spec: refuse('is not supported'),
  storage_opt: refuse('is not supported'),
  oom_kill_disable: refuse('is not supported: a sandbox must not hold memory the host needs'),
  use_api_socket: refuse(`${CONFINEMENT}: a container never gets the Docker socket`),
  container_name: refuse('is not supported: two sandboxes of the project would collide; Branchbox names each container'),
  secrets: refuse('is not supported: give secrets as sandbox secrets (branchbox env set --secret)'),
  configs: refuse('is not supported: put the file in the repository and mount it with a bind mount'),
  extends: refuse('is not supported: merge files with branchbox.yaml `compose: [a.yaml, b.yaml]` instead'),
  volumes_from: refuse(SHARED),
  links: refuse('is not supported: services reach each other by service name on the sandbox network'),
  external_links: refuse(SHARED),
  extra_hosts: refuse('is not supported: services reach each other by service name; other hosts by their real names'),
  scale: refuse('is not supported: each service runs one container per sandbox'),
  post_start: refuse('is not supported: the service would start without its hooks'),
  pre_stop: refuse('is not supported: the service would stop without its hooks'),
  provider: refuse('is not supported'),
  models: refuse('is not supported'),
  label_file: refuse('is not supported: give the labels under labels:'),
  // the service runs the same for development: warned and ignored
  cap_drop: warn('is ignored: every capability is already dropped'),
  hostname: warn('is ignored: the container is reached by its service name'),
  domainname: warn('is ignored'),
  dns: warn('is ignored: the sandbox network resolves names'),
  dns_opt: warn('is ignored: the sandbox network resolves names'),
  dns_search: warn('is ignored: the sandbox network resolves names'),
  mac_address: warn('is ignored'),
  init: warn('is ignored'),
  tty: warn('is ignored: logs are read without a terminal'),
  stdin_open: warn('is ignored'),
  stop_signal: warn('is ignored: containers stop with the default signal'),
  stop_grace_period: warn('is ignored: containers stop with the default grace period'),
  logging: warn("is ignored: Branchbox reads every container's logs itself"),
  platform: warn("is ignored: images are built and run for the engine's platform"),
  pull_policy: warn('is ignored: Branchbox never pulls (images must be on the engine or built)'),
  read_only: warn('is ignored'),
  shm_size: warn('is ignored'),
  ulimits: warn('is ignored'),
  oom_score_adj: warn('is ignored'),
  mem_reservation: warn('is ignored: only limits are applied (deploy.resources.limits, mem_limit)'),
  mem_swappiness: warn('is ignored'),
  memswap_limit: warn('is ignored'),
  cpu_count: warn('is ignored: use cpus or deploy.resources.limits.cpus'),
  cpu_percent: warn('is ignored: use cpus or deploy.resources.limits.cpus'),
  cpu_shares: warn('is ignored: use cpus or deploy.resources.limits.cpus'),
  cpu_quota: warn('is ignored: use cpus or deploy.resources.limits.cpus'),
  cpu_period: warn('is ignored: use cpus or deploy.resources.limits.cpus'),
  cpu_rt_period: warn('is ignored'),
  cpu_rt_runtime: warn('is ignored'),
  cpuset: warn('is ignored'),
  blkio_config: warn('is ignored'),
  annotations: warn('is ignored'),
  attach: warn('is ignored: every service\'s logs are kept'),
  env_from: warn('is ignored'),
};

export const BUILD_KEYS: Readonly<Record<string, KeyVerdict>> = {
  network: refuse('is not supported: builds run on the default build network'),
  privileged: refuse(CONFINEMENT),
  entitlements: refuse(CONFINEMENT),
  secrets: refuse('is not supported'),
  ssh: refuse('is not supported: a build never gets the host\'s SSH agent'),
  additional_contexts: refuse('is not supported'),
  dockerfile_inline: refuse('is not supported: put the Dockerfile in the repository'),
  labels: warn('is ignored: Branchbox labels the images it builds'),
  cache_from: warn('is ignored'),
  cache_to: warn('is ignored'),
  extra_hosts: warn('is ignored'),
  isolation: warn('is ignored'),
  shm_size: warn('is ignored'),
  platforms: warn("is ignored: images are built for the engine's platform"),
  tags: warn('is ignored: Branchbox tags the images it builds'),
  no_cache: warn('is ignored'),
  pull: warn('is ignored: Branchbox never pulls'),
  ulimits: warn('is ignored'),
};

export const DEPLOY_KEYS: Readonly<Record<string, KeyVerdict>> = {
  mode: warn('is ignored: each service runs one container per sandbox'),
  replicas: warn('is ignored: each service runs one container per sandbox'),
  endpoint_mode: warn('is ignored'),
  labels: warn('is ignored: use the service labels'),
  placement: warn('is ignored'),
  rollback_config: warn('is ignored'),
  update_config: warn('is ignored'),
  restart_policy: warn('is ignored: use restart'),
};

export const RESOURCE_KEYS: Readonly<Record<string, KeyVerdict>> = {
  reservations: warn('is ignored: only limits are applied'),
};

export const LIMIT_KEYS: Readonly<Record<string, KeyVerdict>> = {
  pids: warn('is ignored: give the limit with pids_limit'),
  devices: refuse(CONFINEMENT),
};

export const VOLUME_KEYS: Readonly<Record<string, KeyVerdict>> = {
  external: refuse(SHARED),
  driver: refuse('is not supported: each sandbox gets a local volume of its own'),
  driver_opts: refuse('is not supported: each sandbox gets a local volume of its own'),
  name: warn('is ignored: each sandbox has its own volume, named after the sandbox and the key'),
};

/** Where each table applies in a compose document (`*` any key). */
export const KEY_TABLES: readonly { readonly at: readonly string[]; readonly table: Readonly<Record<string, KeyVerdict>> }[] = [
  { at: [], table: TOP_LEVEL_KEYS },
  { at: ['services', '*'], table: SERVICE_KEYS },
  { at: ['services', '*', 'build'], table: BUILD_KEYS },
  { at: ['services', '*', 'deploy'], table: DEPLOY_KEYS },
  { at: ['services', '*', 'deploy', 'resources'], table: RESOURCE_KEYS },
  { at: ['services', '*', 'deploy', 'resources', 'limits'], table: LIMIT_KEYS },
  { at: ['volumes', '*'], table: VOLUME_KEYS },
];

export interface KeyReport {
  readonly path: readonly string[];
  readonly message: string;
  readonly verdict: 'refuse' | 'warn';
}

type Data = Record<string, unknown>;
const mapOf = (value: unknown): Data | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Data) : undefined;

/**
 * Reports every unsupported key of `data` (a document after interpolation) and removes it,
 * so that the schema validates what remains. Mutates `data`.
 */
export function sweepUnsupported(data: Data): KeyReport[] {
  const reports: KeyReport[] = [];
  for (const { at, table } of KEY_TABLES) {
    for (const [where, map] of mapsAt(data, at, [])) {
      for (const key of Object.keys(map)) {
        const entry = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
        if (!entry) continue;
        reports.push({ path: [...where, key], message: `${key} ${entry.why}`, verdict: entry.verdict });
        delete map[key];
      }
    }
  }
  return reports;
}

function mapsAt(value: unknown, at: readonly string[], where: string[]): [string[], Data][] {
  const map = mapOf(value);
  if (!map) return [];
  if (at.length === 0) return [[where, map]];
  const [head, ...rest] = at;
  if (head === '*') return Object.entries(map).flatMap(([k, v]) => mapsAt(v, rest, [...where, k]));
  return mapsAt(map[head!], rest, [...where, head!]);
}
