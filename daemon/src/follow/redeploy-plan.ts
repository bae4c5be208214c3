/**
 * The one decision of follow, pure: given what a sandbox serves (each service's branch and
 * commit), the heads of those branches now, the heads follow's redeploys failed at, and the
 * services with a deployment in flight, which services to redeploy at which head — one
 * request per branch — and why the others are left as they are.
 */
import type { FailedHeads } from '../sandbox/follow-store';

export interface ServedService {
  readonly service: string;
  /** The branch it was deployed from; absent: deployed from a commit, or not deployed (nothing to follow). */
  readonly branch?: string;
  readonly commit?: string;
}

export interface PlanInput {
  readonly services: readonly ServedService[];
  /** The head of each branch the services serve from; undefined when the branch no longer exists. */
  readonly heads: ReadonlyMap<string, string | undefined>;
  readonly failed: FailedHeads;
  /** Services with a deployment queued or running (anyone's): decided again once it ends. */
  readonly busy: ReadonlySet<string>;
}

export interface Redeploy {
  readonly branch: string;
  readonly commit: string;
  /** By name. */
  readonly services: readonly string[];
}

export type SkipReason = 'failed' | 'no-branch' | 'busy';

export interface Skip {
  readonly service: string;
  readonly branch: string;
  readonly commit?: string;
  readonly reason: SkipReason;
}

export interface Plan {
  readonly redeploys: readonly Redeploy[];
  /** Services behind their branch that are not redeployed now, and why. */
  readonly skipped: readonly Skip[];
  /** `failed` without the heads a branch has moved away from (tried again from now on). */
  readonly failed: FailedHeads;
}

/** The branches the services serve from, each once, in order. */
export function branchesServed(services: readonly ServedService[]): string[] {
  return [...new Set(services.flatMap((s) => (s.branch !== undefined && s.commit !== undefined ? [s.branch] : [])))];
}

export function planRedeploys(input: PlanInput): Plan {
  const byBranch = new Map<string, { commit: string; services: string[] }>();
  const skipped: Skip[] = [];
  const failed: Record<string, string> = {};
  for (const s of input.services) {
    if (s.branch === undefined || s.commit === undefined) continue;
    const head = input.heads.get(s.branch);
    if (head === undefined) {
      skipped.push({ service: s.service, branch: s.branch, reason: 'no-branch' });
      continue;
    }
    const failedAt = Object.hasOwn(input.failed, s.service) ? input.failed[s.service] : undefined;
    if (sameCommit(s.commit, head)) continue;
    if (failedAt === head) failed[s.service] = head;
    if (failedAt === head) skipped.push({ service: s.service, branch: s.branch, commit: head, reason: 'failed' });
    else if (input.busy.has(s.service)) skipped.push({ service: s.service, branch: s.branch, commit: head, reason: 'busy' });
    else {
      const entry = byBranch.get(s.branch) ?? { commit: head, services: [] };
      entry.services.push(s.service);
      byBranch.set(s.branch, entry);
    }
  }
  const redeploys = [...byBranch].map(([branch, { commit, services }]) => ({ branch, commit, services: services.sort() }));
  return { redeploys, skipped, failed };
}

/** Commit ids compared whole, or by the shorter's prefix when one is abbreviated. */
function sameCommit(a: string, b: string): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 7 && long.toLowerCase().startsWith(short.toLowerCase());
}
