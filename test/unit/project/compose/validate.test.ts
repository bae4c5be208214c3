/**
 * What the compose-spec schema refuses, and every key Branchbox does not support: refused
 * (a problem) or warned (Project.warnings), each at its file:line, never silently ignored.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../../../daemon/src/project/load';
import { BUILD_KEYS, SERVICE_KEYS, TOP_LEVEL_KEYS } from '../../../../daemon/src/project/compose/unsupported';
import { composeRepo, problemsOf, removeRepos, warningsOf } from './compose-repo';

afterAll(removeRepos);

describe('compose-spec schema', () => {
  it('reports unknown keys and wrong types at file:line', () => {
    const dir = composeRepo({
      'compose.yaml': 'services:\n  web:\n    image: a\n    imagee: b\n    expose: 80\nservicez: {}\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:4:5 services.web.imagee: is not a key of the compose specification',
      'compose.yaml:5:13 services.web.expose: must be a list',
      'compose.yaml:6:1 servicez: is not a key of the compose specification',
    ]);
  });

  it('reports YAML syntax and duplicate keys at their line', () => {
    expect(problemsOf(composeRepo({ 'compose.yaml': 'services:\n  web:\n    image: a\n    image: b\n' }))[0]).toMatch(/^compose\.yaml:4:5 : Map keys must be unique/);
    expect(problemsOf(composeRepo({ 'compose.yaml': 'services:\n  web: [\n' }))[0]).toMatch(/^compose\.yaml:\d+:\d+ : /);
  });

  it('accepts what the spec added since the published schema: name, depends_on required/restart, env_file path', () => {
    const dir = composeRepo({
      'compose.yaml':
        'name: app\nservices:\n  web:\n    image: a\n    env_file: [{ path: none.env, required: false }]\n    depends_on:\n      db: { condition: service_started, required: false, restart: true }\n  db:\n    image: b\n    healthcheck: { test: ["CMD", "true"], start_interval: 1s }\n',
    });
    expect(loadProject(dir).services.web!.dependsOn).toEqual({ db: { condition: 'service_started', required: false, restart: true } });
  });
});

describe('unsupported keys', () => {
  it('refuses keys that change what runs or weaken confinement, each at its key', () => {
    const dir = composeRepo({
      'compose.yaml': [
        'secrets: {}',
        'services:',
        '  web:',
        '    image: a',
        '    privileged: true',
        '    network_mode: host',
        '    pid: host',
        '    cap_add: [NET_ADMIN]',
        '    container_name: web',
        '    extends: { service: base }',
        '    build:',
        '      context: .',
        '      ssh: [default]',
        '',
      ].join('\n'),
    });
    expect(problemsOf(dir)).toEqual([
      `compose.yaml:1:1 secrets: secrets ${TOP_LEVEL_KEYS.secrets!.why}`,
      `compose.yaml:5:5 services.web.privileged: privileged ${SERVICE_KEYS.privileged!.why}`,
      `compose.yaml:6:5 services.web.network_mode: network_mode ${SERVICE_KEYS.network_mode!.why}`,
      `compose.yaml:7:5 services.web.pid: pid ${SERVICE_KEYS.pid!.why}`,
      `compose.yaml:8:5 services.web.cap_add: cap_add ${SERVICE_KEYS.cap_add!.why}`,
      `compose.yaml:9:5 services.web.container_name: container_name ${SERVICE_KEYS.container_name!.why}`,
      `compose.yaml:10:5 services.web.extends: extends ${SERVICE_KEYS.extends!.why}`,
      `compose.yaml:13:7 services.web.build.ssh: ssh ${BUILD_KEYS.ssh!.why}`,
    ]);
  });

  it('warns of keys the service runs the same without, and loads', () => {
    const dir = composeRepo({
      'compose.yaml': [
        'version: "3.8"',
        'services:',
        '  web:',
        '    image: a',
        '    hostname: web1',
        '    stop_grace_period: 30s',
        '    deploy:',
        '      replicas: 2',
        '      resources:',
        '        limits: { memory: 64m }',
        '        reservations: { memory: 32m }',
        '    networks: [default, backend]',
        'networks:',
        '  backend: {}',
        'volumes:',
        '  data:',
        '    name: shared-data',
        '',
      ].join('\n'),
    });
    expect(warningsOf(dir)).toEqual([
      'compose.yaml:1:1 version: version is obsolete and ignored, as docker compose ignores it',
      'compose.yaml:5:5 services.web.hostname: hostname is ignored: the container is reached by its service name',
      'compose.yaml:6:5 services.web.stop_grace_period: stop_grace_period is ignored: containers stop with the default grace period',
      'compose.yaml:8:7 services.web.deploy.replicas: replicas is ignored: each service runs one container per sandbox',
      'compose.yaml:11:9 services.web.deploy.resources.reservations: reservations is ignored: only limits are applied',
      'compose.yaml:12:25 services.web.networks.1: network "backend" is not supported: the service is on its sandbox network, where the others reach it by its name',
      'compose.yaml:14:3 networks.backend: networks other than default are not supported: every service is on its sandbox network and reaches the others by service name',
      'compose.yaml:17:5 volumes.data.name: name is ignored: each sandbox has its own volume, named after the sandbox and the key',
    ]);
    expect(loadProject(dir).services.web!.resources).toEqual({ memoryBytes: 64 * 1024 * 1024 });
  });

  it('refuses an external volume', () => {
    const dir = composeRepo({ 'compose.yaml': 'services:\n  db:\n    image: a\n    volumes: [data:/data]\nvolumes:\n  data:\n    external: true\n' });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:7:5 volumes.data.external: external would share state between sandboxes, which Branchbox keeps apart',
    ]);
  });
});
