/**
 * What the engine is asked to create for a deployment's container: its one port published
 * on 127.0.0.1 (unless told otherwise), attached to the sandbox's network (with no alias:
 * those come at switch-over), confined as `deploy/hardening.ts` said, never restarted by the
 * engine (the health monitor decides).
 */
import type { ContainerCreateSpec } from '../docker/types';
import type { ContainerSpec } from './deploy-docker';

export function containerConfig(spec: ContainerSpec): ContainerCreateSpec {
  const port = spec.containerPort === undefined ? undefined : `${spec.containerPort}/tcp`;
  return {
    Name: spec.name,
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels },
    ...(port ? { ExposedPorts: { [port]: {} } } : {}),
    ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}),
    ...(spec.security?.user !== undefined ? { User: spec.security.user } : {}),
    HostConfig: {
      NetworkMode: spec.network,
      ...(port ? { PortBindings: { [port]: [{ HostIp: spec.hostIp ?? '127.0.0.1', HostPort: String(spec.hostPort) }] } } : {}),
      ...(spec.binds?.length ? { Binds: [...spec.binds] } : {}),
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
      RestartPolicy: { Name: 'no' },
    },
  };
}
