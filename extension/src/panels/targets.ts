/**
 * What a panel shows, resolved against the sandboxes as they are now: a service source of a
 * Logs panel → the container serving that service; a redeploy → which sources switch to which
 * container (and the marker line saying so); a deleted sandbox → the banner. And the panels'
 * titles, unique per target (two tabs never share one). Pure: no `vscode`, no I/O.
 */
import type { DeploymentRecord } from '../../../schemas/src/deploy';
import type { Sandbox } from '../../../schemas/src/sandbox';
import type { LogSourceRef } from '../../../schemas/src/webview';

/** The container serving a service now, and the deployment that put it there. */
export interface Serving {
  readonly container: string;
  readonly deployment?: string;
}

/** The container serving `service` in `sandbox`, if any. */
export function servingOf(sandbox: Sandbox | undefined, service: string): Serving | undefined {
  const s = sandbox?.services.find((v) => v.service === service);
  if (!s?.containerId) return undefined;
  return { container: s.containerId, ...(s.deploymentId ? { deployment: s.deploymentId } : {}) };
}

/** What a source of a Logs panel should read now. */
export type SourceTarget =
  | { readonly kind: 'container'; readonly container: string; readonly deployment?: string }
  /** A service no container serves (yet): the source waits for a deployment. */
  | { readonly kind: 'waiting' }
  /** Its sandbox was deleted: the source stops, keeping its lines. */
  | { readonly kind: 'deleted'; readonly sandbox: string };

/** A source switching to another target. */
export interface SourceSwitch {
  readonly src: number;
  readonly to: SourceTarget;
}

/**
 * The targets of a Logs panel's sources: a plain container source stays on its container; a
 * service source follows the service. Feed it the sandboxes as they change; it answers the
 * sources whose target changed.
 */
export class LogTargets {
  private readonly targets: SourceTarget[];

  constructor(private readonly sources: readonly LogSourceRef[]) {
    this.targets = sources.map((s) => ({ kind: 'container', container: s.container }));
  }

  /** The sandboxes the sources follow services of. */
  get sandboxes(): string[] {
    return [...new Set(this.sources.flatMap((s) => (s.sandbox !== undefined && s.service !== undefined ? [s.sandbox] : [])))];
  }

  target(src: number): SourceTarget {
    return this.targets[src]!;
  }

  /** `name` is now `sandbox` (`undefined`: deleted). Answers the sources that switch. */
  update(name: string, sandbox: Sandbox | undefined): SourceSwitch[] {
    const switches: SourceSwitch[] = [];
    this.sources.forEach((source, src) => {
      if (source.sandbox !== name || source.service === undefined) return;
      const before = this.targets[src]!;
      if (before.kind === 'deleted') return;
      const serving = servingOf(sandbox, source.service);
      const to: SourceTarget = !sandbox
        ? { kind: 'deleted', sandbox: name }
        : serving
          ? { kind: 'container', container: serving.container, ...(serving.deployment ? { deployment: serving.deployment } : {}) }
          : { kind: 'waiting' };
      if (before.kind === to.kind && (to.kind !== 'container' || (before.kind === 'container' && before.container === to.container))) return;
      this.targets[src] = to;
      switches.push({ src, to });
    });
    return switches;
  }
}

/** The line marking, in a service's log, where its new container takes over. */
export function redeployMarker(to: { container: string; deployment?: string }): string {
  return `— redeployed: now container ${to.container.slice(0, 12)}${to.deployment ? ` (deployment ${to.deployment.slice(0, 8)})` : ''} —`;
}

export function deletedBanner(sandbox: string): string {
  return `Sandbox ${sandbox} was deleted. This panel shows what it had before; nothing new arrives.`;
}

/** The banner of a deployment another replaced, and the link to that one. */
export function replacedBanner(record: DeploymentRecord, by: DeploymentRecord | undefined): { text: string; deployment?: { id: string; label: string } } {
  if (!record.supersededBy) return { text: `This deployment of ${record.service} was replaced by a newer one.` };
  const what = by ? `${by.service}${by.ref ? ` ${by.ref}` : ''}${by.commit ? `@${by.commit.slice(0, 7)}` : ''}, ${by.status}` : 'a newer deployment';
  return {
    text: `This deployment of ${record.service} in ${record.sandbox} was replaced by deployment ${record.supersededBy.slice(0, 8)} (${what}).`,
    deployment: { id: record.supersededBy, label: 'Show the new deployment' },
  };
}

// --- Titles ---------------------------------------------------------------------------------

/** A Logs panel's title: services with their sandbox ("Logs: account (demo)"), containers by name. */
export function logsTitle(sources: readonly LogSourceRef[]): string {
  const bySandbox = new Map<string, string[]>();
  const plain: string[] = [];
  for (const s of sources) {
    if (s.sandbox !== undefined && s.service !== undefined) bySandbox.set(s.sandbox, [...(bySandbox.get(s.sandbox) ?? []), s.service]);
    else plain.push(s.label);
  }
  const parts = [...[...bySandbox].map(([sandbox, services]) => `${services.join(', ')} (${sandbox})`), ...plain];
  return `Logs: ${parts.join(', ')}`;
}

/** A Stats panel's title: a sandbox, a service's container, or a container by name — each with what makes it unique. */
export function statsTitle(target: { sandbox?: string; container?: string; name?: string; service?: string; containerSandbox?: string }): string {
  if (target.sandbox !== undefined) return `Stats: sandbox ${target.sandbox}`;
  const id = (target.container ?? '').slice(0, 12);
  if (target.service !== undefined && target.containerSandbox !== undefined) return `Stats: ${target.service} (${target.containerSandbox}) ${id}`;
  return `Stats: ${target.name ?? id}`;
}

/** A Deployment panel's title: service, sandbox and the deployment's short id (one service has many deployments). */
export function deploymentTitle(d: { id: string; service: string; sandbox: string }): string {
  return `Deploy: ${d.service} → ${d.sandbox} #${d.id.slice(0, 8)}`;
}
