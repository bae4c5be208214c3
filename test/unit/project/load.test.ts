import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject, parseProject } from '../../../daemon/src/project/load';
import { RpcError } from '../../../daemon/src/rpc/errors';

const SHOP = path.resolve(__dirname, '../../fixtures/projects/shop');
const FILE = '/repo/branchbox.yaml';

/** The ConfigInvalid problems of `text`, as "line:column field: message". */
function problems(text: string): string[] {
  try {
    parseProject(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    const err = e as RpcError;
    expect(err.errorName).toBe('ConfigInvalid');
    const errors = err.data!.errors as { file: string; line: number; column: number; field: string; message: string }[];
    for (const p of errors) expect(p.file).toBe(FILE);
    return errors.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`);
  }
  throw new Error('expected ConfigInvalid');
}

const header = 'version: 1\nproject: shop\n';

describe('loadProject', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-project-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('normalizes the example project: defaults, units, argv, routes longest first', () => {
    const project = loadProject(SHOP);
    expect(project.name).toBe('shop');
    expect(project.file).toBe(path.join(SHOP, 'branchbox.yaml'));
    expect(project.root).toBe(SHOP);
    expect(project.baseline).toEqual({
      account: 'https://account.staging.example.com',
      payment: 'http://127.0.0.1:9100',
    });
    expect(project.services.account).toEqual({
      name: 'account',
      context: 'services/account',
      build: { kind: 'dockerfile', dockerfile: 'Dockerfile', args: { NODE_ENV: 'production', RETRIES: '3' } },
      port: 8080,
      http: true,
      health: { path: '/healthz', intervalMs: 5000, timeoutMs: 2000, retries: 3, startPeriodMs: 10_000 },
      env: { LOG_LEVEL: 'debug', WORKERS: '2', VERBOSE: 'true' },
      resources: { nanoCpus: 500_000_000, memoryBytes: 256 * 1024 * 1024 },
    });
    expect(project.services.catalog).toMatchObject({
      context: '.',
      build: { kind: 'image', image: 'local/catalog:1' },
      env: {},
      resources: {},
    });
    expect(project.services.catalog!.health).toBeUndefined();
    expect(project.services.worker!.build).toEqual({
      kind: 'command',
      command: ['go', 'build', '-o', 'bin/my worker', './cmd/worker'],
      runtime: 'local/alpine:3',
      cmd: ['/src/bin/my worker'],
    });
    expect(project.routes.map((r) => r.prefix)).toEqual(['/account/admin', '/account', '/payment', '/']);
    expect(project.templates['qa-default']).toEqual({ services: { account: { branch: 'develop' } }, ttl: '3d' });
    expect(project.templates.full).toEqual({
      services: { account: { branch: 'feature/x' }, worker: { commit: 'a1b2c3d' } },
      env: { FEATURE_FLAGS: 'all' },
      routes: { payment: { kind: 'baseline' }, catalog: { kind: 'url', url: 'http://127.0.0.1:9200' } },
      ttl: '12h',
      ttlFrom: 'deploy',
      resources: { memoryBytes: 1024 ** 3 },
    });
  });

  it('keeps the build target of a multi-stage Dockerfile', () => {
    const project = parseProject(`${header}services:\n  api:\n    port: 80\n    build: { target: runtime, args: { A: 1 } }\n`, FILE);
    expect(project.services.api!.build).toEqual({ kind: 'dockerfile', dockerfile: 'Dockerfile', args: { A: '1' }, target: 'runtime' });
  });

  it('takes the yaml file itself as well as its directory', () => {
    expect(loadProject(path.join(SHOP, 'branchbox.yaml')).name).toBe('shop');
  });

  it('answers FileNotFound for a folder without branchbox.yaml and for a missing path', () => {
    expect(() => loadProject(tmp)).toThrow(
      expect.objectContaining({ errorName: 'FileNotFound', message: expect.stringMatching(/No branchbox.yaml in/) }),
    );
    expect(() => loadProject(path.join(tmp, 'nope'))).toThrow(expect.objectContaining({ errorName: 'FileNotFound' }));
  });

  it('puts file, line and field into the error message', () => {
    const file = path.join(tmp, 'branchbox.yaml');
    fs.writeFileSync(file, `${header}services:\n  web:\n    port: eighty\n`);
    expect(() => loadProject(tmp)).toThrow('branchbox.yaml:5:11: services.web.port must be an integer');
  });
});

describe('project file errors name file, line, column and field', () => {
  it.each<[string, string, string[]]>([
    [
      'a YAML syntax error',
      `${header}services:\n  web:\n    port: 80: 81\n`,
      ['5:11 : Nested mappings are not allowed in compact mappings'],
    ],
    [
      'a duplicate key',
      `${header}services:\n  web: { port: 80 }\n  web: { port: 81 }\n`,
      ['5:3 : Map keys must be unique'],
    ],
    ['an empty file', '', ['1:1 : the file must be a mapping with version, project and services']],
    ['a wrong version', 'version: 2\nproject: shop\nservices: { web: { port: 80 } }\n', ['1:10 version: must be 1']],
    ['missing services', header, ['1:1 services: is required']],
    ['a missing port', `${header}services:\n  web:\n    context: web\n`, ['4:3 services.web.port: is required']],
    [
      'a port out of range',
      `${header}services:\n  web:\n    port: 70000\n`,
      ['5:11 services.web.port: must be <= 65535'],
    ],
    [
      'an unknown field',
      `${header}services:\n  web:\n    port: 80\n    colour: red\n`,
      ['6:5 services.web.colour: is not a known field (expected context, build, port, health, env, resources, security, watch)'],
    ],
    [
      'a bad service name',
      `${header}services:\n  Web_1:\n    port: 80\n`,
      [expect.stringMatching(/^4:3 services.Web_1: "Web_1" is not a valid name: service names are lowercase/)] as never,
    ],
    [
      'a bad duration',
      `${header}services:\n  web:\n    port: 80\n    health: { path: /h, interval: 5 }\n`,
      ['6:35 services.web.health.interval: must be a duration such as 5s, 2m or 3d (units ms, s, m, h, d, w)'],
    ],
    [
      'a health path without /',
      `${header}services:\n  web:\n    port: 80\n    health:\n      path: healthz\n`,
      ['7:13 services.web.health.path: must be a path starting with "/"'],
    ],
    [
      'a bad size',
      `${header}services:\n  web:\n    port: 80\n    resources: { memory: 12x }\n`,
      ['6:26 services.web.resources.memory: must be a size such as 256m or 1g, or a number of bytes'],
    ],
    [
      'two build kinds at once',
      `${header}services:\n  web:\n    port: 80\n    build: { image: a, dockerfile: b }\n`,
      ['6:12 services.web.build: must be one of { dockerfile, args }, { image } or { command, runtime, cmd }'],
    ],
    [
      'a wrong type inside one build kind',
      `${header}services:\n  web:\n    port: 80\n    build:\n      dockerfile: 3\n`,
      ['7:19 services.web.build.dockerfile: must be a string'],
    ],
    [
      'a bad env key',
      `${header}services:\n  web:\n    port: 80\n    env: { 1BAD: x }\n`,
      [expect.stringMatching(/^6:12 services.web.env.1BAD: "1BAD" is not a valid name: environment keys/)] as never,
    ],
    [
      'an unterminated quote in a command',
      `${header}services:\n  web:\n    port: 80\n    build: { command: "make 'x", runtime: r }\n`,
      ["6:23 services.web.build.command: unterminated single quote at character 6 of: make 'x"],
    ],
    [
      'a context outside the repository',
      `${header}services:\n  web:\n    port: 80\n    context: ../elsewhere\n`,
      ['6:14 services.web.context: must be a relative path inside the repository'],
    ],
    [
      'a route to an unknown service',
      `${header}services:\n  web: { port: 80 }\nroutes:\n  /api: api\n`,
      ['6:9 routes./api: routes to "api", which is neither a service nor a baseline entry (services: web)'],
    ],
    [
      'a route prefix without /',
      `${header}services:\n  web: { port: 80 }\nroutes:\n  api: web\n`,
      ['6:3 routes.api: "api" is not a valid name: route prefixes start with "/"'],
    ],
    [
      'an unused baseline entry',
      `${header}baseline:\n  pay: http://127.0.0.1:9100\nservices:\n  web: { port: 80 }\n`,
      ['4:3 baseline.pay: "pay" is not a service of this project (services: web) and no route leads to it'],
    ],
    [
      'a baseline that is not a URL',
      `${header}baseline:\n  web: staging\nservices:\n  web: { port: 80 }\n`,
      ['4:8 baseline.web: must be an http:// or https:// URL'],
    ],
    [
      'a template naming an unknown service',
      `${header}services:\n  web: { port: 80 }\ntemplates:\n  qa:\n    services: { api: main }\n`,
      ['7:17 templates.qa.services.api: "api" is not a service of this project (services: web)'],
    ],
    [
      'a template routing to a missing baseline',
      `${header}services:\n  web: { port: 80 }\ntemplates:\n  qa:\n    routes: { web: baseline }\n`,
      ['7:20 templates.qa.routes.web: "web" has no baseline URL in baseline:'],
    ],
    [
      'a template service without branch or commit',
      `${header}services:\n  web: { port: 80 }\ntemplates:\n  qa:\n    services: { web: {} }\n`,
      ['7:22 templates.qa.services.web: needs a branch or a commit'],
    ],
    [
      'a template with a bad ttl and a bad route',
      `${header}services:\n  web: { port: 80 }\ntemplates:\n  qa:\n    ttl: forever\n    routes: { web: nowhere }\n`,
      [
        '7:10 templates.qa.ttl: must be a duration such as 5s, 2m or 3d (units ms, s, m, h, d, w)',
        '8:20 templates.qa.routes.web: must be sandbox, baseline or an http(s) URL',
      ],
    ],
    [
      'a template TTL basis without a ttl',
      `${header}services:\n  web: { port: 80 }\ntemplates:\n  qa:\n    ttlFrom: deploy\n`,
      ['7:14 templates.qa.ttlFrom: needs a ttl'],
    ],
    [
      'an unknown template TTL basis',
      `${header}services:\n  web: { port: 80 }\ntemplates:\n  qa:\n    ttl: 1h\n    ttlFrom: later\n`,
      ['8:14 templates.qa.ttlFrom: must be activity, created, deploy or request'],
    ],
  ])('%s', (_name, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it('reports every problem of a file at once, in line order', () => {
    const text = `version: 3\nproject: shop\nservices:\n  web:\n    port: x\n    colour: red\n  api:\n    context: api\n`;
    expect(problems(text)).toEqual([
      '1:10 version: must be 1',
      '5:11 services.web.port: must be an integer',
      '6:5 services.web.colour: is not a known field (expected context, build, port, health, env, resources, security, watch)',
      '7:3 services.api.port: is required',
    ]);
  });
});
