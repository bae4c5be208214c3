/**
 * The Sandboxes view's model, without `vscode`: every sandbox (from `sandbox/list` and
 * `sandbox/event`), the deployments running in them (from `deploy/progress`), the daemon's
 * health verdicts (carried by the sandboxes, then pushed by `sandbox/watchHealth`) and the
 * state and health of their containers (from the Containers model, fed by `events/event`);
 * what each row shows — sandbox → services → container — and, for each update, which rows
 * changed.
 *
 * Rows are recomputed from the state on each update and compared with the previous ones, so
 * the change sets are exact; there are tens of sandboxes, not thousands.
 */
import type { ContainerSummary } from '../../schemas/src/docker';
import { servingContainerName } from '../../schemas/src/docker-names';
import type { DeployProgress, DeploymentStatus } from '../../schemas/src/deploy';
import { FINAL_DEPLOYMENT_STATUSES } from '../../schemas/src/deploy-status';
import type { SandboxHealth as HealthVerdict, ServiceHealth as ServiceVerdict } from '../../schemas/src/health';
import { plainLine } from '../../schemas/src/plain-text';
import type { Sandbox, SandboxEvent, SandboxServiceView } from '../../schemas/src/sandbox';
import type { WatchEvent, WatchView } from '../../schemas/src/watch';
import { WatchTable, followTooltip, watchTooltip, type WatchState } from './watch-logic';
import { contextValueOf, describeContainer, describeState, escapeMarkdown, iconFor, tooltipFor, type DaemonView, type IconSpec, type SandboxFacts } from './container-model';

export type SandboxHealth = 'healthy' | 'degraded' | 'unhealthy' | 'empty' | 'unknown';
export type RowKind = 'sandbox' | 'service' | 'container';

export interface SandboxRow {
  /** `sandbox:<name>`, `service:<name>/<service>`, `container:<name>/<service>`: stable across redeploys. */
  readonly key: string;
  readonly kind: RowKind;
  readonly parent: string | undefined;
  readonly sandbox: string;
  readonly service?: string;
  /** For container rows: the container's id (it changes with each deployment). */
  readonly containerId?: string;
  readonly label: string;
  readonly description: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly icon: IconSpec;
  readonly contextValue: string;
  readonly children: readonly string[];
}

export interface SandboxChange {
  readonly root: boolean;
  /** Rows whose content or children changed. */
  readonly rows: ReadonlySet<string>;
}

export const NO_SANDBOX_CHANGE: SandboxChange = { root: false, rows: new Set() };

export function isEmptySandboxChange(c: SandboxChange): boolean {
  return !c.root && c.rows.size === 0;
}

export function mergeSandboxChanges(a: SandboxChange, b: SandboxChange): SandboxChange {
  return { root: a.root || b.root, rows: new Set([...a.rows, ...b.rows]) };
}

/** A deployment not final yet, as `deploy/progress` told it. */
export interface ActiveDeploy {
  readonly deployment: string;
  readonly sandbox: string;
  readonly service: string;
  readonly status: DeploymentStatus;
  readonly stage?: string;
}

export const FINAL_STATUSES: ReadonlySet<DeploymentStatus> = new Set(FINAL_DEPLOYMENT_STATUSES);

// --- Presentation ---------------------------------------------------------------------------

const GREEN = 'charts.green';
const RED = 'charts.red';
const YELLOW = 'charts.yellow';
const GREY = 'disabledForeground';

export const shortSha = (commit: string | undefined) => (commit ? commit.slice(0, 7) : undefined);

/** `feature/x@60536f0`, `feature/x`, `@60536f0` or ''. */
export function branchAtCommit(branch: string | undefined, commit: string | undefined): string {
  const sha = shortSha(commit);
  if (branch && sha) return `${branch}@${sha}`;
  return branch ?? (sha ? `@${sha}` : '');
}

/** What a service runs beyond its commit: " + 3 changed files" (the working tree, synced by a watch or deployed with its changes). */
export function workingTreeText(view: Pick<SandboxServiceView, 'workingTree'> | undefined): string {
  const n = view?.workingTree?.changedFiles;
  return n === undefined ? '' : `+ ${n} changed file${n === 1 ? '' : 's'}`;
}

/** Where a service's requests go: `→ sandbox`, `→ baseline`, `→ https://…`. */
export function routeText(s: Pick<SandboxServiceView, 'route' | 'routeUrl'>): string {
  return s.route === 'url' ? `→ ${s.routeUrl ?? 'url'}` : `→ ${s.route}`;
}

/** The Route row of a service's tooltip: where its requests go, in words. */
function routeTooltip(v: Pick<SandboxServiceView, 'route' | 'routeUrl'>): string {
  if (v.route === 'baseline') return 'baseline (requests go to the shared baseline, not to this sandbox\'s container)';
  if (v.route === 'url') return `${v.routeUrl ?? 'a URL'} (requests go there, not to this sandbox's container)`;
  return "sandbox (this sandbox's container)";
}

/** The gateway of a sandbox: its port lease, on 127.0.0.1. */
export function gatewayUrlOf(s: Sandbox): string | undefined {
  const lease = s.ports.find((p) => p.purpose === 'gateway');
  return lease ? `http://127.0.0.1:${lease.port}` : undefined;
}

type PublishedPort = NonNullable<SandboxServiceView['ports']>[number];

const portName = (p: PublishedPort) => `${p.container}${p.protocol === 'udp' ? '/udp' : ''}`;

/** A service's published ports for its row: `5432→47123`, the first two and how many more. */
export function portsShort(ports: readonly PublishedPort[] | undefined): string {
  if (!ports?.length) return '';
  const shown = ports.slice(0, 2).map((p) => `${portName(p)}→${p.hostPort}`);
  return ports.length > 2 ? `${shown.join(' ')} +${ports.length - 2}` : shown.join(' ');
}

/** A service's published ports in full, one a line: `5432→127.0.0.1:47123 (compose asked 5432)`. */
export function portsLong(ports: readonly PublishedPort[] | undefined): string[] {
  return (ports ?? []).map((p) => `${portName(p)}→127.0.0.1:${p.hostPort}${p.published !== undefined ? ` (compose asked ${p.published})` : ''}`);
}

/** A job's state from its container: running, completed (exit 0) or failed (exit n). */
export function jobState(container: ContainerSummary | undefined): 'running' | 'completed' | 'failed' | 'unknown' {
  if (!container) return 'unknown';
  if (container.state === 'running' || container.state === 'created' || container.state === 'restarting') return 'running';
  if (container.state === 'exited') return container.exitCode === 0 ? 'completed' : 'failed';
  return container.state === 'dead' ? 'failed' : 'unknown';
}

/** A service whose requests go elsewhere shows where, whatever its container does. */
const ROUTE_ICON: Record<'baseline' | 'url', IconSpec> = {
  baseline: { id: 'cloud', color: 'charts.blue' },
  url: { id: 'link-external', color: 'charts.blue' },
};

const JOB_ICON: Record<ReturnType<typeof jobState>, IconSpec> = {
  running: { id: 'run', color: YELLOW },
  completed: { id: 'pass', color: GREEN },
  failed: { id: 'error', color: RED },
  unknown: { id: 'run-all', color: GREY },
};

type ServiceHealth = 'healthy' | 'starting' | 'failed' | 'stopped' | 'unknown';

function serviceHealth(container: ContainerSummary | undefined): ServiceHealth {
  if (!container) return 'unknown';
  switch (container.state) {
    case 'running':
      if (container.health === 'unhealthy') return 'failed';
      if (container.health === 'starting') return 'starting';
      return 'healthy';
    case 'restarting':
    case 'dead':
      return 'failed';
    case 'exited':
      return container.exitCode === 0 ? 'stopped' : 'failed';
    default:
      return 'stopped';
  }
}

const HEALTH_ICON: Record<SandboxHealth, IconSpec> = {
  healthy: { id: 'pass-filled', color: GREEN },
  degraded: { id: 'warning', color: YELLOW },
  unhealthy: { id: 'error', color: RED },
  empty: { id: 'package' },
  unknown: { id: 'package' },
};

/** A tooltip row for a service's health as the daemon sees it: its state, why, and its restarts. */
function serviceHealthRow(v: ServiceVerdict): [string, string] {
  const restarts = v.restartCount > 0 ? ` · restarted ${v.restartCount}×` : '';
  return [`Health of ${escapeMarkdown(v.service)}`, escapeMarkdown(`${v.state}${v.reason ? ` — ${plainLine(v.reason)}` : ''}${restarts}`)];
}

function formatTime(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+/, '').replace(/Z$/, ' UTC') : '';
}

function table(title: string, rows: [string, string | undefined][]): string {
  return [`**${escapeMarkdown(title)}**`, '', '| | |', '|:--|:--|', ...rows.filter(([, v]) => v).map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

// --- The model ------------------------------------------------------------------------------

export class SandboxTreeModel {
  private readonly sandboxMap = new Map<string, Sandbox>();
  private readonly active = new Map<string, ActiveDeploy>();
  private readonly containerMap = new Map<string, ContainerSummary>();
  /** The daemon's health verdict per sandbox: computed while it was active (see `Sandbox.health`). */
  private readonly verdicts = new Map<string, HealthVerdict>();
  private rowMap = new Map<string, SandboxRow>();
  private rootKeys: string[] = [];
  /** The time rows are worded at (a container tooltip's "Up 5 minutes"). */
  private now = 0;
  /** The daemon's running watches (`watch/list`, `watch/event`). */
  private readonly watchTable = new WatchTable();

  get size(): number {
    return this.sandboxMap.size;
  }

  sandbox(name: string): Sandbox | undefined {
    return this.sandboxMap.get(name);
  }

  /** Every sandbox, by name. */
  sandboxes(): Sandbox[] {
    return [...this.sandboxMap.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  row(key: string): SandboxRow | undefined {
    return this.rowMap.get(key);
  }

  /** The rows under `key`, or the sandbox rows. */
  children(key?: string): SandboxRow[] {
    const keys = key === undefined ? this.rootKeys : (this.rowMap.get(key)?.children ?? []);
    return keys.map((k) => this.rowMap.get(k)!);
  }

  /** Deployments not final yet (of one sandbox). */
  deploying(sandbox?: string): ActiveDeploy[] {
    return [...this.active.values()].filter((d) => sandbox === undefined || d.sandbox === sandbox);
  }

  /** The sandbox's running watch, if any. */
  watch(name: string): WatchState | undefined {
    return this.watchTable.get(name);
  }

  /** Replaces the watches with a `watch/list` answer. */
  replaceWatches(views: readonly WatchView[]): SandboxChange {
    this.watchTable.replace(views);
    return this.rebuild();
  }

  /** `watch/event` items: watches starting, stopping, and the actions they end. */
  applyWatchEvents(items: readonly WatchEvent[]): SandboxChange {
    return this.watchTable.apply(items) ? this.rebuild() : NO_SANDBOX_CHANGE;
  }

  container(id: string | undefined): ContainerSummary | undefined {
    return id ? this.containerMap.get(id) : undefined;
  }

  /**
   * The daemon's verdict when it has one (its probes see what Docker cannot); else from the
   * containers: healthy: every deployed service runs (and passes its health check); degraded:
   * some do not; unhealthy: none does.
   */
  health(name: string): SandboxHealth {
    const s = this.sandboxMap.get(name);
    if (!s) return 'unknown';
    const verdict = this.verdict(s);
    if (verdict) return verdict.state;
    const deployed = s.services.filter((v) => v.containerId);
    if (deployed.length === 0) return 'empty';
    const states = deployed.map((v): ServiceHealth => {
      const container = this.containerMap.get(v.containerId!);
      if (!v.job) return serviceHealth(container);
      const job = jobState(container);
      return job === 'completed' ? 'healthy' : job === 'running' ? 'starting' : job === 'failed' ? 'failed' : 'unknown';
    });
    const known = states.filter((h) => h !== 'unknown');
    if (known.length === 0) return 'unknown';
    const bad = known.filter((h) => h === 'failed' || h === 'stopped').length;
    if (bad === 0) return 'healthy';
    return bad === known.length ? 'unhealthy' : 'degraded';
  }

  /** The daemon's verdict on an active sandbox, if any. */
  private verdict(s: Sandbox): HealthVerdict | undefined {
    return s.state === 'active' ? this.verdicts.get(s.name) : undefined;
  }

  /** Replaces every sandbox with a `sandbox/list` answer. */
  replaceSandboxes(list: readonly Sandbox[]): SandboxChange {
    this.sandboxMap.clear();
    this.verdicts.clear();
    for (const s of list) this.setSandbox(s);
    for (const [id, d] of this.active) if (!this.sandboxMap.has(d.sandbox)) this.active.delete(id);
    return this.rebuild();
  }

  applySandboxEvents(items: readonly SandboxEvent[]): SandboxChange {
    for (const e of items) {
      if (e.kind === 'deleted' || !e.sandbox) {
        this.sandboxMap.delete(e.name);
        this.verdicts.delete(e.name);
      } else this.setSandbox(e.sandbox);
    }
    return this.rebuild();
  }

  /** Health verdicts pushed by `sandbox/watchHealth` (one about no service, as before a first check, is none). */
  applyHealth(items: readonly HealthVerdict[]): SandboxChange {
    for (const h of items) {
      if (!this.sandboxMap.has(h.sandbox)) continue;
      if (h.services.length > 0) this.verdicts.set(h.sandbox, h);
      else this.verdicts.delete(h.sandbox);
    }
    return this.rebuild();
  }

  /** A sandbox as the daemon answered it; its verdict is the one it carries (none since a resume, say). */
  private setSandbox(s: Sandbox): void {
    this.sandboxMap.set(s.name, s);
    if (s.health) this.verdicts.set(s.name, s.health);
    else this.verdicts.delete(s.name);
  }

  /** Status and stage items update the deploys in flight; log lines change nothing. */
  applyProgress(items: readonly DeployProgress[]): SandboxChange {
    let touched = false;
    for (const p of items) {
      if (p.kind === 'log') continue;
      touched = true;
      const previous = this.active.get(p.deployment);
      if (p.kind === 'status' && p.status) {
        if (FINAL_STATUSES.has(p.status)) this.active.delete(p.deployment);
        else this.active.set(p.deployment, { deployment: p.deployment, sandbox: p.sandbox, service: p.service, status: p.status, stage: previous?.stage });
      } else if (p.kind === 'stage' && p.stage && previous) {
        this.active.set(p.deployment, { ...previous, stage: p.phase === 'begin' ? p.stage : previous.stage });
      }
    }
    return touched ? this.rebuild() : NO_SANDBOX_CHANGE;
  }

  /** Replaces the containers known (the Containers model's, or those of sandboxes). */
  setContainers(list: Iterable<ContainerSummary>): SandboxChange {
    this.containerMap.clear();
    for (const c of list) if (c.sandbox || c.labels['branchbox.sandbox']) this.containerMap.set(c.id, c);
    return this.rebuild();
  }

  /** Words the rows again as of `now` (ms since the epoch). */
  retime(now: number): SandboxChange {
    this.now = now;
    return this.rebuild();
  }

  /** Each sandbox's state and the daemon's verdict per service (while active): what the Containers view follows. */
  sandboxFacts(): Map<string, SandboxFacts> {
    const facts = new Map<string, SandboxFacts>();
    for (const s of this.sandboxMap.values()) {
      const verdict = this.verdict(s);
      facts.set(s.name, { state: s.state, services: new Map((verdict?.services ?? []).map((v) => [v.service, v.state])) });
    }
    return facts;
  }

  /** What the container rows are worded with: the sandboxes as this model knows them. */
  private daemonView(): DaemonView {
    return { sandboxes: this.sandboxFacts(), now: this.now };
  }

  /** Forgets everything (the connection is gone). */
  clear(): SandboxChange {
    this.sandboxMap.clear();
    this.verdicts.clear();
    this.active.clear();
    this.containerMap.clear();
    this.watchTable.clear();
    return this.rebuild();
  }

  // --- Rows ---------------------------------------------------------------------------------

  private rebuild(): SandboxChange {
    const rows = new Map<string, SandboxRow>();
    const roots: string[] = [];
    for (const s of this.sandboxes()) {
      roots.push(this.presentSandbox(s, rows));
    }
    const changed = new Set<string>();
    let root = roots.join('\n') !== this.rootKeys.join('\n');
    for (const [key, row] of rows) {
      const before = this.rowMap.get(key);
      if (!before) {
        if (row.parent) changed.add(row.parent);
        else root = true;
      } else if (JSON.stringify(before) !== JSON.stringify(row)) changed.add(key);
    }
    for (const [key, row] of this.rowMap) {
      if (rows.has(key)) continue;
      if (row.parent && rows.has(row.parent)) changed.add(row.parent);
      else if (!row.parent) root = true;
    }
    // A new row is drawn with its parent; a removed one goes with its parent.
    for (const key of [...changed]) if (!rows.has(key) || !this.rowMap.has(key)) changed.delete(key);
    this.rowMap = rows;
    this.rootKeys = roots;
    return { root, rows: root ? new Set() : changed };
  }

  private presentSandbox(s: Sandbox, rows: Map<string, SandboxRow>): string {
    const key = `sandbox:${s.name}`;
    const deploys = this.deploying(s.name);
    const byService = new Map<string, SandboxServiceView | undefined>();
    for (const v of s.services) byService.set(v.service, v);
    for (const d of deploys) if (!byService.has(d.service)) byService.set(d.service, undefined);
    const services = [...byService.keys()].sort();
    const children = services.map((service) => this.presentService(s, service, byService.get(service), rows));

    const gateway = gatewayUrlOf(s);
    const health = this.health(s.name);
    let icon = HEALTH_ICON[health];
    if (s.state === 'deleting') icon = { id: 'trash', color: GREY };
    else if (s.state === 'suspended') icon = { id: 'debug-pause', color: GREY };
    else if (s.state === 'expired') icon = { id: 'history', color: GREY };
    else if (deploys.length) icon = { id: 'sync~spin', color: YELLOW };
    const stateText = s.state === 'active' ? '' : s.state;
    const watch = this.watchTable.get(s.name);
    const description = [stateText, watch ? 'watching' : '', s.follow ? 'following' : '', gateway].filter(Boolean).join(' · ');
    rows.set(key, {
      key,
      kind: 'sandbox',
      parent: undefined,
      sandbox: s.name,
      label: s.name,
      description,
      tooltip: table(s.name, [
        ['State', escapeMarkdown(s.state)],
        ['Health', s.state === 'active' ? escapeMarkdown(health) : undefined],
        ...(this.verdict(s)?.services ?? []).filter((v) => v.state !== 'healthy').map(serviceHealthRow),
        ['Deploying', deploys.length ? escapeMarkdown(deploys.map((d) => `${d.service} (${d.status})`).join(', ')) : undefined],
        ['Gateway', gateway ? escapeMarkdown(gateway) : undefined],
        ['Watch', watch ? escapeMarkdown(watchTooltip(watch)) : undefined],
        ['Follow', s.follow ? escapeMarkdown(followTooltip(s.follow)) : undefined],
        ['Project', s.project ? escapeMarkdown(s.project) : undefined],
        ['Repository', s.repoPath ? `\`${s.repoPath.replace(/`/g, "'")}\`` : undefined],
        ['Template', s.template ? escapeMarkdown(s.template) : undefined],
        ['Owner', escapeMarkdown(s.owner)],
        [
          'TTL',
          s.ttl
            ? escapeMarkdown(
                `idle ${s.ttl.idle}${s.ttl.from && s.ttl.from !== 'activity' ? ` from ${s.ttl.from}` : ''}${s.ttl.retain ? `, retain ${s.ttl.retain}` : ''}`,
              )
            : undefined,
        ],
        ['Last deploy', escapeMarkdown(formatTime(s.lastDeployAt))],
        ['Created', escapeMarkdown(formatTime(s.createdAt))],
      ]),
      icon,
      // `.watching`, `.following` after the state: the manifest's menus match `sandbox.active` with or without them.
      contextValue: `sandbox.${s.state}${watch ? '.watching' : ''}${s.follow ? '.following' : ''}`,
      children,
    });
    return key;
  }

  private presentService(s: Sandbox, service: string, view: SandboxServiceView | undefined, rows: Map<string, SandboxRow>): string {
    const key = `service:${s.name}/${service}`;
    const deploy = this.deploying(s.name).find((d) => d.service === service);
    const container = this.container(view?.containerId);
    const children: string[] = [];
    const looks = this.daemonView();
    const suspended = s.state === 'suspended' || s.state === 'expired' ? s.state : undefined;
    if (view?.containerId) {
      const ckey = `container:${s.name}/${service}`;
      children.push(ckey);
      const name = container?.name ?? servingContainerName(s.name, service);
      rows.set(ckey, {
        key: ckey,
        kind: 'container',
        parent: key,
        sandbox: s.name,
        service,
        containerId: view.containerId,
        label: name,
        description: container ? describeContainer(container, looks) || container.state : 'not seen yet',
        tooltip: container ? tooltipFor(container, looks) : `**${escapeMarkdown(name)}**`,
        icon: container ? iconFor(container, looks) : { id: 'circle-outline', color: GREY },
        contextValue: container ? contextValueOf(container, looks) : 'container.unknown',
        children: [],
      });
    }
    // Where requests go leads when it is not the sandbox's own container (at 300 px a row keeps
    // its first words; the tooltip has everything, the route first); `→ sandbox` ends it.
    const routedAway = view && view.route !== 'sandbox' ? view.route : undefined;
    const source = [branchAtCommit(view?.branch, view?.commit), workingTreeText(view)].filter(Boolean).join(' ');
    const job = view?.job ? jobState(container) : undefined;
    // The row names the ports beyond the service's own URL (a database's, a second port): the tooltip lists them all.
    const extraPorts = view?.ports?.filter((p) => p.hostPort !== view.hostPort);
    const description = [
      deploy ? `${deploy.stage ?? deploy.status}…` : '',
      routedAway ? routeText(view!) : '',
      suspended && view?.containerId ? suspended : '',
      job && !suspended ? `job ${job === 'failed' && container?.exitCode ? `exited ${container.exitCode}` : job}` : '',
      source,
      portsShort(extraPorts),
      view?.route === 'sandbox' ? routeText(view) : '',
    ]
      .filter(Boolean)
      .join(' ');
    let icon: IconSpec;
    if (deploy) icon = { id: 'sync~spin', color: YELLOW };
    else if (routedAway) icon = ROUTE_ICON[routedAway];
    else if (suspended) icon = { id: 'debug-pause', color: GREY };
    else if (job) icon = JOB_ICON[job];
    else if (container) icon = iconFor(container, looks);
    else icon = { id: 'circle-outline', color: GREY };
    rows.set(key, {
      key,
      kind: 'service',
      parent: `sandbox:${s.name}`,
      sandbox: s.name,
      service,
      label: service,
      description,
      tooltip: table(`${s.name} / ${service}`, [
        ['Route', view ? escapeMarkdown(routeTooltip(view)) : undefined],
        ['Deploying', deploy ? escapeMarkdown(`${deploy.status}${deploy.stage ? ` (${deploy.stage})` : ''}`) : undefined],
        ['State', suspended ? escapeMarkdown(`${suspended} with its sandbox (its container is stopped)`) : undefined],
        ['Branch', view?.branch ? escapeMarkdown(view.branch) : undefined],
        ['Commit', view?.commit ? `\`${view.commit}\`` : undefined],
        [
          'Working tree',
          view?.workingTree
            ? escapeMarkdown(`${workingTreeText(view).slice(2)} on top of the commit, since ${formatTime(view.workingTree.since)} (last synced ${formatTime(view.workingTree.updatedAt)})`)
            : undefined,
        ],
        ['Direct URL', view?.url ? escapeMarkdown(view.url) : undefined],
        ['Ports', view?.ports?.length ? escapeMarkdown(portsLong(view.ports).join(', ')) : undefined],
        ['Job', job ? escapeMarkdown(`${job}${container?.state === 'exited' ? ` (exit code ${container.exitCode ?? '?'})` : ''}; runs to completion on each deploy`) : undefined],
        ['Container', container ? escapeMarkdown(describeState(container, looks)) : undefined],
        ...[this.verdict(s)?.services.find((v) => v.service === service)].filter((v) => v !== undefined).map(serviceHealthRow),
      ]),
      icon,
      contextValue: `service.${view?.route ?? 'sandbox'}${view?.containerId ? '.deployed' : ''}`,
      children,
    });
    return key;
  }
}
