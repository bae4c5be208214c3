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
});
