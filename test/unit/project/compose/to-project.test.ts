/**
 * Normalization of each supported compose field to the ServiceConfig model, and the checks
 * made on the whole project: names, dependencies, cycles, volumes, bind mounts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadProject } from '../../../../daemon/src/project/load';
import { parseGoDuration, parsePort } from '../../../../daemon/src/project/compose/service-fields';
import { composeRepo, problemsOf, removeRepos, warningsOf } from './compose-repo';

afterAll(removeRepos);

const one = (service: string, rest = '') => loadProject(composeRepo({ 'compose.yaml': `services:\n  s:\n${service}${rest}` })).services.s!;

describe('ports and expose', () => {
  it('reads every short form', () => {
    expect(parsePort('8080')).toEqual([{ container: 8080, protocol: 'tcp' }]);
    expect(parsePort(3000)).toEqual([{ container: 3000, protocol: 'tcp' }]);
    expect(parsePort('5432:5432')).toEqual([{ container: 5432, protocol: 'tcp', published: 5432 }]);
    expect(parsePort('127.0.0.1:8001:80')).toEqual([{ container: 80, protocol: 'tcp', published: 8001 }]);
    expect(parsePort('[::1]:8002:80')).toEqual([{ container: 80, protocol: 'tcp', published: 8002 }]);
    expect(parsePort('127.0.0.1::80')).toEqual([{ container: 80, protocol: 'tcp' }]);
    expect(parsePort('53:53/udp')).toEqual([{ container: 53, protocol: 'udp', published: 53 }]);
    expect(parsePort('9000-9001:7000-7001')).toEqual([
      { container: 7000, protocol: 'tcp', published: 9000 },
      { container: 7001, protocol: 'tcp', published: 9001 },
    ]);
    expect(parsePort('3000-3001')).toEqual([
      { container: 3000, protocol: 'tcp' },
      { container: 3001, protocol: 'tcp' },
    ]);
  });

  it('reads the long form', () => {
    expect(parsePort({ target: 80, published: '8080', protocol: 'tcp', host_ip: '127.0.0.1', mode: 'host' })).toEqual([
      { container: 80, protocol: 'tcp', published: 8080 },
    ]);
    expect(parsePort({ target: 53, protocol: 'udp' })).toEqual([{ container: 53, protocol: 'udp' }]);
  });

  it('refuses what is not a port', () => {
    expect(() => parsePort('80/sctp')).toThrow('protocol "sctp" is not supported (tcp or udp)');
    expect(() => parsePort('0:80')).toThrow('host port 0 is not between 1 and 65535');
    expect(() => parsePort('9000-9002:80-81')).toThrow('maps 3 host ports to 2 container ports');
    expect(() => parsePort('1-1000')).toThrow('has more than 100 ports');
    expect(() => parsePort('http')).toThrow('"http" is not a container port');
  });

  it('takes the x-branchbox port, else the first published, else the first exposed', () => {
    expect(one('    image: a\n    ports: ["9000:90", "81"]\n    expose: ["70"]\n')).toMatchObject({ port: 90, http: false, expose: [70] });
    expect(one('    image: a\n    expose: ["70-71", "72/tcp"]\n')).toMatchObject({ port: 70, expose: [70, 71, 72] });
    expect(one('    image: a\n')).not.toHaveProperty('port');
    expect(one('    image: a\n    ports: ["90"]\n', 'x-branchbox:\n  services:\n    s: { port: 91, http: true }\n')).toMatchObject({ port: 91, http: true });
  });
});

describe('build, command, entrypoint, environment', () => {
  it('reads build as a string or {context, dockerfile, args, target}, and image alone', () => {
    expect(one('    build: ./app\n')).toMatchObject({ context: 'app', build: { kind: 'dockerfile', dockerfile: 'Dockerfile', args: {} } });
    expect(one('    build:\n      context: app\n      dockerfile: docker/Dev.Dockerfile\n      args: [A=1, B]\n      target: dev\n')).toMatchObject({
      context: 'app',
      build: { kind: 'dockerfile', dockerfile: 'docker/Dev.Dockerfile', args: { A: '1' }, target: 'dev' },
    });
    expect(one('    image: redis:7\n')).toMatchObject({ context: '.', build: { kind: 'image', image: 'redis:7' } });
    const both = composeRepo({ 'compose.yaml': 'services:\n  s:\n    build: .\n    image: mine:1\n' });
    expect(loadProject(both).services.s!.build.kind).toBe('dockerfile');
    expect(warningsOf(both)).toEqual(['compose.yaml:4:5 services.s.image: image is ignored beside build: Branchbox names the images it builds']);
  });

  it('splits string commands like a shell without expanding, keeps lists, [] clears the entrypoint', () => {
    expect(one(`    image: a\n    command: sh -c 'echo "$$HOME" && ls'\n    entrypoint: []\n`)).toMatchObject({
      command: ['sh', '-c', 'echo "$HOME" && ls'],
      entrypoint: [],
    });
    expect(one('    image: a\n    entrypoint: ["/bin/tini", "--"]\n')).toMatchObject({ entrypoint: ['/bin/tini', '--'] });
  });

  it('reads environment as a map or a list, values as strings', () => {
    expect(one('    image: a\n    environment:\n      N: 1\n      T: true\n      E: ""\n')).toMatchObject({ env: { N: '1', T: 'true', E: '' } });
    expect(one('    image: a\n    environment: [A=1, "B=x=y"]\n')).toMatchObject({ env: { A: '1', B: 'x=y' } });
  });

  it('refuses a build context outside the repository, and a service with neither build nor image', () => {
    const dir = composeRepo({ 'compose.yaml': 'services:\n  a:\n    build: ../elsewhere\n  b:\n    environment: { A: 1 }\n' });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:3:12 services.a.build.context: must be a relative path inside the repository',
      'compose.yaml:4:3 services.b: needs build or image',
    ]);
  });
});

describe('volumes and tmpfs', () => {
  it('reads named, anonymous and bind mounts, short and long, with :ro', () => {
    const s = one(
      '    image: a\n    volumes:\n      - data:/data\n      - /anon\n      - ./src:/app/src:ro\n      - type: bind\n        source: ./conf\n        target: /conf\n        read_only: true\n      - type: volume\n        target: /v\n      - type: tmpfs\n        target: /scratch\n    tmpfs: [/run, "/tmp:size=64m"]\n',
      'volumes:\n  data: {}\n',
    );
    expect(s.volumes).toEqual([
      { type: 'volume', source: 'data', target: '/data', readOnly: false },
      { type: 'volume', target: '/anon', readOnly: false },
      { type: 'bind', source: 'src', target: '/app/src', readOnly: true },
      { type: 'bind', source: 'conf', target: '/conf', readOnly: true },
      { type: 'volume', target: '/v', readOnly: false },
      { type: 'tmpfs', target: '/scratch', readOnly: false },
    ]);
    expect(s.tmpfs).toEqual(['/run', '/tmp:size=64m']);
  });

  it('warns of mount options it does not apply', () => {
    const dir = composeRepo({
      'compose.yaml':
        'services:\n  s:\n    image: a\n    volumes:\n      - ./src:/src:ro,z\n      - type: tmpfs\n        target: /t\n        tmpfs: { size: 1000 }\n',
    });
    expect(warningsOf(dir)).toEqual([
      'compose.yaml:5:9 services.s.volumes.0: z is ignored for this mount',
      'compose.yaml:6:9 services.s.volumes.1: tmpfs.size is ignored for this mount',
    ]);
  });

  it('lists the declared volumes with their labels', () => {
    const project = loadProject(composeRepo({ 'compose.yaml': 'services:\n  s:\n    image: a\nvolumes:\n  a:\n  b:\n    labels: [x=1]\n' }));
    expect(project.volumes).toEqual({ a: {}, b: { labels: { x: '1' } } });
  });

  it('refuses a volume declared twice, at the second declaration', () => {
    const dir = composeRepo({ 'compose.yaml': 'services:\n  s:\n    image: a\nvolumes:\n  data: {}\n  data: {}\n' });
    expect(problemsOf(dir)).toEqual([expect.stringMatching(/^compose\.yaml:6:3 : Map keys must be unique/)]);
  });

  it('refuses binds outside the repository, undeclared volumes, a target mounted twice', () => {
    const dir = composeRepo({
      'compose.yaml': [
        'services:',
        '  s:',
        '    image: a',
        '    volumes:',
        '      - /etc:/host-etc',
        '      - ../up:/up',
        '      - ~/home:/home',
        '      - undeclared:/u',
        '      - data:/d',
        '      - ./d:/d',
        'volumes:',
        '  data:',
        '',
      ].join('\n'),
    });
    const refused = 'bind mounts outside the repository are refused: mount a relative path inside the repository (./data), or use a named volume';
    expect(problemsOf(dir)).toEqual([
      `compose.yaml:5:9 services.s.volumes.0: ${refused} ("/etc")`,
      `compose.yaml:6:9 services.s.volumes.1: ${refused} ("../up")`,
      `compose.yaml:7:9 services.s.volumes.2: ${refused} ("~/home")`,
      'compose.yaml:8:9 services.s.volumes.3: the volume "undeclared" is not declared under the top-level volumes: (declared: data)',
      'compose.yaml:10:9 services.s.volumes.5: mounts at /d twice',
    ]);
  });
});

describe('depends_on, healthcheck, restart and the rest', () => {
  it('reads depends_on as a list or a map; a service waited on to complete is a job', () => {
    const project = loadProject(
      composeRepo({
        'compose.yaml':
          'services:\n  api:\n    image: a\n    depends_on:\n      migrate: { condition: service_completed_successfully }\n      db: { condition: service_healthy, restart: true }\n  web:\n    image: a\n    depends_on: [api]\n  migrate:\n    image: a\n  db:\n    image: a\n',
      }),
    );
    expect(project.services.api!.dependsOn).toEqual({
      migrate: { condition: 'service_completed_successfully', required: true, restart: false },
      db: { condition: 'service_healthy', required: true, restart: true },
    });
    expect(project.services.web!.dependsOn).toEqual({ api: { condition: 'service_started', required: true, restart: false } });
    expect(project.services.migrate!.job).toBe(true);
    expect(project.services.db!.job).toBeUndefined();
  });

  it('reads healthchecks: CMD, CMD-SHELL, a string, NONE, disable, Go durations', () => {
    expect(one('    image: a\n    healthcheck:\n      test: ["CMD", "pg_isready"]\n      interval: 1m30s\n      timeout: 500ms\n      retries: 5\n      start_period: 2s\n').healthcheck).toEqual({
      test: ['CMD', 'pg_isready'],
      intervalMs: 90_000,
      timeoutMs: 500,
      retries: 5,
      startPeriodMs: 2000,
    });
    expect(one('    image: a\n    healthcheck: { test: ["CMD-SHELL", "curl -f localhost || exit 1"] }\n').healthcheck).toEqual({ test: ['CMD-SHELL', 'curl -f localhost || exit 1'] });
    expect(one('    image: a\n    healthcheck: { test: redis-cli ping }\n').healthcheck).toEqual({ test: ['CMD-SHELL', 'redis-cli ping'] });
    expect(one('    image: a\n    healthcheck: { test: ["NONE"] }\n').healthcheck).toEqual({ test: ['NONE'] });
    expect(one('    image: a\n    healthcheck: { disable: true }\n').healthcheck).toEqual({ test: ['NONE'] });
    expect(parseGoDuration('1h2m3s4ms')).toBe(3_723_004);
    expect(() => parseGoDuration('5 s')).toThrow('is not a duration');
  });

  it('reads restart, user, working_dir, labels, resources, pids_limit, profiles', () => {
    const s = one(
      '    image: a\n    restart: unless-stopped\n    user: "1000:1000"\n    working_dir: /srv\n    labels: { a: "1" }\n    cpus: 1.5\n    mem_limit: 1g\n    pids_limit: 100\n    profiles: [debug, tools]\n',
    );
    expect(s).toMatchObject({
      restart: { name: 'unless-stopped' },
      security: { user: '1000:1000', pidsLimit: 100 },
      workingDir: '/srv',
      labels: { a: '1' },
      resources: { nanoCpus: 1_500_000_000, memoryBytes: 1024 ** 3 },
      profiles: ['debug', 'tools'],
    });
    expect(one('    image: a\n    restart: "no"\n').restart).toEqual({ name: 'no' });
    expect(one('    image: a\n    restart: always\n').restart).toEqual({ name: 'always' });
  });

  it('takes HTTP, the probe and security from x-branchbox; branchbox.yaml wins over it', () => {
    const dir = composeRepo({
      'compose.yaml':
        'services:\n  api:\n    image: a\n    expose: ["80"]\nx-branchbox:\n  services:\n    api:\n      http: true\n      health: { path: /health, interval: 2s }\n      security: { capAdd: [CAP_CHOWN] }\n',
      'branchbox.yaml': 'version: 1\ncompose: [compose.yaml]\nservices:\n  api:\n    health: { command: pg_isready -q, retries: 9 }\n',
    });
    const api = loadProject(dir).services.api!;
    expect(api).toMatchObject({ http: true, port: 80, security: { capAdd: ['CHOWN'] } });
    // branchbox.yaml's health replaces x-branchbox's whole
    expect(api.health).toEqual({ command: ['pg_isready', '-q'], intervalMs: 5000, timeoutMs: 2000, retries: 9, startPeriodMs: 0 });
  });
});

describe('problems at the field', () => {
  it('points a bad duration, limit or size at its own line', () => {
    const dir = composeRepo({
      'compose.yaml':
        'services:\n  s:\n    image: a\n    healthcheck:\n      test: ["CMD", "true"]\n      interval: soon\n    deploy:\n      resources:\n        limits:\n          cpus: "0"\n          memory: lots\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:6:17 services.s.healthcheck.interval: "soon" is not a duration such as 10s, 1m30s or 500ms',
      expect.stringMatching(/^compose\.yaml:10:17 services\.s\.deploy\.resources\.limits\.cpus: /),
      expect.stringMatching(/^compose\.yaml:11:19 services\.s\.deploy\.resources\.limits\.memory: /),
    ]);
  });

  it('refuses compose files without services', () => {
    expect(problemsOf(composeRepo({ 'compose.yaml': 'volumes:\n  data: {}\n' }))).toEqual(['compose.yaml:1:1 services: the compose files define no services']);
  });
});

describe('project checks', () => {
  it('names a dependency cycle and a dependency on a missing service', () => {
    const dir = composeRepo({
      'compose.yaml':
        'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c, ghost]\n  c:\n    image: x\n    depends_on: [a]\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:4:5 services.a.depends_on: dependency cycle: a → b → c → a',
      'compose.yaml:7:21 services.b.depends_on.ghost: depends on "ghost", which is not a service (services: a, b, c)',
    ]);
  });

  it('says how to rename a service name Branchbox cannot use', () => {
    const dir = composeRepo({ 'compose.yaml': 'services:\n  My_DB:\n    image: x\n' });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:2:3 services.My_DB: "My_DB" is not a Branchbox service name (lowercase a-z, 0-9 and "-", 1 to 40 characters, not starting or ending with "-"): rename it in the compose files, e.g. to "my-db", and where depends_on names it',
    ]);
  });

  it('checks x-branchbox routes, services and health against the compose services', () => {
    const dir = composeRepo({
      'compose.yaml':
        'services:\n  web:\n    image: x\nx-branchbox:\n  routes:\n    /: nope\n  services:\n    ghost: { port: 80 }\n    web: { health: { path: /h } }\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:2:3 services.web: is served over HTTP but has no port: give x-branchbox services.web.port, ports or expose',
      'compose.yaml:6:8 x-branchbox.routes./: routes to "nope", which is neither a service nor a baseline entry (services: web)',
      'compose.yaml:8:5 x-branchbox.services.ghost: "ghost" is not a service of the compose files (services: web)',
    ]);
  });
});

describe('what a branch cannot reach through its compose project', () => {
  it('checks x-branchbox security as branchbox.yaml security: no ALL, real capabilities, never privileged', () => {
    const dir = composeRepo({
      'compose.yaml': 'services:\n  web:\n    image: a\nx-branchbox:\n  services:\n    web:\n      security: { capAdd: [ALL, BOGUS], privileged: true }\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:7:28 x-branchbox.services.web.security.capAdd.0: ALL would give back every capability: list the ones the service needs',
      'compose.yaml:7:33 x-branchbox.services.web.security.capAdd.1: "BOGUS" is not a Linux capability (e.g. CHOWN, SETUID, NET_BIND_SERVICE)',
      'compose.yaml:7:53 x-branchbox.services.web.security.privileged: must be false: Branchbox never runs privileged containers (give the service the capabilities it needs in capAdd)',
    ]);
  });

  it.each(['compose.yaml', '.env', 'branchbox.yaml'])('refuses a committed %s that links outside the repository', (name) => {
    const outside = composeRepo({ 'host.txt': 'SECRET=hello\nservices: {}\n' });
    const files: Record<string, string> = { 'compose.yaml': 'services:\n  web:\n    image: a\n    environment: [LEAK=${SECRET:-none}]\n' };
    if (name === 'branchbox.yaml') files['branchbox.yaml'] = 'version: 1\ncompose: [compose.yaml]\n';
    const dir = composeRepo(files);
    fs.rmSync(path.join(dir, name), { force: true });
    fs.symlinkSync(path.join(outside, 'host.txt'), path.join(dir, name));
    expect(problemsOf(dir)).toEqual([`${name}:1:1 : is a link leading outside the repository: project files are read from the repository only`]);
  });

  it('reports an unclosed quote in a 200 KB env file scanning each line once', () => {
    const dir = composeRepo({
      'compose.yaml': 'services:\n  web:\n    image: a\n',
      '.env': 'A="x\n' + 'abcdefghi\n'.repeat(20_000),
    });
    expect(problemsOf(dir)).toEqual(['.env:1:1 : the value of A has no closing "']);
  }, 5_000);
});
