/**
 * The Deployments view's model and the text of deployment progress, without `vscode`: recent
 * history (`deploy/list`, newest first) kept current by `deploy/progress`, grouped by sandbox
 * (the sandbox of the newest deployment first); one row per deployment (service; status, how
 * long ago, branch@commit, duration — in that order, so a 300 px sidebar keeps the first);
 * and the words the Deploy Current Branch notification shows for each progress item.
 */
import type { DeployProgress, DeploymentRecord, DeploymentStatus } from '../../schemas/src/deploy';
import { plainLine } from '../../schemas/src/plain-text';
import type { SandboxState } from '../../schemas/src/sandbox';
import { escapeMarkdown, type IconSpec } from './container-model';
import { FINAL_STATUSES, branchAtCommit } from './sandbox-model';

export interface DeploymentRow {
  /** The deployment id: stable. */
  readonly id: string;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: IconSpec;
  readonly contextValue: string;
}

/** A sandbox's deployments in the view. */
export interface DeploymentGroupRow {
  readonly sandbox: string;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: IconSpec;
  readonly contextValue: string;
}

/** How many deployments the view keeps. */
export const HISTORY_LIMIT = 50;

const STAGE_TITLES: Record<string, string> = {
  prepare: 'Preparing the source',
  build: 'Building the image',
  start: 'Starting the container',
  'health-check': 'Checking health',
  'switch-over': 'Switching over',
};

/** "Building the image", "Checking health"... for a stage name (unknown names as they are). */
export const stageTitle = (stage: string) => STAGE_TITLES[stage] ?? stage;

export function statusIcon(status: DeploymentStatus): IconSpec {
  switch (status) {
    case 'running':
      return { id: 'pass-filled', color: 'charts.green' };
    case 'completed':
      return { id: 'pass', color: 'charts.green' };
    case 'failed':
      return { id: 'error', color: 'charts.red' };
    case 'cancelled':
      return { id: 'circle-slash', color: 'disabledForeground' };
    case 'stopped':
    case 'superseded':
      return { id: 'circle-outline', color: 'disabledForeground' };
    case 'queued':
      return { id: 'clock', color: 'charts.yellow' };
    default:
      return { id: 'sync~spin', color: 'charts.yellow' };
  }
}

/** `850 ms`, `12.3 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** `just now`, `42 s ago`, `3 min ago`, `5 h ago`, `2 d ago`: how long before `now` (ms) `iso` was. */
export function timeAgo(iso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

const requestedAt = (d: DeploymentRecord) => d.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');

/**
 * A deployment's row as of `now` (ms since the epoch), which words its "3 min ago". A running
 * deployment of a suspended (or expired) sandbox keeps its container but serves nothing: the
 * row says so rather than "running".
 */
export function presentDeployment(d: DeploymentRecord, now: number = Date.now(), sandboxState?: SandboxState): DeploymentRow {
  const paused = d.status === 'running' && (sandboxState === 'suspended' || sandboxState === 'expired') ? sandboxState : undefined;
  const source = branchAtCommit(d.ref, d.commit);
  const duration = d.durationMs !== undefined ? formatDuration(d.durationMs) : undefined;
  const lastStage = d.stages.at(-1);
  const rows: [string, string | undefined][] = [
    ['Sandbox', escapeMarkdown(d.sandbox)],
    ['Status', escapeMarkdown(paused ? `running, its sandbox ${paused} (Resume Sandbox serves it again)` : d.status)],
    ['Diagnosis', d.diagnosis ? escapeMarkdown(plainLine(d.diagnosis)) : undefined],
    ['Source', source ? escapeMarkdown(source) : undefined],
    ['Duration', duration],
    ['Stages', d.stages.length ? escapeMarkdown(d.stages.map((s) => `${s.stage} ${s.outcome ?? '…'}${s.durationMs !== undefined ? ` ${formatDuration(s.durationMs)}` : ''}`).join(', ')) : undefined],
    ['Image', d.image ? `\`${d.image}\`` : undefined],
    ['URL', d.url ? escapeMarkdown(d.url) : undefined],
    ['Requested', escapeMarkdown(`${requestedAt(d)} (${timeAgo(d.createdAt, now)})`)],
    ['Id', `\`${d.id}\``],
  ];
  const status = paused ?? (FINAL_STATUSES.has(d.status) ? d.status : `${lastStage && !lastStage.outcome ? lastStage.stage : d.status}…`);
  return {
    id: d.id,
    label: d.service,
    description: [status, timeAgo(d.createdAt, now), source, duration].filter(Boolean).join(' · '),
    tooltip: [`**${escapeMarkdown(d.service)}** in ${escapeMarkdown(d.sandbox)}`, '', '| | |', '|:--|:--|', ...rows.filter(([, v]) => v).map(([k, v]) => `| ${k} | ${v} |`)].join('\n'),
    icon: paused ? { id: 'debug-pause', color: 'disabledForeground' } : statusIcon(d.status),
    contextValue: `deployment.${FINAL_STATUSES.has(d.status) ? 'final' : 'active'}`,
  };
}

export class DeploymentListModel {
  private readonly records = new Map<string, DeploymentRecord>();

  get size(): number {
    return this.records.size;
  }

  get(id: string): DeploymentRecord | undefined {
    return this.records.get(id);
  }

  /** The time rows are worded at (their "3 min ago"). */
  private now = Date.now();
  /** Each sandbox's state, as the Sandboxes view knows it. */
  private sandboxStates: ReadonlyMap<string, SandboxState> = new Map();

  /** Newest first, at most HISTORY_LIMIT (of one sandbox). */
  list(sandbox?: string): DeploymentRecord[] {
    return [...this.records.values()]
      .filter((d) => sandbox === undefined || d.sandbox === sandbox)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.service.localeCompare(b.service));
  }

  /** The sandboxes with deployments, the one deployed to most recently first. */
  sandboxes(): string[] {
    return [...new Set(this.list().map((d) => d.sandbox))];
  }

  row(id: string): DeploymentRow | undefined {
    const d = this.records.get(id);
    return d && presentDeployment(d, this.now, this.sandboxStates.get(d.sandbox));
  }

  /** A sandbox's group: how many deployments, how long ago the latest, its status icon. */
  group(sandbox: string): DeploymentGroupRow | undefined {
    const list = this.list(sandbox);
    const latest = list[0];
    if (!latest) return undefined;
    const inFlight = list.filter((d) => !FINAL_STATUSES.has(d.status)).length;
    const count = `${list.length} deployment${list.length === 1 ? '' : 's'}`;
    return {
      sandbox,
      label: sandbox,
      description: [inFlight ? `${inFlight} in progress` : '', `latest ${timeAgo(latest.createdAt, this.now)}`, count].filter(Boolean).join(' · '),
      tooltip: `**${escapeMarkdown(sandbox)}**\n\n${escapeMarkdown(`${count}; latest requested ${requestedAt(latest)}`)}`,
      icon: inFlight ? { id: 'sync~spin', color: 'charts.yellow' } : { id: 'package' },
      contextValue: 'deploymentGroup',
    };
  }

  /** Words the rows as of `now`; answers the deployments and sandboxes whose rows changed. */
  retime(now: number): { deployments: Set<string>; sandboxes: Set<string> } {
    return this.reword(() => (this.now = now));
  }

  /** Rows follow their sandbox's state (a suspended one's running deployments say so); answers what changed. */
  setSandboxStates(states: ReadonlyMap<string, SandboxState>): { deployments: Set<string>; sandboxes: Set<string> } {
    return this.reword(() => (this.sandboxStates = states));
  }

  private reword(change: () => void): { deployments: Set<string>; sandboxes: Set<string> } {
    const before = new Map([...this.records.keys()].map((id) => [id, JSON.stringify(this.row(id))]));
    const groupsBefore = new Map(this.sandboxes().map((s) => [s, JSON.stringify(this.group(s))]));
    change();
    const deployments = new Set([...before].filter(([id, row]) => JSON.stringify(this.row(id)) !== row).map(([id]) => id));
    const sandboxes = new Set([...groupsBefore].filter(([s, row]) => JSON.stringify(this.group(s)) !== row).map(([s]) => s));
    return { deployments, sandboxes };
  }

  replaceAll(list: readonly DeploymentRecord[]): void {
    this.records.clear();
    for (const d of list) this.records.set(d.id, d);
    this.trim();
  }

  /** A full record (from `deploy/get`) replaces what progress had pieced together. */
  upsert(d: DeploymentRecord): void {
    this.records.set(d.id, d);
    this.trim();
  }

  /**
   * Applies progress; answers the deployments whose row changed and those not known before
   * (the caller fetches them with `deploy/get`) or that became final (refetch for the exact record).
   */
  applyProgress(items: readonly DeployProgress[]): { changed: Set<string>; added: boolean; fetch: Set<string> } {
    const changed = new Set<string>();
    const fetch = new Set<string>();
    let added = false;
    for (const p of items) {
      if (p.kind === 'log') continue;
      let d = this.records.get(p.deployment);
      if (!d) {
        d = { id: p.deployment, sandbox: p.sandbox, service: p.service, repoPath: '', includeUncommitted: false, status: 'queued', createdAt: p.t, stages: [] };
        added = true;
        fetch.add(p.deployment);
      }
      if (p.kind === 'status' && p.status) {
        const startedAt = d.startedAt ?? (p.status !== 'queued' ? p.t : undefined);
        d = { ...d, status: p.status, ...(startedAt ? { startedAt } : {}), ...(p.diagnosis ? { diagnosis: p.diagnosis } : {}) };
        if (FINAL_STATUSES.has(p.status)) {
          d = { ...d, finishedAt: p.t, ...(startedAt ? { durationMs: Math.max(0, Date.parse(p.t) - Date.parse(startedAt)) } : {}) };
          fetch.add(p.deployment);
        }
      } else if (p.kind === 'stage' && p.stage) {
        const stages = [...d.stages];
        if (p.phase === 'begin') stages.push({ stage: p.stage, startedAt: p.t });
        else {
          const i = stages.map((s) => s.stage).lastIndexOf(p.stage);
          const ended = { stage: p.stage, startedAt: stages[i]?.startedAt ?? p.t, finishedAt: p.t, ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}), ...(p.outcome ? { outcome: p.outcome } : {}) };
          if (i >= 0) stages[i] = ended;
          else stages.push(ended);
        }
        d = { ...d, stages };
      }
      this.records.set(d.id, d);
      changed.add(d.id);
    }
    if (added) this.trim();
    for (const id of changed) if (!this.records.has(id)) changed.delete(id);
    return { changed, added, fetch };
  }

  clear(): void {
    this.records.clear();
  }

  private trim(): void {
    const list = this.list();
    for (const d of list.slice(HISTORY_LIMIT)) this.records.delete(d.id);
  }
}

// --- Progress text for Deploy Current Branch ------------------------------------------------

/** Where each deployment of one Deploy Current Branch stands. */
export interface DeployRunState {
  readonly services: ReadonlyMap<string, { status: DeploymentStatus; stage?: string; diagnosis?: string }>;
}

export function newRunState(services: readonly string[]): DeployRunState {
  return { services: new Map(services.map((s) => [s, { status: 'queued' as DeploymentStatus }])) };
}

/** The state after `items` (of these deployments only; others are ignored). */
export function advanceRun(state: DeployRunState, items: readonly DeployProgress[]): DeployRunState {
  const services = new Map(state.services);
  for (const p of items) {
    const current = services.get(p.service);
    if (!current || p.kind === 'log') continue;
    if (p.kind === 'status' && p.status) services.set(p.service, { ...current, status: p.status, ...(p.diagnosis ? { diagnosis: p.diagnosis } : {}) });
    else if (p.kind === 'stage' && p.stage && p.phase === 'begin') services.set(p.service, { ...current, stage: p.stage });
  }
  return { services };
}

export const runIsFinal = (state: DeployRunState) => [...state.services.values()].every((s) => FINAL_STATUSES.has(s.status));

/** The notification's message: `account: Building the image · payment: running`. */
export function progressText(state: DeployRunState): string {
  return [...state.services]
    .map(([service, s]) => `${service}: ${FINAL_STATUSES.has(s.status) || !s.stage ? s.status : stageTitle(s.stage)}`)
    .join(' · ');
}

/** How far along the run is, 0..100 (each service's five stages count equally). */
export function progressPercent(state: DeployRunState): number {
  const order = ['prepare', 'build', 'start', 'health-check', 'switch-over'];
  const per = [...state.services.values()].map((s) => (FINAL_STATUSES.has(s.status) ? 1 : s.stage ? order.indexOf(s.stage) / order.length : 0));
  return per.length ? Math.round((per.reduce((a, b) => a + b, 0) / per.length) * 100) : 0;
}
