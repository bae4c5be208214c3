/** What the engine is asked to create for a deployment's container. */
import { describe, expect, it } from 'vitest';
import { containerConfig } from '../../../daemon/src/deploy/container-config';
import type { ContainerSpec } from '../../../daemon/src/deploy/deploy-docker';

const spec: ContainerSpec = {
  name: 'sandbox-a_web-d1',
  image: 'branchbox/a/web:abc',
  env: { PORT: '8080', NAME: 'x=y' },
  owner: { sandbox: 'a', service: 'web' },
  labels: { 'branchbox.deployment': 'd1' },
  network: 'branchbox-a',
  containerPort: 8080,
  hostPort: 41234,
};

describe('containerConfig', () => {
  it('publishes the one port on 127.0.0.1, on the sandbox network, never restarted by the engine', () => {
    expect(containerConfig(spec)).toEqual({
      Name: 'sandbox-a_web-d1',
      Image: 'branchbox/a/web:abc',
      Env: ['PORT=8080', 'NAME=x=y'],
      Labels: { 'branchbox.deployment': 'd1' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        NetworkMode: 'branchbox-a',
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '41234' }] },
        RestartPolicy: { Name: 'no' },
      },
    });
  });

  it('carries the command, binds, limits and confinement when given', () => {
    const config = containerConfig({
      ...spec,
      hostIp: '0.0.0.0',
      cmd: ['node', 'server.js'],
      binds: ['/src:/app:ro'],
      nanoCpus: 5e8,
      memoryBytes: 256 * 2 ** 20,
      security: { noNewPrivileges: true, capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'], pidsLimit: 512, user: '1000' },
    });
    expect(config.Cmd).toEqual(['node', 'server.js']);
    expect(config.User).toBe('1000');
    expect(config.HostConfig).toEqual({
      NetworkMode: 'branchbox-a',
      PortBindings: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '41234' }] },
      Binds: ['/src:/app:ro'],
      NanoCpus: 5e8,
      Memory: 256 * 2 ** 20,
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      CapDrop: ['ALL'],
      CapAdd: ['NET_BIND_SERVICE'],
      PidsLimit: 512,
      RestartPolicy: { Name: 'no' },
    });
    expect(containerConfig({ ...spec, security: { noNewPrivileges: false, capDrop: [], capAdd: [], pidsLimit: 100 } })).not.toHaveProperty('User');
  });

  it('publishes every further port on its own host port, exposes the others, and carries what a compose service adds', () => {
    const config = containerConfig({
      ...spec,
      published: [
        { container: 8080, protocol: 'tcp', hostPort: 41234 },
        { container: 5432, protocol: 'tcp', hostPort: 41235 },
        { container: 53, protocol: 'udp', hostPort: 41236 },
      ],
      expose: [9000],
      entrypoint: [],
      cmd: ['postgres', '-c', 'fsync=off'],
      workingDir: '/work',
      userLabels: { team: 'db', 'branchbox.deployment': 'forged', 'branchbox.sandbox': 'other' },
      restart: { name: 'on-failure', maximumRetryCount: 2 },
      healthcheck: { test: ['CMD-SHELL', 'pg_isready'], intervalMs: 500, timeoutMs: 2000, retries: 3, startPeriodMs: 1000 },
      tmpfs: ['/run', '/tmp:size=64m,mode=1777'],
      mounts: [
        { type: 'volume', source: 'sandbox-a_data', target: '/var/lib/data', readOnly: false },
        { type: 'volume', target: '/cache', readOnly: false },
        { type: 'bind', source: '/state/sources/d1/conf', target: '/etc/conf', readOnly: true },
        { type: 'tmpfs', target: '/scratch', readOnly: false },
      ],
      security: { noNewPrivileges: true, capDrop: ['ALL'], capAdd: [], pidsLimit: 512, user: '70:70' },
    });
    expect(config.ExposedPorts).toEqual({ '8080/tcp': {}, '5432/tcp': {}, '53/udp': {}, '9000/tcp': {} });
    expect(config.HostConfig.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '41234' }],
      '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '41235' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '41236' }],
    });
    expect(config.Entrypoint).toEqual([]);
    expect(config.Cmd).toEqual(['postgres', '-c', 'fsync=off']);
    expect(config.WorkingDir).toBe('/work');
    expect(config.User).toBe('70:70');
    // The user's labels, never over Branchbox's own.
    expect(config.Labels).toEqual({ team: 'db', 'branchbox.deployment': 'd1' });
    expect(config.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 2 });
    expect(config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'pg_isready'], Interval: 500e6, Timeout: 2000e6, Retries: 3, StartPeriod: 1000e6 });
    expect(config.HostConfig.Tmpfs).toEqual({ '/run': '', '/tmp': 'size=64m,mode=1777' });
    expect(config.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'sandbox-a_data', Target: '/var/lib/data', ReadOnly: false },
      { Type: 'volume', Target: '/cache', ReadOnly: false },
      { Type: 'bind', Source: '/state/sources/d1/conf', Target: '/etc/conf', ReadOnly: true },
      { Type: 'tmpfs', Target: '/scratch', ReadOnly: false },
    ]);
  });

  it('publishes nothing for a service without ports, and passes restart policies without a retry count as they are', () => {
    const { containerPort: _p, ...noPort } = spec;
    const config = containerConfig({ ...noPort, restart: { name: 'always' }, healthcheck: { test: ['NONE'] } });
    expect(config).not.toHaveProperty('ExposedPorts');
    expect(config.HostConfig).not.toHaveProperty('PortBindings');
    expect(config.HostConfig.RestartPolicy).toEqual({ Name: 'always' });
    expect(config.Healthcheck).toEqual({ Test: ['NONE'] });
    expect(containerConfig({ ...noPort, expose: [6379] }).ExposedPorts).toEqual({ '6379/tcp': {} });
  });
});
