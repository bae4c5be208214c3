import { describe, expect, it } from 'vitest';
import { describeStatus, healthFromStatus, humanDuration } from '../../../schemas/src/container-status';
import { engineError } from '../../../daemon/src/docker/dockerode/engine-error';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { DockerodeEventClient, normalizeEvent } from '../../../daemon/src/docker/dockerode/events';
import { matchesLabels } from '../../../daemon/src/docker/labels';
import type { ContainerDetails } from '../../../daemon/src/docker/types';
import { maskContainer } from '../../../daemon/src/methods/docker';
import { Redactor } from '../../../daemon/src/runtime/redactor';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const ago = (ms: number) => new Date(T0 - ms).toISOString();

describe('container status text (as the docker CLI words it)', () => {
  it('words durations like go-units HumanDuration', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(42_000)).toBe('42 seconds');
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(65 * 60_000)).toBe('About an hour');
    expect(humanDuration(5 * 3_600_000)).toBe('5 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
    expect(humanDuration(21 * 86_400_000)).toBe('3 weeks');
    expect(humanDuration(90 * 86_400_000)).toBe('3 months');
    expect(humanDuration(800 * 86_400_000)).toBe('2 years');
  });

  it('describes each state from the facts, as of the given moment', () => {
    expect(describeStatus({ state: 'created' }, T0)).toBe('Created');
    expect(describeStatus({ state: 'running', startedAt: ago(300_000) }, T0)).toBe('Up 5 minutes');
    expect(describeStatus({ state: 'running', startedAt: ago(3000), health: 'starting' }, T0)).toBe(
      'Up 3 seconds (health: starting)',
    );
    expect(describeStatus({ state: 'running', startedAt: ago(3000), health: 'healthy' }, T0)).toBe(
      'Up 3 seconds (healthy)',
    );
    expect(describeStatus({ state: 'paused', startedAt: ago(120_000) }, T0)).toBe('Up 2 minutes (Paused)');
    expect(
      describeStatus({ state: 'exited', startedAt: ago(9e6), finishedAt: ago(7_200_000), exitCode: 137 }, T0),
    ).toBe('Exited (137) 2 hours ago');
    expect(describeStatus({ state: 'restarting', startedAt: ago(9e6), finishedAt: ago(2000), exitCode: 1 }, T0)).toBe(
      'Restarting (1) 2 seconds ago',
    );
    expect(describeStatus({ state: 'dead' }, T0)).toBe('Dead');
    expect(describeStatus({ state: 'removing' }, T0)).toBe('Removal In Progress');
  });

  it('reads the health out of a listed status', () => {
    expect(healthFromStatus('Up 2 minutes (healthy)')).toBe('healthy');
    expect(healthFromStatus('Up 2 seconds (health: starting)')).toBe('starting');
    expect(healthFromStatus('Up 1 second (unhealthy)')).toBe('unhealthy');
    expect(healthFromStatus('Up 2 minutes')).toBeUndefined();
  });
});

describe('engine events, normalized', () => {
  it('splits the action from its detail and keeps the health value', () => {
    // As the engine writes it: timeNano does not fit a double, which only costs nanoseconds.
    const e = normalizeEvent(
      JSON.parse(
        '{"Type":"container","Action":"health_status: healthy","Actor":{"ID":"abc","Attributes":' +
          '{"name":"web","image":"branchbox/busybox:1","branchbox.sandbox":"x"}},"time":1735689600,"timeNano":1735689600123456789}',
      ) as Parameters<typeof normalizeEvent>[0],
    );
    expect(e).toEqual({
      type: 'container',
      action: 'health_status',
      id: 'abc',
      name: 'web',
      labels: { 'branchbox.sandbox': 'x' },
      time: '2025-01-01T00:00:00.123Z',
      health: 'healthy',
    });
  });

  it('carries the exit code of die, and ignores kinds Branchbox does not report', () => {
    const die = normalizeEvent({
      Type: 'container',
      Action: 'die',
      Actor: { ID: 'abc', Attributes: { exitCode: '137', name: 'w' } },
      time: 1,
    });
    expect(die).toMatchObject({ action: 'die', exitCode: 137, labels: {} });
    expect(
      normalizeEvent({
        Type: 'network',
        Action: 'connect',
        Actor: { ID: 'n1', Attributes: { name: 'bridge', container: 'c' } },
        time: 1,
      }),
    ).toEqual({ type: 'network', action: 'connect', id: 'n1', name: 'bridge', time: '1970-01-01T00:00:01.000Z' });
    expect(normalizeEvent({ Type: 'plugin', Action: 'enable', Actor: { ID: 'p' }, time: 1 })).toBeUndefined();
    expect(
      normalizeEvent({ Type: 'container', Action: 'exec_start: sh -c true', Actor: { ID: 'c' }, time: 1 })?.action,
    ).toBe('exec_start');
  });

  it('reads the stream line by line, a character cut between two chunks included', async () => {
    const bytes = Buffer.from(
      '{"Type":"container","Action":"start","Actor":{"ID":"a","Attributes":{"name":"café"}},"time":1}\n\n' +
        '{"Type":"container","Action":"stop","Actor":{"ID":"b"},"time":2}\n',
    );
    const cut = bytes.indexOf('é') + 1; // inside the two bytes of é
    const docker = { getEvents: async () => Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]) };
    const events = [];
    for await (const e of await new DockerodeEventClient(docker as unknown as Docker, 'test').stream({}))
      events.push(e);
    expect(events.map((e) => [e.id, e.action, e.name])).toEqual([
      ['a', 'start', 'café'],
      ['b', 'stop', undefined],
    ]);
  });
});

describe('engine errors, mapped in one place', () => {
  const http = (statusCode: number, message: string) =>
    Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });

  it('maps 404 to the not-found error of the kind', () => {
    expect(
      engineError(http(404, 'No such container: x'), { action: 'inspect', kind: 'container', ref: 'x' }),
    ).toMatchObject({
      errorName: 'ContainerNotFound',
      message: 'No container "x"',
    });
    expect(
      engineError(http(404, 'No such image: y:1'), { action: 'remove', kind: 'image', ref: 'y:1' }).errorName,
    ).toBe('ImageNotFound');
  });

  it('maps a refusal to remove a running container to ContainerRunning, other conflicts to Conflict', () => {
    const running = http(
      409,
      'You cannot remove a running container abc. Stop the container before attempting removal or force remove',
    );
    expect(engineError(running, { action: 'remove', kind: 'container', ref: 'abc' }).errorName).toBe(
      'ContainerRunning',
    );
    const inUse = http(
      409,
      'conflict: unable to delete 8c40 (must be forced) - image is referenced in multiple repositories',
    );
    expect(engineError(inUse, { action: 'remove', kind: 'image', ref: '8c40' })).toMatchObject({
      errorName: 'Conflict',
      message:
        'Cannot remove image "8c40": conflict: unable to delete 8c40 (must be forced) - image is referenced in multiple repositories',
    });
  });

  it('maps connection failures to DockerUnavailable and anything else to DockerError with the engine message', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    expect(
      engineError(refused, { action: 'list', kind: 'container', endpoint: 'unix:///var/run/docker.sock' }),
    ).toMatchObject({
      errorName: 'DockerUnavailable',
      message:
        'Cannot list containers: the Docker engine at unix:///var/run/docker.sock does not answer (ECONNREFUSED). Start Docker or check the Docker host setting.',
    });
    expect(engineError(new Error('socket hang up'), { action: 'start', kind: 'container', ref: 'a' }).errorName).toBe(
      'DockerUnavailable',
    );
    expect(
      engineError(http(500, 'driver failed programming external connectivity'), {
        action: 'start',
        kind: 'container',
        ref: 'a',
      }),
    ).toMatchObject({
      errorName: 'DockerError',
      message: 'Cannot start container "a": driver failed programming external connectivity',
    });
  });
});

describe('labels and secrets', () => {
  it('matches label selectors like Docker does: key or key=value, all of them', () => {
    const labels = { 'branchbox.sandbox': 'a', 'branchbox.managed': 'true' };
    expect(matchesLabels(labels, ['branchbox.sandbox'])).toBe(true);
    expect(matchesLabels(labels, ['branchbox.sandbox=a', 'branchbox.managed=true'])).toBe(true);
    expect(matchesLabels(labels, ['branchbox.sandbox=b'])).toBe(false);
    expect(matchesLabels(labels, ['other'])).toBe(false);
    expect(matchesLabels(labels, undefined)).toBe(true);
  });

  it('masks environment values by the secret-key rule and by secret value, and secret values everywhere else', () => {
    const redactor = new Redactor();
    redactor.setSecrets('environment', ['postgres://app:Zq9-db-pass@db:5432/app', 'Zq9-db-pass', 'tiny']);
    const masked = maskContainer(
      {
        env: [
          'PATH=/bin',
          'API_KEY=abc',
          'DB_PASSWORD=hunter2',
          'GITHUB_TOKEN=ghp_x',
          'client_secret=s',
          'SSH_KEY=k',
          'EMPTY',
          // A secret stored under an innocent key: masked by its value.
          'DATABASE_URL=postgres://app:Zq9-db-pass@db:5432/app',
          'PASSLESS_COPY=user Zq9-db-pass inside',
          // Too short to search for in text, but equal to a secret value as a whole.
          'FLAG=tiny',
          'KEYBOARD=us',
        ],
        labels: { note: 'uses Zq9-db-pass' },
        command: ['--password=Zq9-db-pass'],
        entrypoint: ['/bin/sh', '-c', 'echo Zq9-db-pass'],
        lastHealthProbe: { start: '', end: '', exitCode: 0, output: 'ok Zq9-db-pass' },
      } as unknown as ContainerDetails,
      redactor,
    );
    expect(masked.env).toEqual([
      'PATH=/bin',
      'API_KEY=***',
      'DB_PASSWORD=***',
      'GITHUB_TOKEN=***',
      'client_secret=***',
      'SSH_KEY=***',
      'EMPTY',
      'DATABASE_URL=***',
      'PASSLESS_COPY=***',
      'FLAG=***',
      'KEYBOARD=us',
    ]);
    expect(masked.labels).toEqual({ note: 'uses ***' });
    expect(masked.command).toEqual(['--password=***']);
    expect(masked.entrypoint).toEqual(['/bin/sh', '-c', 'echo ***']);
    expect(masked.lastHealthProbe?.output).toBe('ok ***');
    expect(JSON.stringify(masked)).not.toContain('Zq9-db-pass');
  });
});
