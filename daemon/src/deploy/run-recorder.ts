/**
 * The one way a deployment's progress is written: status changes, stage begin/end and log
 * lines go to SQLite first, then out as `deploy/progress` items — every text masked on the
 * way (the sandbox's secret values, and whatever the daemon's Redactor knows).
 */
import { isMaskable, maskText, type Redactor } from '../runtime/redactor';
import type { DeploymentStore, DeploymentUpdate } from './deployment-store';
import type { DeploymentStatus, DeployProgress, DeployStage, LogSource, StageOutcome } from './types';

/** The most characters one stored log line keeps. */
const MAX_LINE = 4_000;

/**
 * Masks secrets in a deployment's text: the daemon's Redactor (every sandbox's secrets), plus
 * values added here (the sandbox's own, read as the deployment starts), under the same rules.
 */
export class SecretMask {
  private values: string[] = [];

  constructor(private readonly redactor?: Redactor) {}

  /** Adds values to mask; values too short to mask in text are left out, as by the Redactor. */
  add(values: Iterable<string>): void {
    const next = new Set(this.values);
    for (const v of values) if (isMaskable(v)) next.add(v);
    this.values = [...next];
  }

  apply(text: string): string {
    const all = this.redactor ? [...this.values, ...this.redactor.secrets.texts] : this.values;
    return maskText(text, all);
  }
}

export interface RecorderDeps {
  readonly store: DeploymentStore;
  readonly emit: (item: DeployProgress) => void;
  readonly now: () => Date;
}

export class RunRecorder {
  readonly mask: SecretMask;

  constructor(
    private readonly deps: RecorderDeps,
    readonly id: string,
    readonly sandbox: string,
    readonly service: string,
    redactor?: Redactor,
  ) {
    this.mask = new SecretMask(redactor);
  }

  /**
   * Sets the status (and other columns) and announces it — or, with `announce: false`, only
   * records it (then call {@link announce} once what follows is done). A diagnosis is masked
   * and kept to one line.
   */
  status(status: DeploymentStatus, fields: DeploymentUpdate = {}, opts: { announce?: boolean } = {}): void {
    const diagnosis = fields.diagnosis ? oneLine(this.mask.apply(fields.diagnosis)) : undefined;
    this.deps.store.update(this.id, { ...fields, status, ...(diagnosis !== undefined ? { diagnosis } : {}) });
    if (opts.announce !== false) this.announce(status, diagnosis);
  }

  /** Announces a status already recorded. */
  announce(status: DeploymentStatus, diagnosis?: string): void {
    this.deps.emit({ ...this.base(this.deps.now()), kind: 'status', status, ...(diagnosis !== undefined ? { diagnosis } : {}) });
  }

  beginStage(stage: DeployStage): void {
    const at = this.deps.now();
    this.deps.store.beginStage(this.id, stage, at);
    this.deps.emit({ ...this.base(at), kind: 'stage', stage, phase: 'begin' });
  }

  endStage(stage: DeployStage, outcome: StageOutcome): number {
    const at = this.deps.now();
    const durationMs = this.deps.store.endStage(this.id, stage, at, outcome);
    this.deps.emit({ ...this.base(at), kind: 'stage', stage, phase: 'end', durationMs, outcome });
    return durationMs;
  }

  log(source: LogSource, text: string): void {
    const at = this.deps.now();
    for (const raw of text.split(/\r?\n/)) {
      const line = this.mask.apply(raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}…` : raw);
      const seq = this.deps.store.appendLog(this.id, source, line, at);
      this.deps.emit({ ...this.base(at), kind: 'log', source, seq, line });
    }
  }

  private base(at: Date) {
    return { deployment: this.id, service: this.service, sandbox: this.sandbox, t: at.toISOString() };
  }
}

/** The most characters of a diagnosis. */
export const MAX_DIAGNOSIS = 600;

/** `text` on one line (line breaks become " | "), at most {@link MAX_DIAGNOSIS} characters. */
export function oneLine(text: string): string {
  const flat = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');
  return flat.length > MAX_DIAGNOSIS ? `${flat.slice(0, MAX_DIAGNOSIS - 1)}…` : flat;
}
