/**
 * Handlers of the deploy namespace (schemas/src/deploy.ts) over the {@link DeployPipeline}:
 * start, get, list, stored logs, cancel, and the live progress stream.
 */
import type { deployMethods } from '../../../schemas/src/deploy';
import type { DeployPipeline } from '../deploy/pipeline';
import { isFinal } from '../deploy/deployment-store';
import type { DeployProgress, DeploymentRecord, DeployRequest } from '../deploy/types';
import type { Params } from '../../../schemas/src/index';
import type { HandlerGroup } from '../rpc/handlers';
import type { HostCommandGate } from '../trust/host-commands';
import { clientRequester } from '../deploy/requesters';

type DeployMethod = keyof typeof deployMethods;

export interface DeployHandlerDeps {
  readonly deploys: DeployPipeline;
  /** Refuses (Untrusted) a deploy whose host build commands the user has not trusted, before anything is queued. */
  readonly hostCommands?: HostCommandGate;
  /** Refuses (ResourceLimit) a deploy whose services would go past the resource limits, before anything is queued. */
  readonly resources?: (req: { readonly repoPath: string; readonly sandbox: string }, services: readonly string[]) => void;
}

/** What {@link gatedStart} answers: the deployments queued, and the dependencies the request added. */
export type Started = ReturnType<DeployPipeline['start']>;

/** The pipeline's request for `deploy/start` params. */
function deployRequestOf(p: Params<'deploy/start'>, requestedBy?: string): DeployRequest {
  return {
    repoPath: p.repoPath,
    sandbox: p.sandbox,
    ...(p.services !== undefined ? { services: p.services } : {}),
    ...(p.profiles !== undefined ? { profiles: p.profiles } : {}),
    ...(p.ref !== undefined ? { ref: p.ref } : {}),
    ...(p.commit !== undefined ? { commit: p.commit } : {}),
    ...(p.includeUncommitted !== undefined ? { includeUncommitted: p.includeUncommitted } : {}),
    ...(requestedBy !== undefined ? { requestedBy } : {}),
  };
}

/**
 * A deploy request as `deploy/start` takes it: planned once (dependencies added); those
 * services are the ones checked — resource limits (ResourceLimit), trusted host commands
 * (Untrusted) — then queued. The daemon's own deploys on a user's behalf (a watch's rebuild)
 * go through it too, so none passes a limit a `deploy/start` would be refused.
 */
export function gatedStart({ deploys, hostCommands, resources }: DeployHandlerDeps): (req: DeployRequest, signal?: AbortSignal) => Promise<Started> {
  return async (req, signal) => {
    const plan = deploys.plan(req);
    resources?.(req, plan.services);
    await hostCommands?.check({ ...req, services: plan.services }, signal);
    return deploys.start(req, plan);
  };
}

/** `deploy/start`: {@link gatedStart}, requested by the client's name. */
export function deployStart(deps: DeployHandlerDeps): HandlerGroup<'deploy/start'>['deploy/start'] {
  const start = gatedStart(deps);
  return (p, ctx) => start(deployRequestOf(p, clientRequester(ctx.session.clientInfo?.name)), ctx.signal);
}

/** The namespace but `deploy/start`, which the daemon composes with the sandbox lifecycle's gate ({@link deployStart}). */
export function deployHandlers(deploys: DeployPipeline): HandlerGroup<Exclude<DeployMethod, 'deploy/start'>> {
  return {
    'deploy/get': (p) => deploys.get(p.id),
    'deploy/list': (p) => ({
      deployments: deploys.list({
        ...(p.sandbox !== undefined ? { sandbox: p.sandbox } : {}),
        ...(p.service !== undefined ? { service: p.service } : {}),
        ...(p.status !== undefined ? { status: p.status } : {}),
        ...(p.limit !== undefined ? { limit: p.limit } : {}),
      }),
    }),
    'deploy/logs': (p) => deploys.logs(p.id, p.afterSeq, p.limit),
    'deploy/cancel': async (p) => ({ status: await deploys.cancel(p.id) }),
    'deploy/subscribe': (p, ctx) => {
      // Validate before opening anything.
      const record = p.deployment !== undefined ? deploys.get(p.deployment) : undefined;
      const sub = ctx.session.subscribe('deploy/progress');
      const matches = (item: DeployProgress) =>
        (p.deployment === undefined || item.deployment === p.deployment) && (p.sandbox === undefined || item.sandbox === p.sandbox);

      // A client that reads too slowly loses log lines (they stay in deploy/logs), never
      // status or stage items: those are few.
      let skipped = 0;
      const push = (item: DeployProgress) => {
        if (item.kind === 'log' && skipped > 0) {
          skipped++;
          return;
        }
        if (!sub.push(item) && item.kind === 'log') {
          skipped = 1;
          void sub.waitForDrain().then(() => {
            const count = skipped - 1;
            skipped = 0;
            if (count > 0) {
              sub.push({ ...item, source: 'daemon', line: `${count} log line(s) skipped because the client read too slowly: deploy/logs has them all`, t: new Date().toISOString() });
            }
          });
        }
      };

      if (record) {
        // Everything the deployment recorded so far, then live — read and subscribed in one tick.
        for (const item of replay(record, deploys)) push(item);
        if (isFinal(record.status) && !deploys.isActive(record.id)) {
          sub.end('completed');
          return { subscription: sub.id };
        }
      }
      const off = deploys.on('progress', (item) => {
        if (!matches(item)) return;
        push(item);
        if (p.deployment !== undefined && item.kind === 'status' && item.status && isFinal(item.status) && item.deployment === p.deployment) {
          sub.end('completed');
        }
      });
      sub.signal.addEventListener('abort', off, { once: true });
      return { subscription: sub.id };
    },
  };
}

/** The items a deployment has produced so far, oldest first, ending with its current status. */
function replay(record: DeploymentRecord, deploys: DeployPipeline): DeployProgress[] {
  const base = { deployment: record.id, sandbox: record.sandbox, service: record.service };
  const items: DeployProgress[] = [{ ...base, kind: 'status', status: 'queued', t: record.createdAt }];
  for (const s of record.stages) {
    items.push({ ...base, kind: 'stage', stage: s.stage, phase: 'begin', t: s.startedAt });
    if (s.finishedAt) {
      items.push({
        ...base,
        kind: 'stage',
        stage: s.stage,
        phase: 'end',
        t: s.finishedAt,
        ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
        ...(s.outcome ? { outcome: s.outcome } : {}),
      });
    }
  }
  let after = 0;
  for (;;) {
    const page = deploys.logs(record.id, after, 1000);
    for (const l of page.lines) items.push({ ...base, kind: 'log', source: l.source, seq: l.seq, line: l.line, t: l.t });
    if (!page.more || page.lines.length === 0) break;
    after = page.lines.at(-1)!.seq;
  }
  items.sort((a, b) => a.t.localeCompare(b.t));
  if (record.status !== 'queued') {
    items.push({
      ...base,
      kind: 'status',
      status: record.status,
      t: record.finishedAt ?? new Date().toISOString(),
      ...(record.diagnosis ? { diagnosis: record.diagnosis } : {}),
    });
  }
  return items;
}
