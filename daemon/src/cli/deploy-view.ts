/**
 * The live display of `branchbox deploy`: one line per service with its status and its stages
 * (done ones with their duration, the running one with a ticking one), then the last lines of
 * the deploy log. On a terminal it is redrawn in place; elsewhere (CI logs, pipes) each change
 * is appended as a line. A diagnosis is always one plain line; log lines keep their terminal
 * escapes only for a terminal with colours (`ansi`). Pure: items in, lines out, time from an
 * injectable clock.
 */
import { isFinalStatus } from '../../../schemas/src/deploy-status';
import { plainLine, plainText } from '../../../schemas/src/plain-text';
import type { StreamItem } from '../../../schemas/src/index';
import { duration } from './format';
import type { Style } from './output';

type Progress = StreamItem<'deploy/progress'>;
type Stage = NonNullable<Progress['stage']>;
type Status = NonNullable<Progress['status']>;


interface StageState {
  readonly stage: Stage;
  readonly startedAt: number;
  durationMs?: number;
  outcome?: string;
}

interface ServiceState {
  readonly id: string;
  readonly service: string;
  status: Status;
  diagnosis?: string;
  readonly stages: StageState[];
  startedAt?: number;
  finishedAt?: number;
}

export class DeployView {
  private readonly services: ServiceState[];
  private readonly byId = new Map<string, ServiceState>();
  private readonly tail: { service: string; line: string }[] = [];
  private readonly width: number;

  constructor(
    deployments: readonly { id: string; service: string }[],
    private readonly opts: { tailLines: number; now: () => number; style: Style; ansi?: boolean },
  ) {
    this.services = deployments.map((d) => ({ id: d.id, service: d.service, status: 'queued', stages: [] }));
    for (const s of this.services) this.byId.set(s.id, s);
    this.width = Math.max(...this.services.map((s) => s.service.length));
  }

  get allFinal(): boolean {
    return this.services.every((s) => isFinalStatus(s.status));
  }

  /** Applies one progress item; returns the lines to append in non-interactive mode. */
  apply(item: Progress): string[] {
    const s = this.byId.get(item.deployment);
    if (!s) return [];
    const t = Date.parse(item.t);
    const { style } = this.opts;
    const who = style.bold(s.service.padEnd(this.width));
    switch (item.kind) {
      case 'status': {
        if (!item.status || item.status === s.status) return [];
        s.status = item.status;
        if (item.status !== 'queued' && s.startedAt === undefined) s.startedAt = t;
        if (item.diagnosis) s.diagnosis = plainLine(item.diagnosis);
        if (isFinalStatus(item.status)) {
          s.finishedAt = t;
          const took = s.startedAt !== undefined ? ` in ${duration(t - s.startedAt)}` : '';
          return [`${who}  ${this.statusText(s.status)}${took}${s.diagnosis ? ` — ${s.diagnosis}` : ''}`];
        }
        return [];
      }
      case 'stage': {
        if (!item.stage) return [];
        if (item.phase === 'begin') {
          s.stages.push({ stage: item.stage, startedAt: t });
          return [`${who}  ${item.stage}…`];
        }
        const stage = [...s.stages].reverse().find((x) => x.stage === item.stage) ?? { stage: item.stage, startedAt: t };
        if (!s.stages.includes(stage)) s.stages.push(stage);
        stage.durationMs = item.durationMs ?? t - stage.startedAt;
        stage.outcome = item.outcome ?? 'ok';
        return [`${who}  ${this.stageText(stage)}`];
      }
      case 'log': {
        if (item.line === undefined) return [];
        const line = this.opts.ansi ? item.line : plainText(item.line);
        this.tail.push({ service: s.service, line });
        if (this.tail.length > this.opts.tailLines) this.tail.splice(0, this.tail.length - this.opts.tailLines);
        return [`${style.dim(`${s.service.padEnd(this.width)} |`)} ${line}`];
      }
    }
  }

  /** The whole display, for redrawing in place. */
  render(): string[] {
    const { style } = this.opts;
    const lines = this.services.map((s) => {
      const stages = s.stages.map((x) => this.stageText(x)).join(style.dim(' · '));
      const end = s.finishedAt ?? this.opts.now();
      const total = s.startedAt !== undefined ? style.dim(`(${duration(end - s.startedAt)})`) : '';
      const why = s.diagnosis ? style.red(`— ${s.diagnosis}`) : '';
      const status = `${this.statusText(s.status)}${' '.repeat(Math.max(0, 15 - s.status.length))}`;
      return `  ${style.bold(s.service.padEnd(this.width))}  ${status}  ${[stages, total, why].filter(Boolean).join(' ')}`.trimEnd();
    });
    if (this.tail.length) {
      lines.push(style.dim('  ── log ──'));
      for (const t of this.tail) lines.push(`  ${style.dim(`${t.service.padEnd(this.width)} |`)} ${t.line}`);
    }
    return lines;
  }

  private statusText(status: Status): string {
    const { style } = this.opts;
    if (status === 'running' || status === 'completed') return style.green(status);
    if (status === 'failed' || status === 'cancelled') return style.red(status);
    if (isFinalStatus(status)) return style.yellow(status);
    return style.cyan(status);
  }

  private stageText(x: StageState): string {
    const { style } = this.opts;
    if (x.outcome === undefined) return `${x.stage} ${style.cyan(duration(this.opts.now() - x.startedAt))}`;
    const took = x.durationMs !== undefined ? ` ${duration(x.durationMs)}` : '';
    if (x.outcome === 'ok') return `${x.stage} ${style.green('✓')}${style.dim(took)}`;
    if (x.outcome === 'reused') return `${x.stage} ${style.green('✓')} ${style.dim(`reused${took}`)}`;
    return `${x.stage} ${style.red(`✗ ${x.outcome}`)}${style.dim(took)}`;
  }
}
