/**
 * branchbox.yaml beyond the limits a real project never reaches: a file too large (refused
 * before it is read), too many services, routes, baseline entries, templates or entries of one
 * map (refused before normalization), and YAML aliases that expand without bound ("billion
 * laughs", refused while the YAML is turned into data) — each a ConfigInvalid naming the file,
 * the line and the limit, like every other bad config, never an InternalError.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject, parseProject } from '../../../daemon/src/project/load';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { PROJECT_FILE_LIMITS } from '../../../schemas/src/limits';

const FILE = '/repo/branchbox.yaml';
type Problem = { file: string; line: number; column: number; field: string; message: string };

function configInvalid(run: () => unknown): { message: string; errors: Problem[] } {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).errorName).toBe('ConfigInvalid');
    return { message: (e as RpcError).message, errors: (e as RpcError).data!.errors as Problem[] };
  }
  throw new Error('expected ConfigInvalid');
}

const service = (name: string, extra = '') =>
  `  ${name}:\n    build: { image: local/${name}:1 }\n    port: 8080\n${extra}`;
const project = (services: string[], rest = '') => `version: 1\nproject: big\nservices:\n${services.join('')}${rest}`;
const names = (n: number, prefix = 's') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('project file limits', () => {
  it(`accepts ${PROJECT_FILE_LIMITS.maxServices} services and refuses one more, naming the limit`, () => {
    const max = PROJECT_FILE_LIMITS.maxServices;
    expect(Object.keys(parseProject(project(names(max).map((n) => service(n))), FILE).services)).toHaveLength(max);
    const { message, errors } = configInvalid(() => parseProject(project(names(max + 1).map((n) => service(n))), FILE));
    expect(message).toBe(`branchbox.yaml:3:1: services has ${max + 1} entries, more than the ${max} allowed`);
    expect(errors).toEqual([{ file: FILE, line: 3, column: 1, field: 'services', message: expect.any(String) }]);
  });

  it('refuses too many routes, baseline entries and templates', () => {
    const routes = `routes:\n${names(PROJECT_FILE_LIMITS.maxRoutes + 1).map((n) => `  /${n}: a\n`).join('')}`;
    expect(configInvalid(() => parseProject(project([service('a')], routes), FILE)).message).toContain(
      `routes has ${PROJECT_FILE_LIMITS.maxRoutes + 1} entries, more than the ${PROJECT_FILE_LIMITS.maxRoutes} allowed`,
    );
    const baseline = `baseline:\n${names(PROJECT_FILE_LIMITS.maxBaseline + 1).map((n) => `  ${n}: http://x\n`).join('')}`;
    expect(configInvalid(() => parseProject(project([service('a')], baseline), FILE)).message).toContain(
      `baseline has ${PROJECT_FILE_LIMITS.maxBaseline + 1} entries`,
    );
    const templates = `templates:\n${names(PROJECT_FILE_LIMITS.maxTemplates + 1).map((n) => `  ${n}: { ttl: 1d }\n`).join('')}`;
    expect(configInvalid(() => parseProject(project([service('a')], templates), FILE)).message).toContain(
      `templates has ${PROJECT_FILE_LIMITS.maxTemplates + 1} entries`,
    );
  });

  it('refuses a service env or a template map with too many entries, at its line', () => {
    const env = `    env:\n${names(PROJECT_FILE_LIMITS.maxEntries + 1, 'K').map((k) => `      ${k}: v\n`).join('')}`;
    const { errors } = configInvalid(() => parseProject(project([service('a'), service('b', env)]), FILE));
    expect(errors).toEqual([
      expect.objectContaining({ line: 10, field: 'services.b.env', message: expect.stringContaining('more than the 500 allowed') }),
    ]);
    const templateServices = `templates:\n  t:\n    services:\n${names(PROJECT_FILE_LIMITS.maxEntries + 1).map((n) => `      ${n}: main\n`).join('')}`;
    expect(configInvalid(() => parseProject(project([service('a')], templateServices), FILE)).errors).toEqual([
      expect.objectContaining({ field: 'templates.t.services' }),
    ]);
  });

  it('refuses a "billion laughs" alias bomb as a config error with its line, quickly', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
      const previous = 'abcdefgh'[i];
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const text = `version: 1\nproject: bomb\nx-bomb:\n${levels.map((l) => `  ${l}\n`).join('')}services: {}\n`;
    const started = performance.now();
    const { message, errors } = configInvalid(() => parseProject(text, FILE));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(message).toMatch(/^branchbox\.yaml:\d+:\d+: .*aliases repeat .* more than 100 times/);
    expect(errors[0]!.line).toBeGreaterThan(3); // at an alias of the bomb, not at the top of the file
  });

  it('refuses an alias to an anchor that does not exist, at its line', () => {
    const { errors } = configInvalid(() => parseProject('version: 1\nproject: x\nservices: *nowhere\n', FILE));
    expect(errors).toEqual([
      expect.objectContaining({ line: 3, column: 11, message: expect.stringContaining('"nowhere"') }),
    ]);
  });

  it('still reads anchors and aliases used as people use them', () => {
    const text =
      'version: 1\nproject: anchors\nservices:\n' +
      '  first:\n    build: { image: local/first:1 }\n    port: 8080\n    health: &health { path: /healthz, interval: 5s }\n' +
      names(50)
        .map((n) => `  ${n}:\n    build: { image: local/${n}:1 }\n    port: 8080\n    health: *health\n`)
        .join('');
    expect(parseProject(text, FILE).services.s49!.health).toMatchObject({ path: '/healthz', intervalMs: 5000 });
  });
});

describe('project file size', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-limits-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it(`refuses a file over ${PROJECT_FILE_LIMITS.maxBytes} bytes before reading it, naming the file and the limit`, () => {
    const dir = path.join(tmp, 'huge');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'branchbox.yaml');
    fs.writeFileSync(file, 'version: 1\n');
    fs.truncateSync(file, 8 * 1024 ** 3); // 8 GiB, sparse: reading it would exhaust memory
    const started = performance.now();
    const { message, errors } = configInvalid(() => loadProject(dir));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(message).toBe(
      `branchbox.yaml:1:1: the file is ${8 * 1024 ** 3} bytes, more than the ${PROJECT_FILE_LIMITS.maxBytes} allowed`,
    );
    expect(errors).toEqual([expect.objectContaining({ file, line: 1, column: 1 })]);
  });
});
