/**
 * What a Deployment panel holds, without DOM: the deployment's record kept current by
 * `deploy/progress` items (status, diagnosis, stages begun and ended with their durations),
 * the five-stage timeline derived from it, a capped log tail deduplicated by `seq` (the
 * subscription replays what the snapshot already had), and the service's recent
 * time-to-ready history. Applying an item twice changes nothing.
 */
import { isFinalStatus } from '../../../schemas/src/deploy-status';
import type { DeployLogLine, DeployProgress, DeployStage, DeploymentRecord, DeploymentStatus, StageRecord } from '../../../schemas/src/deploy';

export const STAGES: readonly DeployStage[] = ['prepare', 'build', 'start', 'health-check', 'switch-over'];
export const STAGE_LABELS: Record<DeployStage, string> = {
  prepare: 'Prepare',
  build: 'Build',
  start: 'Start',
  'health-check': 'Health check',
  'switch-over': 'Switch over',
};
/** Log lines the panel keeps. */
export const LOG_CAP = 2_000;
/** Deployments shown in the history. */
export const HISTORY_CAP = 12;

export const isFinal = (s: DeploymentStatus): boolean => isFinalStatus(s);

export type StageState = 'pending' | 'running' | 'ok' | 'reused' | 'failed' | 'cancelled' | 'interrupted' | 'skipped';

export interface TimelineStage {
  readonly stage: DeployStage;
  readonly label: string;
  readonly state: StageState;
  /** Final duration, or for a running stage the time so far (from `now`); undefined when pending. */
  readonly durationMs?: number;
}

export class DeploymentState {
  record: DeploymentRecord | undefined;
  private readonly log: DeployLogLine[] = [];
  private lastSeq = 0;
  private historyRecords: DeploymentRecord[] = [];

  constructor(readonly logCap = LOG_CAP) {}

  /** Starts over from a snapshot. */
  snapshot(record: DeploymentRecord, log: readonly DeployLogLine[], history: readonly DeploymentRecord[]): void {
    this.record = { ...record, stages: record.stages.map((s) => ({ ...s })) };
    this.log.length = 0;
    this.lastSeq = 0;
    this.appendLog(log);
    this.historyRecords = [...history];
  }

  /** Applies progress items of this deployment (others are ignored); answers whether anything changed. */
  apply(items: readonly DeployProgress[]): boolean {
    if (!this.record) return false;
    let changed = false;
    for (const item of items) {
      const r: DeploymentRecord = this.record;
      if (item.deployment !== r.id) continue;
      switch (item.kind) {
        case 'status':
          if (item.status && (item.status !== r.status || item.diagnosis !== r.diagnosis)) {
            const status = item.status;
            // A replayed older status never takes a final one back.
            if (isFinal(r.status) && !isFinal(status)) break;
            this.record = {
              ...r,
              status,
              ...(item.diagnosis !== undefined ? { diagnosis: item.diagnosis } : {}),
              ...(isFinal(status) && !r.finishedAt ? { finishedAt: item.t } : {}),
              ...(status !== 'queued' && !r.startedAt ? { startedAt: item.t } : {}),
            };
            changed = true;
          }
          break;
        case 'stage':
          if (item.stage) changed = this.applyStage(item) || changed;
          break;
        case 'log':
          if (item.seq !== undefined && item.line !== undefined) {
            changed = this.appendLog([{ seq: item.seq, t: item.t, source: item.source ?? 'daemon', line: item.line }]) > 0 || changed;
          }
          break;
      }
    }
    return changed;
  }

  /** The five stages in order, with their state and duration (`now` in ms for running stages). */
  timeline(now: number): TimelineStage[] {
    const r = this.record;
    const final = r ? isFinal(r.status) : false;
    return STAGES.map((stage) => {
      const s = r?.stages.find((x) => x.stage === stage);
      const label = STAGE_LABELS[stage];
      if (!s) return { stage, label, state: final ? 'skipped' : 'pending' };
      if (s.outcome || s.finishedAt) {
        const durationMs = s.durationMs ?? (s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : undefined);
        return { stage, label, state: s.outcome ?? 'ok', ...(durationMs !== undefined ? { durationMs } : {}) };
      }
      // Begun, not ended: running, unless the deployment is over (then it was cut short).
      if (final) return { stage, label, state: r!.status === 'cancelled' ? 'cancelled' : 'interrupted' };
      return { stage, label, state: 'running', durationMs: Math.max(0, now - Date.parse(s.startedAt)) };
    });
  }

  /** The log tail, oldest first. */
  get logLines(): readonly DeployLogLine[] {
    return this.log;
  }

  /** Recent deployments of the service, newest first, this one kept current. */
  get history(): readonly DeploymentRecord[] {
    const r = this.record;
    if (!r) return this.historyRecords;
    const others = this.historyRecords.filter((h) => h.id !== r.id);
    const merged = [...others, r].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    return merged.slice(0, HISTORY_CAP);
  }

  private applyStage(item: DeployProgress): boolean {
    const r = this.record!;
    const stages = r.stages;
    const i = stages.findIndex((s) => s.stage === item.stage);
    let next: StageRecord;
    if (item.phase === 'begin') {
      if (i >= 0) return false; // replayed: already known
      next = { stage: item.stage!, startedAt: item.t };
    } else if (item.phase === 'end') {
      const begun = i >= 0 ? stages[i]! : { stage: item.stage!, startedAt: item.t };
      if (begun.outcome && begun.durationMs !== undefined) return false; // already ended
      next = {
        ...begun,
        finishedAt: item.t,
        ...(item.durationMs !== undefined ? { durationMs: item.durationMs } : { durationMs: Math.max(0, Date.parse(item.t) - Date.parse(begun.startedAt)) }),
        outcome: item.outcome ?? 'ok',
      };
    } else return false;
    const updated = i >= 0 ? stages.map((s, k) => (k === i ? next : s)) : [...stages, next];
    this.record = { ...r, stages: updated };
    return true;
  }

  /** Appends lines newer than the last one kept; answers how many were new. */
  private appendLog(lines: readonly DeployLogLine[]): number {
    let added = 0;
    for (const l of lines) {
      if (l.seq <= this.lastSeq) continue;
      this.log.push(l);
      this.lastSeq = l.seq;
      added++;
    }
    if (this.log.length > this.logCap) this.log.splice(0, this.log.length - this.logCap);
    return added;
  }
}

// --- History ---------------------------------------------------------------------------------

/** Time to ready: from leaving the queue until the health check passed; undefined when it never did. */
export function timeToReady(r: DeploymentRecord): number | undefined {
  const hc = r.stages.find((s) => s.stage === 'health-check');
  if (!hc || (hc.outcome !== 'ok' && hc.outcome !== undefined) || !hc.finishedAt) return undefined;
  const start = r.startedAt ?? r.stages[0]?.startedAt;
  if (!start) return undefined;
  return Math.max(0, Date.parse(hc.finishedAt) - Date.parse(start));
}

export interface HistoryBar {
  readonly id: string;
  readonly label: string;
  readonly status: DeploymentStatus;
  /** Time to ready, or for a deployment that never got ready, how long it ran; undefined while it runs. */
  readonly ms?: number;
  readonly ready: boolean;
  /** Bar length, 0–1 of the longest. */
  readonly fraction: number;
  readonly current: boolean;
}

export function historyBars(history: readonly DeploymentRecord[], currentId?: string): HistoryBar[] {
  const rows = history.map((r) => {
    const ready = timeToReady(r);
    const ran = r.durationMs ?? (r.startedAt && r.finishedAt ? Math.max(0, Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : undefined);
    const ms = ready ?? (isFinal(r.status) ? ran : undefined);
    const commit = r.commit ? `@${r.commit.slice(0, 7)}` : '';
    return { r, ms, ready: ready !== undefined, label: `${r.ref ?? ''}${commit}` || r.id.slice(0, 8) };
  });
  const max = Math.max(1, ...rows.map((x) => x.ms ?? 0));
  return rows.map(({ r, ms, ready, label }) => ({
    id: r.id,
    label,
    status: r.status,
    ...(ms !== undefined ? { ms } : {}),
    ready,
    fraction: ms === undefined ? 0 : ms / max,
    current: r.id === currentId,
  }));
}

// --- Formatting ------------------------------------------------------------------------------

/** `850 ms`, `4.2 s`, `1 min 05 s`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
