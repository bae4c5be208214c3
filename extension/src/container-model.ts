/**
 * The Containers view's model, without `vscode`: the Docker containers of the daemon's engine
 * by id, scoped to this daemon — its sandboxes' containers grouped by sandbox, every other
 * container (another daemon's, a Compose project's, the user's own) under "Other", collapsed;
 * the containers a build runs for a step are not shown. What each row shows (label,
 * description, icon, tooltip, context value) follows the daemon's view of its sandboxes: a
 * suspended sandbox's containers read "suspended", and the daemon's health verdict (its probes,
 * not only Docker's HEALTHCHECK) picks a running container's icon. For each update — a full
 * list, a batch of `events/event` items, a new daemon view, the clock — exactly which groups
 * and rows changed, so the view redraws only those.
 */
import { describeStatus } from '../../schemas/src/container-status';
import type { ContainerSummary, DockerEvent, PortMapping, ResyncEvent } from '../../schemas/src/docker';
import type { ServiceHealthState } from '../../schemas/src/health';
import type { SandboxState } from '../../schemas/src/sandbox';

export const SANDBOX_LABEL = 'branchbox.sandbox';
export const SERVICE_LABEL = 'branchbox.service';
export const MANAGED_LABEL = 'branchbox.managed';
export const INSTANCE_LABEL = 'branchbox.instance';
export const COMPOSE_LABEL = 'com.docker.compose.project';

export type GroupKind = 'sandbox' | 'other';

/** A codicon id and an optional theme color id (`new ThemeIcon(id, new ThemeColor(color))`). */
export interface IconSpec {
  readonly id: string;
  readonly color?: string;
}

export interface ContainerRow {
  /** The container id: stable across updates, so expansion and selection survive. */
  readonly id: string;
  readonly groupKey: string;
  readonly label: string;
  readonly description: string;
  /** Markdown. */
  readonly tooltip: string;
  readonly icon: IconSpec;
  /** For `when` clauses: `container.running`, `container.stopped`...; `other.container.…` for a container not this daemon's. */
  readonly contextValue: string;
}

export interface GroupRow {
  /** `sandbox:<name>` or `other`: stable across updates. */
  readonly key: string;
  readonly kind: GroupKind;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: IconSpec;
  readonly contextValue: string;
  /** Shown collapsed at first ("Other"). */
  readonly collapsed: boolean;
}

/** What the daemon says about its sandboxes, which the rows follow. */
export interface SandboxFacts {
  readonly state: SandboxState;
  /** The daemon's health verdict per service (only while the sandbox is active). */
  readonly services: ReadonlyMap<string, ServiceHealthState>;
}

/** Whose containers are this daemon's, what it says of their sandboxes, and the time rows are worded at. */
export interface DaemonView {
  /** This daemon's `branchbox.instance` (from `system/info`); unknown: every Branchbox container counts as its own. */
  readonly instance?: string;
  readonly sandboxes: ReadonlyMap<string, SandboxFacts>;
  /** ms since the epoch. */
  readonly now: number;
}

export const EMPTY_VIEW: DaemonView = { sandboxes: new Map(), now: 0 };

/** What an update changed: redraw the root, these groups (with their rows), these rows. */
export interface ModelChange {
  readonly root: boolean;
  readonly groups: ReadonlySet<string>;
  readonly containers: ReadonlySet<string>;
}

export const NO_CHANGE: ModelChange = { root: false, groups: new Set(), containers: new Set() };

export function isEmptyChange(c: ModelChange): boolean {
  return !c.root && c.groups.size === 0 && c.containers.size === 0;
}

/** Both changes in one; the root covers all, a group covers its rows. */
export function mergeChanges(a: ModelChange, b: ModelChange): ModelChange {
  if (a.root || b.root) return { root: true, groups: new Set(), containers: new Set() };
  return { root: false, groups: new Set([...a.groups, ...b.groups]), containers: new Set([...a.containers, ...b.containers]) };
}

// --- Whose container ------------------------------------------------------------------------

const isManaged = (c: ContainerSummary) => c.labels[MANAGED_LABEL] === 'true';

/** Whether a Branchbox daemon of `instance` made it (any Branchbox container when the instance is unknown). */
export function isOwn(c: ContainerSummary, instance: string | undefined): boolean {
  return isManaged(c) && (instance === undefined || c.labels[INSTANCE_LABEL] === instance);
}

/**
 * A container an image build runs for one step (labelled by the LABEL after each FROM, so
 * Branchbox-managed, but of no sandbox): it lives for seconds and offers nothing to act on.
 */
export const isBuildContainer = (c: ContainerSummary): boolean => isManaged(c) && !c.labels[SANDBOX_LABEL];

export function groupOf(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): { key: string; kind: GroupKind; name: string } {
  const sandbox = c.sandbox ?? c.labels[SANDBOX_LABEL];
  if (sandbox && isOwn(c, view.instance)) return { key: `sandbox:${sandbox}`, kind: 'sandbox', name: sandbox };
  return { key: 'other', kind: 'other', name: 'Other' };
}

/** Who the container belongs to, in words: this daemon, another Branchbox daemon, a Compose project, or none. */
export function ownerOf(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): string {
  const sandbox = c.sandbox ?? c.labels[SANDBOX_LABEL];
  if (isOwn(c, view.instance)) return sandbox ? `sandbox ${sandbox} of this daemon` : 'this daemon';
  if (isManaged(c)) return `Branchbox instance ${c.labels[INSTANCE_LABEL] ?? '?'}${sandbox ? `, sandbox ${sandbox}` : ''}`;
  const project = c.composeProject ?? c.labels[COMPOSE_LABEL];
  return project ? `Compose project ${project}` : 'not Branchbox';
}

/** The sandbox's state when the container is stopped because its sandbox is suspended (or expired). */
export function pausedBySandbox(c: ContainerSummary, view: DaemonView): 'suspended' | 'expired' | undefined {
  if (c.state === 'running' || c.state === 'restarting' || c.state === 'paused' || !isOwn(c, view.instance)) return undefined;
  const state = view.sandboxes.get(c.sandbox ?? c.labels[SANDBOX_LABEL] ?? '')?.state;
  return state === 'suspended' || state === 'expired' ? state : undefined;
}

/** The daemon's health verdict on the container's service, while its sandbox is active. */
export function verdictOf(c: ContainerSummary, view: DaemonView): ServiceHealthState | undefined {
  if (!isOwn(c, view.instance)) return undefined;
  const facts = view.sandboxes.get(c.sandbox ?? c.labels[SANDBOX_LABEL] ?? '');
  const service = c.service ?? c.labels[SERVICE_LABEL];
  return facts?.state === 'active' && service ? facts.services.get(service) : undefined;
}

// --- Presentation ---------------------------------------------------------------------------

const GREEN = 'charts.green';
const RED = 'charts.red';
const YELLOW = 'charts.yellow';
const GREY = 'disabledForeground';

const VERDICT_ICON: Record<ServiceHealthState, IconSpec> = {
  healthy: { id: 'pass-filled', color: GREEN },
  starting: { id: 'pulse', color: YELLOW },
  failing: { id: 'warning', color: YELLOW },
  unhealthy: { id: 'error', color: RED },
  stopped: { id: 'circle-outline', color: GREY },
};

/**
 * The state and health icon: green running/healthy, red unhealthy/dead, yellow in between,
 * grey stopped; a pause sign for a suspended sandbox's container. A running container of this
 * daemon's active sandbox shows the daemon's verdict on its service when there is one.
 */
export function iconFor(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): IconSpec {
  if (pausedBySandbox(c, view)) return { id: 'debug-pause', color: GREY };
  const verdict = verdictOf(c, view);
  switch (c.state) {
    case 'running':
      if (verdict) return VERDICT_ICON[verdict];
      if (c.health === 'unhealthy') return { id: 'error', color: RED };
      if (c.health === 'starting') return { id: 'pulse', color: YELLOW };
      if (c.health === 'healthy') return { id: 'pass-filled', color: GREEN };
      return { id: 'circle-filled', color: GREEN };
    case 'restarting':
      return { id: 'sync~spin', color: YELLOW };
    case 'paused':
      return { id: 'debug-pause', color: YELLOW };
    case 'dead':
      return { id: 'error', color: RED };
    case 'removing':
      return { id: 'trash', color: GREY };
    case 'created':
    case 'exited':
      return { id: 'circle-outline', color: GREY };
  }
}

/**
 * `container.running`, `container.restarting`, `container.paused`, `container.stopped` or
 * `container.removing`; prefixed `other.` for a container that is not this daemon's.
 */
export function contextValueOf(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): string {
  const prefix = isOwn(c, view.instance) ? '' : 'other.';
  switch (c.state) {
    case 'running':
    case 'restarting':
    case 'paused':
    case 'removing':
      return `${prefix}container.${c.state}`;
    case 'created':
    case 'exited':
    case 'dead':
      return `${prefix}container.stopped`;
  }
}

/** Whether the container runs (for Stop, Restart, Attach Shell). */
export const isRunning = (c: ContainerSummary): boolean => c.state === 'running' || c.state === 'restarting' || c.state === 'paused';

/** Published ports, compact: `8080→80, 5353→53/udp` (the IPv4 and IPv6 bindings of one port once). */
export function describePorts(ports: readonly PortMapping[]): string {
  const seen = new Set<string>();
  for (const p of ports) {
    if (p.host === undefined) continue;
    seen.add(`${p.host}→${p.container}${p.protocol === 'tcp' ? '' : `/${p.protocol}`}`);
  }
  return [...seen].join(', ');
}

/** `suspended`, `exited (1)`, `running (healthy)`... */
export function describeState(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): string {
  const paused = pausedBySandbox(c, view);
  if (paused) return paused;
  const health = c.health ? ` (${c.health})` : '';
  if (c.state === 'exited' || c.state === 'dead') return `${c.state}${c.exitCode !== undefined ? ` (${c.exitCode})` : ''}`;
  return `${c.state}${health}`;
}

export function describeContainer(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): string {
  const ports = describePorts(c.ports);
  if (c.state === 'running') return ports;
  return ports ? `${describeState(c, view)} · ${ports}` : describeState(c, view);
}

/** Text for Markdown: characters with a meaning in Markdown are escaped. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, '\\$&');
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+/, '').replace(/Z$/, ' UTC');
}

function formatPort(p: PortMapping): string {
  const inside = `${p.container}/${p.protocol}`;
  if (p.host === undefined) return inside;
  return `${p.hostIp && p.hostIp !== '0.0.0.0' && p.hostIp !== '::' ? `${p.hostIp}:` : ''}${p.host} → ${inside}`;
}

/** The tooltip; its Status is worded as of `view.now` (Docker's own text when the time is unknown). */
export function tooltipFor(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): string {
  const ports = [...new Set(c.ports.map(formatPort))];
  const labels = Object.entries(c.labels).sort(([a], [b]) => a.localeCompare(b));
  const paused = pausedBySandbox(c, view);
  const verdict = verdictOf(c, view);
  const rows: [string, string][] = [
    ['State', escapeMarkdown(paused ? `${paused} (stopped with its sandbox; Resume Sandbox starts it)` : describeState(c, view))],
    ...(verdict ? [['Health', escapeMarkdown(`${verdict} (Branchbox's checks)`)] as [string, string]] : []),
    ['Status', escapeMarkdown(view.now > 0 ? describeStatus(c, view.now) || c.status : c.status)],
    ['Owner', escapeMarkdown(ownerOf(c, view))],
    ['Image', code(c.image)],
    ['Id', code(c.id.slice(0, 12))],
    ['Ports', ports.length ? ports.map(code).join(', ') : 'none'],
    ['Created', escapeMarkdown(formatTime(c.created))],
  ];
  if (c.sandbox) rows.splice(0, 0, ['Sandbox', `${escapeMarkdown(c.sandbox)}${c.service ? ` / ${escapeMarkdown(c.service)}` : ''}`]);
  const lines = [
    `**${escapeMarkdown(c.name)}**`,
    '',
    '| | |',
    '|:--|:--|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  ];
  if (labels.length) lines.push('', '**Labels**', '', ...labels.map(([k, v]) => `- ${code(`${k}=${v}`)}`));
  return lines.join('\n');
}

export function presentContainer(c: ContainerSummary, view: DaemonView = EMPTY_VIEW): ContainerRow {
  const own = groupOf(c, view).kind === 'sandbox';
  const foreign = own ? '' : ownerOf(c, view);
  const description = describeContainer(c, view);
  return {
    id: c.id,
    groupKey: groupOf(c, view).key,
    label: c.name,
    // Under "Other", whose it is comes first (what tells it apart from this daemon's).
    description: own ? description : [foreign, description].filter(Boolean).join(' · '),
    tooltip: tooltipFor(c, view),
    icon: iconFor(c, view),
    contextValue: contextValueOf(c, view),
  };
}

const KIND_ORDER: Record<GroupKind, number> = { sandbox: 0, other: 1 };

function presentGroup(key: string, members: readonly ContainerSummary[], view: DaemonView): GroupRow {
  const { kind, name } = groupOf(members[0]!, view);
  const running = members.filter((m) => m.state === 'running').length;
  const unhealthy = members.filter((m) => {
    const verdict = verdictOf(m, view);
    return verdict ? verdict === 'unhealthy' : m.health === 'unhealthy' || m.state === 'dead' || m.state === 'restarting';
  }).length;
  const suspended = kind === 'sandbox' ? view.sandboxes.get(name)?.state : undefined;
  const counts =
    suspended === 'suspended' || suspended === 'expired'
      ? `${suspended} · ${members.length} stopped`
      : `${running}/${members.length} running${unhealthy ? `, ${unhealthy} unhealthy` : ''}`;
  return {
    key,
    kind,
    label: name,
    description: kind === 'sandbox' ? `sandbox · ${counts}` : `not this daemon's · ${counts}`,
    tooltip:
      kind === 'sandbox'
        ? `**${escapeMarkdown(name)}** — sandbox of this daemon\n\n${escapeMarkdown(counts)}`
        : `**Other** — containers of other Branchbox daemons, of Compose projects and your own\n\n${escapeMarkdown(counts)}`,
    icon: { id: kind === 'sandbox' ? 'package' : 'server', ...(unhealthy ? { color: RED } : {}) },
    contextValue: `group.${kind}`,
    collapsed: kind === 'other',
  };
}

function sameRow(a: ContainerRow | GroupRow | undefined, b: ContainerRow | GroupRow): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

// --- The model ------------------------------------------------------------------------------

/** A container event or a resync marker, as `events/event` delivers them. */
export type EventItem = DockerEvent | ResyncEvent;

export class ContainerTreeModel {
  private readonly containers = new Map<string, ContainerSummary>();
  private readonly rows = new Map<string, ContainerRow>();
  private readonly members = new Map<string, Set<string>>();
  private readonly groupRows = new Map<string, GroupRow>();
  private view: DaemonView = EMPTY_VIEW;

  get size(): number {
    return this.containers.size;
  }

  get(id: string): ContainerSummary | undefined {
    return this.containers.get(id);
  }

  /** Every container, in view order. */
  all(): ContainerSummary[] {
    return this.groups().flatMap((g) => this.rowsOf(g.key).map((r) => this.containers.get(r.id)!));
  }

  row(id: string): ContainerRow | undefined {
    return this.rows.get(id);
  }

  group(key: string): GroupRow | undefined {
    return this.groupRows.get(key);
  }

  /** Groups in view order: sandboxes by name, then Other. */
  groups(): GroupRow[] {
    return [...this.groupRows.values()].sort(
      (a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.label.localeCompare(b.label) || a.key.localeCompare(b.key),
    );
  }

  /** The rows of a group, by name. */
  rowsOf(key: string): ContainerRow[] {
    return [...(this.members.get(key) ?? [])]
      .map((id) => this.rows.get(id)!)
      .sort((a, b) => a.label.localeCompare(b.label) || a.id.localeCompare(b.id));
  }

  /** Replaces everything with a full `container/list` answer. */
  replaceAll(list: readonly ContainerSummary[]): ModelChange {
    const change = new ChangeBuilder();
    const fresh = new Set(list.map((c) => c.id));
    for (const id of [...this.containers.keys()]) if (!fresh.has(id)) this.remove(id, change);
    for (const c of list) this.upsert(c, change);
    return change.build();
  }

  /**
   * Words every row anew for what changed in `view` — the instance, the sandboxes' states
   * and verdicts, the time (rows whose words depend on it: their tooltip's Status).
   */
  setView(view: Partial<DaemonView>): ModelChange {
    this.view = { ...this.view, ...view };
    const change = new ChangeBuilder();
    for (const c of [...this.containers.values()]) this.upsert(c, change);
    return change.build();
  }

  /** Removes every container (the daemon's Docker is gone). */
  clear(): ModelChange {
    return this.replaceAll([]);
  }

  /**
   * Applies a batch of events in order. `resync` is true when the batch says events were
   * missed: the caller refetches the list (and applies it with `replaceAll`).
   */
  applyEvents(items: readonly EventItem[]): { change: ModelChange; resync: boolean } {
    const change = new ChangeBuilder();
    let resync = false;
    for (const item of items) {
      if (item.type === 'resync') {
        resync = true;
        continue;
      }
      if (item.type !== 'container') continue;
      if (item.action === 'destroy') this.remove(item.id, change);
      else if (item.container) this.upsert(item.container, change);
      // Without `container` the daemon could not look at it (it is being removed): a destroy follows.
    }
    return { change: change.build(), resync };
  }

  private upsert(c: ContainerSummary, change: ChangeBuilder): void {
    if (isBuildContainer(c)) return this.remove(c.id, change);
    const row = presentContainer(c, this.view);
    const previous = this.rows.get(c.id);
    this.containers.set(c.id, c);
    this.rows.set(c.id, row);
    if (previous && previous.groupKey === row.groupKey) {
      if (sameRow(previous, row)) return;
      if (previous.label !== row.label) change.group(row.groupKey); // its place in the group moved
      else change.container(c.id);
      this.refreshGroup(row.groupKey, change);
      return;
    }
    if (previous) this.leave(previous.groupKey, c.id, change);
    this.join(row.groupKey, c.id, change);
  }

  private remove(id: string, change: ChangeBuilder): void {
    const previous = this.rows.get(id);
    if (!previous) return;
    this.containers.delete(id);
    this.rows.delete(id);
    this.leave(previous.groupKey, id, change);
  }

  private join(key: string, id: string, change: ChangeBuilder): void {
    let members = this.members.get(key);
    if (!members) {
      members = new Set();
      this.members.set(key, members);
      change.root();
    } else change.group(key);
    members.add(id);
    this.refreshGroup(key, change);
  }

  private leave(key: string, id: string, change: ChangeBuilder): void {
    const members = this.members.get(key);
    if (!members) return;
    members.delete(id);
    if (members.size === 0) {
      this.members.delete(key);
      this.groupRows.delete(key);
      change.root();
      return;
    }
    change.group(key);
    this.refreshGroup(key, change);
  }

  private refreshGroup(key: string, change: ChangeBuilder): void {
    const members = [...(this.members.get(key) ?? [])].map((id) => this.containers.get(id)!);
    if (members.length === 0) return;
    const row = presentGroup(key, members, this.view);
    if (!sameRow(this.groupRows.get(key), row)) {
      this.groupRows.set(key, row);
      change.group(key);
    }
  }
}

class ChangeBuilder {
  private rootChanged = false;
  private readonly groups = new Set<string>();
  private readonly containers = new Set<string>();

  root(): void {
    this.rootChanged = true;
  }
  group(key: string): void {
    this.groups.add(key);
  }
  container(id: string): void {
    this.containers.add(id);
  }
  build(): ModelChange {
    return mergeChanges(NO_CHANGE, { root: this.rootChanged, groups: this.groups, containers: this.containers });
  }
}
