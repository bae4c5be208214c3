/**
 * `branchbox sandbox ls|get|create|delete|volumes|suspend|resume|clone|snapshot|restore`: sandboxes, each a
 * named, isolated set of deployed services with its named volumes.
 */
import { succeededStatus } from '../../../../schemas/src/deploy-status';
import type { Result } from '../../../../schemas/src/index';
import { plainLine } from '../../../../schemas/src/plain-text';
import { defineCommand } from '../command';
import { ExitCode, UsageError } from '../errors';
import { ago, bytes } from '../format';
import type { Output } from '../output';
import { followText } from './follow';
import { projectRoot } from './git';

type Sandbox = Result<'sandbox/get'>;
type WithDeploys = Result<'sandbox/create'>;
type TtlBasis = NonNullable<NonNullable<Sandbox['ttl']>['from']>;

const TTL_BASES: Record<TtlBasis, string> = {
  activity: 'activity',
  created: 'creation',
  deploy: 'the last deployment',
  request: 'the last gateway request',
};

function ttlText(ttl: NonNullable<Sandbox['ttl']>): string {
  const from = ttl.from && ttl.from !== 'activity' ? ` from ${TTL_BASES[ttl.from]}` : '';
  return `idle ${ttl.idle}${from}${ttl.retain ? `, delete ${ttl.retain} after expiry` : ''}`;
}

/** The sandbox's health in one word, coloured; '' when the monitor has no verdict (not active, nothing deployed). */
export function healthState(out: Output, health: Sandbox['health']): string {
  if (!health) return '';
  return health.state === 'healthy' ? out.style.green(health.state) : health.state === 'degraded' ? out.style.yellow(health.state) : out.style.red(health.state);
}

export function sandboxState(out: Output, state: Sandbox['state']): string {
  return state === 'active' ? out.style.green(state) : state === 'deleting' || state === 'expired' ? out.style.red(state) : out.style.yellow(state);
}

function printSandbox(out: Output, s: Sandbox): void {
  out.fields([
    ['name', out.style.bold(s.name)],
    ['state', sandboxState(out, s.state)],
    ['owner', s.owner],
    ['project', s.project],
    ['repository', s.repoPath],
    ['template', s.template],
    ['network', s.network],
    ['health', s.health ? `${healthState(out, s.health)} (checked ${ago(s.health.at)})` : undefined],
    ['ttl', s.ttl ? ttlText(s.ttl) : undefined],
    ['follow', s.follow ? followText(s.follow) : undefined],
    ['created', `${s.createdAt} (${ago(s.createdAt)})`],
    ['last deploy', s.lastDeployAt ? `${s.lastDeployAt} (${ago(s.lastDeployAt)})` : undefined],
  ]);
  if (s.services.length) {
    const health = new Map(s.health?.services.map((h) => [h.service, h]));
    out.line();
    out.table(s.services, [
      { header: 'SERVICE', value: (v) => v.service },
      { header: 'ROUTE', value: (v) => (v.route === 'url' || (v.route === 'baseline' && v.routeUrl) ? `${v.route} ${v.routeUrl ?? ''}`.trim() : v.route) },
      { header: 'BRANCH', value: (v) => servedSource(v) },
      { header: 'URL', value: (v) => v.url ?? '' },
      // Every published port and where it is reachable here (compose services publish several, or non-HTTP ones).
      ...(s.services.some((v) => v.ports?.length)
        ? [{ header: 'PORTS', value: (v: Sandbox['services'][number]) => (v.ports ?? []).map((p) => `${p.container}${p.protocol === 'udp' ? '/udp' : ''}→127.0.0.1:${p.hostPort}`).join(' ') }]
        : []),
      ...(s.health ? [{ header: 'HEALTH', value: (v: Sandbox['services'][number]) => serviceHealth(out, health.get(v.service)) }] : []),
    ]);
  }
}

/** What a service runs: "feature/x@abc1234", and "+ 3 changed files" when it runs working-tree changes on top (synced by a watch, or deployed with them). */
export function servedSource(v: Pick<Sandbox['services'][number], 'branch' | 'commit' | 'workingTree'>): string {
  const commit = v.branch ? `${v.branch}${v.commit ? `@${v.commit.slice(0, 7)}` : ''}` : (v.commit?.slice(0, 7) ?? '');
  const n = v.workingTree?.changedFiles;
  return n ? `${commit} + ${n} changed file${n === 1 ? '' : 's'}` : commit;
}

function serviceHealth(out: Output, h: NonNullable<Sandbox['health']>['services'][number] | undefined): string {
  if (!h) return '';
  const state = h.state === 'healthy' ? out.style.green(h.state) : h.state === 'unhealthy' ? out.style.red(h.state) : out.style.yellow(h.state);
  return h.reason ? `${state} ${out.style.dim(h.reason)}` : state;
}

function printWithDeploys(out: Output, r: WithDeploys, headline: string): void {
  out.line(out.style.green(headline));
  printSandbox(out, r.sandbox);
  if (r.deployments.length) {
    out.line();
    out.table(r.deployments, [
      { header: 'SERVICE', value: (d) => d.service },
      { header: 'STATUS', value: (d) => (outcomeOk(d.status) ? out.style.green(d.status) : out.style.red(d.status)) },
      { header: 'COMMIT', value: (d) => d.commit?.slice(0, 7) ?? '' },
      { header: 'DIAGNOSIS', value: (d) => plainLine(d.diagnosis ?? '') },
    ]);
  }
}

/** A deployment a request started (`started`, not waited for) or waited for and that ended well (running, or a job completed). */
const outcomeOk = (status: string): boolean => status === 'started' || succeededStatus(status);

/** Exit code of a request that deployed: 4 when a deployment it waited for did not end well. */
function deployExit(r: WithDeploys): ExitCode {
  return r.deployments.some((d) => !outcomeOk(d.status)) ? ExitCode.DeployFailed : ExitCode.Ok;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "2 volumes: pgdata, cache", "0 volumes". */
const volumesText = (names: readonly string[]): string =>
  `${plural(names.length, 'volume')}${names.length ? `: ${names.join(', ')}` : ''}`;

const waitOption = { 'no-wait': { type: 'boolean', help: 'answer once deployments started, without waiting for them' } } as const;

export const sandboxCommands = [
  defineCommand({
    words: ['sandbox', 'ls'],
    summary: 'List sandboxes with their state and services.',
    methods: ['sandbox/list'],
    async run(ctx) {
      const result = await ctx.call('sandbox/list');
      ctx.out.result(result, ({ sandboxes }) => {
        if (!sandboxes.length) return ctx.out.line(ctx.out.style.dim('no sandboxes'));
        ctx.out.table(sandboxes, [
          { header: 'NAME', value: (s) => s.name },
          { header: 'STATE', value: (s) => sandboxState(ctx.out, s.state) },
          { header: 'HEALTH', value: (s) => healthState(ctx.out, s.health) },
          { header: 'FOLLOW', value: (s) => (s.follow ? 'yes' : '') },
          { header: 'OWNER', value: (s) => s.owner },
          { header: 'PROJECT', value: (s) => s.project ?? '' },
          { header: 'SERVICES', value: (s) => s.services.map((v) => `${v.service}:${v.route}`).join(' ') },
          { header: 'CREATED', value: (s) => ago(s.createdAt) },
        ]);
      });
    },
  }),
  defineCommand({
    words: ['sandbox', 'get'],
    summary: 'One sandbox: state, health, owner, TTL, and each service with its route, branch, URL and health.',
    args: ['NAME'],
    methods: ['sandbox/get'],
    async run(ctx, { positionals }) {
      ctx.out.result(await ctx.call('sandbox/get', { name: positionals[0]! }), (s) => printSandbox(ctx.out, s));
    },
  }),
  defineCommand({
    words: ['sandbox', 'create'],
    summary: 'Create a sandbox (and its Docker network); from a template, also deploy the branches it names.',
    description:
      'The project is the repository of the current directory (or --repo). Exit code 4 when a deployment the template ' +
      'asked for did not end running (the sandbox stays).',
    args: ['NAME'],
    options: {
      repo: { type: 'string', value: 'PATH', help: 'the repository (default: the one of the current directory, if it has a branchbox.yaml)' },
      template: { type: 'string', value: 'T', help: 'create from template T (branchbox.yaml first, then saved templates)' },
      ttl: { type: 'string', value: 'DURATION', help: 'expire after this long without activity (e.g. 8h, 3d)' },
      retain: { type: 'string', value: 'DURATION', help: 'with --ttl: delete this long after expiring' },
      'ttl-from': {
        type: 'string',
        value: 'BASIS',
        help: 'with --ttl: what idle time counts from: activity (default; the latest of creation, deploys, gateway requests), created, deploy or request',
      },
      owner: { type: 'string', value: 'WHO', help: 'owner (default: your OS user)' },
      'from-snapshot': { type: 'string', value: 'SNAPSHOT', help: "seed the sandbox's named volumes with the data of SNAPSHOT (only the data)" },
      ...waitOption,
    },
    methods: ['sandbox/create'],
    async run(ctx, { values, positionals }) {
      if (values.retain !== undefined && values.ttl === undefined) throw new UsageError('--retain needs --ttl');
      const from = values['ttl-from'];
      if (from !== undefined && values.ttl === undefined) throw new UsageError('--ttl-from needs --ttl');
      if (from !== undefined && !(from in TTL_BASES)) throw new UsageError(`--ttl-from: "${from}" is not activity, created, deploy or request`);
      const repoPath = values.repo ?? (await projectRoot(ctx.cwd));
      const result = await ctx.call('sandbox/create', {
        name: positionals[0]!,
        ...(repoPath !== undefined ? { repoPath } : {}),
        ...(values.template !== undefined ? { fromTemplate: values.template } : {}),
        ...(values.ttl !== undefined
          ? {
              ttl: {
                idle: values.ttl,
                ...(values.retain !== undefined ? { retain: values.retain } : {}),
                ...(from !== undefined ? { from: from as TtlBasis } : {}),
              },
            }
          : {}),
        ...(values.owner !== undefined ? { owner: values.owner } : {}),
        ...(values['from-snapshot'] !== undefined ? { fromSnapshot: values['from-snapshot'] } : {}),
        ...(values['no-wait'] ? { wait: false } : {}),
      });
      const seeded = values['from-snapshot'] !== undefined ? ` (volumes seeded from ${values['from-snapshot']})` : '';
      ctx.out.result(result, (r) => printWithDeploys(ctx.out, r, `Created sandbox ${r.sandbox.name}${seeded}`));
      return deployExit(result);
    },
  }),
  defineCommand({
    words: ['sandbox', 'delete'],
    summary: 'Delete a sandbox: cancel its deployments, remove its containers, network and named volumes (their data), release its ports.',
    description: '`branchbox sandbox volumes NAME` lists the volumes whose data goes with it; snapshots of it are kept.',
    args: ['NAME'],
    methods: ['sandbox/delete'],
    async run(ctx, { positionals }) {
      const name = positionals[0]!;
      const result = await ctx.call('sandbox/delete', { name });
      ctx.out.result(result, (r) =>
        ctx.out.line(
          `Deleted sandbox ${name} (${plural(r.containers, 'container')}, ${plural(r.networks, 'network')}, ${plural(r.ports, 'port')}, ${volumesText(r.volumes)})`,
        ),
      );
    },
  }),
  defineCommand({
    words: ['sandbox', 'volumes'],
    summary: "A sandbox's named volumes: their data goes with sandbox delete, clone copies it, snapshot captures it.",
    args: ['NAME'],
    methods: ['sandbox/volumes'],
    async run(ctx, { positionals }) {
      const result = await ctx.call('sandbox/volumes', { name: positionals[0]! });
      ctx.out.result(result, (r) => {
        if (!r.volumes.length) return ctx.out.line(ctx.out.style.dim('no named volumes'));
        ctx.out.table(r.volumes, [
          { header: 'VOLUME', value: (v) => v.name },
          { header: 'DOCKER VOLUME', value: (v) => v.dockerName },
        ]);
      });
    },
  }),
  defineCommand({
    words: ['sandbox', 'suspend'],
    summary: 'Stop every container of a sandbox, keeping its containers, commits, ports and routes (resume brings it back).',
    args: ['NAME'],
    methods: ['sandbox/suspend'],
    async run(ctx, { positionals }) {
      const result = await ctx.call('sandbox/suspend', { name: positionals[0]! });
      ctx.out.result(result, (r) =>
        ctx.out.line(`Suspended sandbox ${r.sandbox.name} (${r.stopped} container${r.stopped === 1 ? '' : 's'} stopped)`),
      );
    },
  }),
  defineCommand({
    words: ['sandbox', 'resume'],
    summary: 'Start a suspended sandbox again, at the same commits and ports, and wait for its health; exit 4 if a service is not healthy.',
    args: ['NAME'],
    methods: ['sandbox/resume'],
    async run(ctx, { positionals }) {
      const result = await ctx.call('sandbox/resume', { name: positionals[0]! });
      ctx.out.result(result, (r) => {
        ctx.out.line(`Resumed sandbox ${r.sandbox.name}: ${sandboxState(ctx.out, r.sandbox.state)}`);
        if (r.services.length) {
          ctx.out.table(r.services, [
            { header: 'SERVICE', value: (v) => v.service },
            { header: 'HEALTHY', value: (v) => (v.healthy ? ctx.out.style.green('yes') : ctx.out.style.red('no')) },
            { header: 'PORT', value: (v) => (v.hostPort === undefined ? '' : String(v.hostPort)) },
            { header: 'DETAIL', value: (v) => v.detail },
          ]);
        }
      });
      return result.services.every((s) => s.healthy) ? ExitCode.Ok : ExitCode.DeployFailed;
    },
  }),
  defineCommand({
    words: ['sandbox', 'clone'],
    summary: 'Copy a sandbox into a new one: the same branches and commits, environment and routes, on new ports.',
    args: ['NAME', 'NEW_NAME'],
    options: waitOption,
    methods: ['sandbox/clone'],
    async run(ctx, { values, positionals }) {
      const result = await ctx.call('sandbox/clone', { name: positionals[0]!, newName: positionals[1]!, ...(values['no-wait'] ? { wait: false } : {}) });
      ctx.out.result(result, (r) => printWithDeploys(ctx.out, r, `Cloned ${positionals[0]} into ${r.sandbox.name}`));
      return deployExit(result);
    },
  }),
  defineCommand({
    words: ['sandbox', 'snapshot'],
    summary: "Freeze a sandbox's exact commits, environment, routes and named volumes' data under a snapshot name.",
    args: ['NAME', 'SNAPSHOT'],
    methods: ['sandbox/snapshot'],
    async run(ctx, { positionals }) {
      const result = await ctx.call('sandbox/snapshot', { name: positionals[0]!, snapshot: positionals[1]! });
      ctx.out.result(result, (r) => {
        ctx.out.line(ctx.out.style.green(`Snapshot ${r.name} of ${r.sandbox}`));
        ctx.out.table(r.services, [
          { header: 'SERVICE', value: (v) => v.service },
          { header: 'ROUTE', value: (v) => v.route },
          { header: 'BRANCH', value: (v) => v.branch ?? '' },
          { header: 'COMMIT', value: (v) => v.commit?.slice(0, 7) ?? '' },
        ]);
        ctx.out.line(ctx.out.style.dim(`${r.envKeys} environment entr${r.envKeys === 1 ? 'y' : 'ies'}`));
        for (const v of r.volumes) ctx.out.line(ctx.out.style.dim(`volume ${v.name}: ${bytes(v.bytes)}`));
      });
    },
  }),
  defineCommand({
    words: ['sandbox', 'restore'],
    summary: 'Recreate a snapshot: into its own sandbox (redeploying its commits) or, with --into, a new one.',
    args: ['SNAPSHOT'],
    options: { into: { type: 'string', value: 'NAME', help: 'the sandbox to restore into (default: the one the snapshot was taken of)' }, ...waitOption },
    methods: ['sandbox/restore'],
    async run(ctx, { values, positionals }) {
      const result = await ctx.call('sandbox/restore', {
        snapshot: positionals[0]!,
        ...(values.into !== undefined ? { into: values.into } : {}),
        ...(values['no-wait'] ? { wait: false } : {}),
      });
      ctx.out.result(result, (r) => printWithDeploys(ctx.out, r, `Restored ${positionals[0]} into ${r.sandbox.name}`));
      return deployExit(result);
    },
  }),
];

