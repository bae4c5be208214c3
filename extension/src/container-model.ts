/**
 * The Containers view's model, without `vscode`: every Docker container by id, grouped by
 * sandbox (label `branchbox.sandbox`), Compose project (`com.docker.compose.project`) or
 * "Other"; what each row shows (label, description, icon, tooltip, context value); and, for
 * each update — a full list or a batch of `events/event` items — exactly which groups and
 * rows changed, so the view redraws only those.
 */
import type { ContainerSummary, DockerEvent, PortMapping, ResyncEvent } from '../../schemas/src/docker';

export const SANDBOX_LABEL = 'branchbox.sandbox';
export const COMPOSE_LABEL = 'com.docker.compose.project';

export type GroupKind = 'sandbox' | 'compose' | 'other';

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
  /** For `when` clauses: `container.running`, `container.stopped`... */
  readonly contextValue: string;
}

export interface GroupRow {
  /** `sandbox:<name>`, `compose:<project>` or `other`: stable across updates. */
  readonly key: string;
  readonly kind: GroupKind;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: IconSpec;
  readonly contextValue: string;
}

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

// --- Presentation ---------------------------------------------------------------------------

export function groupOf(c: ContainerSummary): { key: string; kind: GroupKind; name: string } {
  const sandbox = c.sandbox ?? c.labels[SANDBOX_LABEL];
  if (sandbox) return { key: `sandbox:${sandbox}`, kind: 'sandbox', name: sandbox };
  const project = c.composeProject ?? c.labels[COMPOSE_LABEL];
  if (project) return { key: `compose:${project}`, kind: 'compose', name: project };
  return { key: 'other', kind: 'other', name: 'Other' };
}

const GREEN = 'charts.green';
const RED = 'charts.red';
const YELLOW = 'charts.yellow';
const GREY = 'disabledForeground';

/** The state and health icon: green running/healthy, red unhealthy/dead, yellow in between, grey stopped. */
export function iconFor(c: ContainerSummary): IconSpec {
  switch (c.state) {
    case 'running':
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

/** `container.running`, `container.restarting`, `container.paused`, `container.stopped` or `container.removing`. */
export function contextValueOf(c: ContainerSummary): string {
  switch (c.state) {
    case 'running':
    case 'restarting':
    case 'paused':
    case 'removing':
      return `container.${c.state}`;
    case 'created':
    case 'exited':
    case 'dead':
      return 'container.stopped';
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

function describeState(c: ContainerSummary): string {
  const health = c.health ? ` (${c.health})` : '';
  if (c.state === 'exited' || c.state === 'dead') return `${c.state}${c.exitCode !== undefined ? ` (${c.exitCode})` : ''}`;
  return `${c.state}${health}`;
}

export function describeContainer(c: ContainerSummary): string {
  const ports = describePorts(c.ports);
  if (c.state === 'running') return ports;
  return ports ? `${describeState(c)} · ${ports}` : describeState(c);
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

export function tooltipFor(c: ContainerSummary): string {
  const ports = [...new Set(c.ports.map(formatPort))];
  const labels = Object.entries(c.labels).sort(([a], [b]) => a.localeCompare(b));
  const rows: [string, string][] = [
    ['State', escapeMarkdown(describeState(c))],
    ['Status', escapeMarkdown(c.status)],
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

export function presentContainer(c: ContainerSummary): ContainerRow {
  return {
    id: c.id,
    groupKey: groupOf(c).key,
    label: c.name,
    description: describeContainer(c),
    tooltip: tooltipFor(c),
    icon: iconFor(c),
    contextValue: contextValueOf(c),
  };
}

const KIND_ORDER: Record<GroupKind, number> = { sandbox: 0, compose: 1, other: 2 };
const KIND_ICON: Record<GroupKind, string> = { sandbox: 'package', compose: 'layers', other: 'server' };

function presentGroup(key: string, members: readonly ContainerSummary[]): GroupRow {
  const { kind, name } = groupOf(members[0]!);
  const running = members.filter((m) => m.state === 'running').length;
  const unhealthy = members.filter((m) => m.health === 'unhealthy' || m.state === 'dead' || m.state === 'restarting').length;
  const counts = `${running}/${members.length} running${unhealthy ? `, ${unhealthy} unhealthy` : ''}`;
  const kindText = kind === 'sandbox' ? 'sandbox' : kind === 'compose' ? 'compose project' : '';
  return {
    key,
    kind,
    label: name,
    description: kindText ? `${kindText} · ${counts}` : counts,
    tooltip: `**${escapeMarkdown(name)}**${kindText ? ` — ${kindText}` : ''}\n\n${escapeMarkdown(counts)}`,
    icon: { id: KIND_ICON[kind], ...(unhealthy ? { color: RED } : {}) },
    contextValue: `group.${kind}`,
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

  /** Groups in view order: sandboxes, then Compose projects, then Other; by name within each. */
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
    const row = presentContainer(c);
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
    const row = presentGroup(key, members);
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
