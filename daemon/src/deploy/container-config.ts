/**
 * What the engine is asked to create for a deployment's container: its ports published on
 * 127.0.0.1 (unless told otherwise) — the primary one and each further one on its own host
 * port —, attached to the sandbox's network (with no alias: those come at switch-over),
 * confined as `deploy/hardening.ts` said, with what a compose service adds (entrypoint,
 * command, working folder, user labels under the owner's, Docker healthcheck, mounts, tmpfs).
 * The engine restarts it only when the service asks for a restart policy; otherwise the
 * health monitor decides (lifecycle/health-monitor.ts leaves restarts to the engine when it has one).
 */
import type { ContainerCreateSpec } from '../docker/types';
import type { ContainerSpec, PublishedPort } from './deploy-docker';

const NS_PER_MS = 1_000_000;

export function containerConfig(spec: ContainerSpec): ContainerCreateSpec {
  const hostIp = spec.hostIp ?? '127.0.0.1';
  const published: PublishedPort[] = [
    ...(spec.containerPort !== undefined && spec.hostPort !== undefined ? [{ container: spec.containerPort, protocol: 'tcp' as const, hostPort: spec.hostPort }] : []),
    ...(spec.published ?? []).filter((p) => !(p.container === spec.containerPort && p.protocol === 'tcp')),
  ];
  const key = (port: number, protocol: string) => `${port}/${protocol}`;
  const exposed = [...published.map((p) => key(p.container, p.protocol)), ...(spec.expose ?? []).map((p) => key(p, 'tcp'))];
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of published) (bindings[key(p.container, p.protocol)] ??= []).push({ HostIp: hostIp, HostPort: String(p.hostPort) });
  const userLabels = Object.fromEntries(Object.entries(spec.userLabels ?? {}).filter(([k]) => !k.startsWith('branchbox.')));
  const hc = spec.healthcheck;
  return {
    Name: spec.name,
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...userLabels, ...spec.labels },
    ...(exposed.length ? { ExposedPorts: Object.fromEntries(exposed.map((k) => [k, {}])) } : {}),
    ...(spec.entrypoint ? { Entrypoint: [...spec.entrypoint] } : {}),
    ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}),
    ...(spec.workingDir !== undefined ? { WorkingDir: spec.workingDir } : {}),
    ...(spec.security?.user !== undefined ? { User: spec.security.user } : {}),
    ...(hc
      ? {
          Healthcheck: {
            Test: [...hc.test],
            ...(hc.intervalMs !== undefined ? { Interval: hc.intervalMs * NS_PER_MS } : {}),
            ...(hc.timeoutMs !== undefined ? { Timeout: hc.timeoutMs * NS_PER_MS } : {}),
            ...(hc.retries !== undefined ? { Retries: hc.retries } : {}),
            ...(hc.startPeriodMs !== undefined ? { StartPeriod: hc.startPeriodMs * NS_PER_MS } : {}),
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: spec.network,
      ...(published.length ? { PortBindings: bindings } : {}),
      ...(spec.binds?.length ? { Binds: [...spec.binds] } : {}),
      ...(spec.mounts?.length
        ? {
            Mounts: spec.mounts.map((m) => ({
              Type: m.type,
              ...(m.source !== undefined ? { Source: m.source } : {}),
              Target: m.target,
              ReadOnly: m.readOnly,
            })),
          }
        : {}),
      ...(spec.tmpfs?.length ? { Tmpfs: Object.fromEntries(spec.tmpfs.map(tmpfsEntry)) } : {}),
      ...(spec.nanoCpus ? { NanoCpus: spec.nanoCpus } : {}),
      ...(spec.memoryBytes ? { Memory: spec.memoryBytes } : {}),
      ...(spec.security
        ? {
            Privileged: false,
            SecurityOpt: spec.security.noNewPrivileges ? ['no-new-privileges'] : [],
            CapDrop: [...spec.security.capDrop],
            CapAdd: [...spec.security.capAdd],
            PidsLimit: spec.security.pidsLimit,
          }
        : {}),
      RestartPolicy: spec.restart
        ? { Name: spec.restart.name, ...(spec.restart.name === 'on-failure' && spec.restart.maximumRetryCount !== undefined ? { MaximumRetryCount: spec.restart.maximumRetryCount } : {}) }
        : { Name: 'no' },
    },
  };
}

/** `path[:options]` → [path, options]. */
function tmpfsEntry(entry: string): [string, string] {
  const colon = entry.indexOf(':');
  return colon < 0 ? [entry, ''] : [entry.slice(0, colon), entry.slice(colon + 1)];
}
