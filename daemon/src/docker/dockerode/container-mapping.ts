/**
 * From the engine's container JSON (as dockerode types it) to Branchbox's plain types:
 * {@link ContainerSummary} from a list entry or an inspect answer, {@link ContainerDetails}
 * from an inspect answer.
 */
import type Docker from 'dockerode';
import { describeStatus, healthFromStatus } from '../../../../schemas/src/container-status';
import { LABELS } from '../labels';
import type { ContainerDetails, ContainerState, ContainerSummary, HealthState, PortMapping } from '../types';

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const HEALTH: readonly HealthState[] = ['starting', 'healthy', 'unhealthy'];

/** A container as `GET /containers/json` lists it. */
export function summaryFromListEntry(c: Docker.ContainerInfo): ContainerSummary {
  const labels = c.Labels ?? {};
  const health = healthFromStatus(c.Status ?? '');
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? '').replace(/^\//, ''),
    image: c.Image,
    state: stateOf(c.State),
    status: c.Status ?? '',
    ...(health ? { health } : {}),
    ports: sortPorts(
      (c.Ports ?? []).map((p) => ({
        container: p.PrivatePort,
        ...(p.PublicPort ? { host: p.PublicPort } : {}),
        ...(p.IP ? { hostIp: p.IP } : {}),
        protocol: protocolOf(p.Type),
      })),
    ),
    labels,
    created: new Date(c.Created * 1000).toISOString(),
    ...branchboxLabels(labels),
  };
}

/** A container as `GET /containers/{id}/json` answers, reduced to its summary; `status` as of `now`. */
export function summaryFromInspect(c: Docker.ContainerInspectInfo, now: number): ContainerSummary {
  const labels = c.Config?.Labels ?? {};
  const healthStatus = c.State.Health?.Status;
  const health = HEALTH.find((h) => h === healthStatus);
  const startedAt = isoOrUndefined(c.State.StartedAt);
  const finishedAt = isoOrUndefined(c.State.FinishedAt);
  const facts = {
    state: c.State.Dead ? 'dead' : stateOf(c.State.Status),
    ...(health ? { health } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(finishedAt ? { finishedAt, exitCode: c.State.ExitCode } : {}),
  } satisfies Partial<ContainerSummary>;
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config?.Image ?? c.Image,
    status: describeStatus(facts, now),
    ports: portsFromInspect(c.NetworkSettings?.Ports ?? {}),
    labels,
    created: isoOrUndefined(c.Created) ?? new Date(0).toISOString(),
    ...facts,
    ...branchboxLabels(labels),
  };
}

/** Everything the protocol tells about one container. The environment is as configured: mask it before it leaves the daemon. */
export function detailsFromInspect(c: Docker.ContainerInspectInfo, now: number): ContainerDetails {
  const lastProbe = c.State.Health?.Log?.at(-1);
  const entrypoint = c.Config?.Entrypoint;
  return {
    ...summaryFromInspect(c, now),
    command: c.Config?.Cmd ?? [],
    entrypoint:
      entrypoint === undefined || entrypoint === null ? [] : Array.isArray(entrypoint) ? entrypoint : [entrypoint],
    ...(c.Config?.WorkingDir ? { workingDir: c.Config.WorkingDir } : {}),
    ...(c.Config?.User ? { user: c.Config.User } : {}),
    tty: c.Config?.Tty ?? false,
    env: c.Config?.Env ?? [],
    mounts: (c.Mounts ?? []).map((m) => ({
      type: m.Type,
      source: m.Source,
      destination: m.Destination,
      ...(m.Name ? { name: m.Name } : {}),
      readOnly: !m.RW,
    })),
    networks: Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
      name,
      id: n.NetworkID,
      ...(n.IPAddress ? { ipAddress: n.IPAddress } : {}),
      aliases: Array.isArray(n.Aliases)
        ? (n.Aliases as unknown[]).filter((a): a is string => typeof a === 'string')
        : [],
    })),
    restartCount: c.RestartCount ?? 0,
    oomKilled: c.State.OOMKilled,
    ...(c.State.Error ? { error: c.State.Error } : {}),
    ...(lastProbe
      ? {
          lastHealthProbe: {
            start: isoOrUndefined(lastProbe.Start) ?? new Date(0).toISOString(),
            end: isoOrUndefined(lastProbe.End) ?? new Date(0).toISOString(),
            exitCode: lastProbe.ExitCode,
            output: lastProbe.Output,
          },
        }
      : {}),
    ...(c.State.Health ? { failingStreak: c.State.Health.FailingStreak } : {}),
  };
}

function branchboxLabels(
  labels: Record<string, string>,
): Pick<ContainerSummary, 'sandbox' | 'service' | 'composeProject'> {
  const sandbox = labels[LABELS.sandbox];
  const service = labels[LABELS.service];
  const composeProject = labels[LABELS.composeProject];
  return {
    ...(sandbox ? { sandbox } : {}),
    ...(service ? { service } : {}),
    ...(composeProject ? { composeProject } : {}),
  };
}

function stateOf(state: string | undefined): ContainerState {
  return STATES.find((s) => s === state) ?? 'dead';
}

function protocolOf(type: string | undefined): PortMapping['protocol'] {
  return type === 'udp' || type === 'sctp' ? type : 'tcp';
}

function portsFromInspect(ports: Docker.ContainerInspectInfo['NetworkSettings']['Ports']): PortMapping[] {
  const out: PortMapping[] = [];
  for (const [key, bindings] of Object.entries(ports)) {
    const [port, proto] = key.split('/');
    const container = Number(port);
    const protocol = protocolOf(proto);
    if (!bindings || bindings.length === 0) {
      out.push({ container, protocol });
      continue;
    }
    for (const b of bindings) {
      out.push({
        container,
        ...(b.HostPort ? { host: Number(b.HostPort) } : {}),
        ...(b.HostIp ? { hostIp: b.HostIp } : {}),
        protocol,
      });
    }
  }
  return sortPorts(out);
}

function sortPorts(ports: PortMapping[]): PortMapping[] {
  return ports.sort(
    (a, b) =>
      a.container - b.container || (a.host ?? 0) - (b.host ?? 0) || (a.hostIp ?? '').localeCompare(b.hostIp ?? ''),
  );
}

/** Docker's timestamps carry nanoseconds and use year 1 for "never". */
export function isoOrUndefined(value: string | undefined): string | undefined {
  if (!value || value.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
