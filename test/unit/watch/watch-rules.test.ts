/**
 * Watch rules: read from branchbox.yaml `watch:` and compose `develop.watch` (paths made
 * relative to the repository root, sync rules needing an absolute target, unsupported compose
 * actions warned), and the pure mapping of changed files to rules and container paths.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseProject } from '../../../daemon/src/project/load';
import { normalizeWatchRule } from '../../../daemon/src/project/watch-rules';
import { compileRules, planFor, ruleFor, targetOf } from '../../../daemon/src/watch/rule-match';
import { RpcError } from '../../../daemon/src/rpc/errors';
import type { WatchRule } from '../../../schemas/src/project';
import { composeRepo, problemsOf, removeRepos, warningsOf } from '../project/compose/compose-repo';
import { loadProject } from '../../../daemon/src/project/load';

afterAll(removeRepos);

const FILE = '/repo/branchbox.yaml';
const yaml = (watch: string) => `version: 1\nproject: shop\nservices:\n  web:\n    context: web\n    port: 8080\n    watch:\n${watch}`;

function yamlProblems(text: string): string[] {
  try {
    parseProject(text, FILE);
  } catch (e) {
    expect((e as RpcError).errorName).toBe('ConfigInvalid');
    return ((e as RpcError).data!.errors as { line: number; field: string; message: string }[]).map((p) => `${p.line} ${p.field}: ${p.message}`);
  }
  throw new Error('expected ConfigInvalid');
}

describe('branchbox.yaml watch:', () => {
  it('reads each rule with its path relative to the repository root', () => {
    const project = parseProject(
      yaml('      - { action: sync, path: web/static, target: /www }\n      - { action: sync+restart, path: ./web/src/, target: /app/src/, ignore: ["*.test.js"] }\n      - { action: rebuild, path: web/package.json }\n'),
      FILE,
    );
    expect(project.services.web!.watch).toEqual([
      { action: 'sync', path: 'web/static', target: '/www', ignore: [] },
      { action: 'sync+restart', path: 'web/src', target: '/app/src', ignore: ['*.test.js'] },
      { action: 'rebuild', path: 'web/package.json', ignore: [] },
    ]);
  });

  it('a service without watch: has no rules', () => {
    expect(parseProject('version: 1\nproject: shop\nservices:\n  web: { port: 80 }\n', FILE).services.web).not.toHaveProperty('watch');
  });

  it('refuses a sync rule without target, a relative target, a path outside the repository and an unknown action', () => {
    expect(yamlProblems(yaml('      - { action: sync, path: web }\n'))).toEqual([
      '8 services.web.watch.0.target: a sync rule needs target: where "web" is in the container (e.g. /app)',
    ]);
    expect(yamlProblems(yaml('      - { action: sync+restart, path: web, target: app }\n'))).toEqual(['8 services.web.watch.0.target: must be an absolute path in the container']);
    expect(yamlProblems(yaml('      - { action: rebuild, path: ../elsewhere }\n'))).toEqual([
      '8 services.web.watch.0.path: "../elsewhere" is outside the repository: watch a file or folder inside it',
    ]);
    expect(yamlProblems(yaml('      - { action: restart, path: web }\n'))).toEqual(['8 services.web.watch.0.action: must be sync, sync+restart or rebuild']);
  });
});

describe('compose develop.watch', () => {
  const compose = (watch: string) => ({
    'app/compose.yaml': `services:\n  web:\n    build: .\n    develop:\n      watch:\n${watch}`,
    'app/Dockerfile': 'FROM scratch\n',
  });

  it('reads the rules with paths relative to the compose file, and warns of what it does not run', () => {
    const dir = composeRepo(
      compose(
        '        - { action: sync, path: ./src, target: /app/src, ignore: node_modules/ }\n' +
          '        - { action: rebuild, path: package.json, initial_sync: true }\n' +
          '        - { action: sync+exec, path: cfg, target: /cfg, exec: { command: reload } }\n',
      ),
    );
    const project = loadProject(`${dir}/app/compose.yaml`);
    // The compose file's folder is the repository root here: loaded as one file.
    expect(project.services.web!.watch).toEqual([
      { action: 'sync', path: 'src', target: '/app/src', ignore: ['node_modules/'] },
      { action: 'rebuild', path: 'package.json', ignore: [] },
    ]);
    expect(warningsOf(`${dir}/app`)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('develop.watch.1.initial_sync: initial_sync is ignored: watch mode always syncs the tree when it starts'),
        expect.stringContaining('develop.watch.2.action: the action sync+exec is not supported'),
      ]),
    );
  });

  it('refuses a sync rule without target, and keys the spec does not have', () => {
    expect(problemsOf(`${composeRepo(compose('        - { action: sync, path: ./src }\n'))}/app`)).toEqual([
      'compose.yaml:6:11 services.web.develop.watch.0.target: a sync rule needs target: where "./src" is in the container (e.g. /app)',
    ]);
    expect(problemsOf(`${composeRepo(compose('        - { action: sync, path: ./src, target: /a, speed: fast }\n'))}/app`)).toEqual([
      expect.stringContaining('is not a key of the compose specification'),
    ]);
  });
});

describe('normalizeWatchRule', () => {
  const where = { root: '/repo', baseDir: '/repo/app' };
  it('makes paths relative to the root, `.` for the root itself', () => {
    expect(normalizeWatchRule({ action: 'rebuild', path: '..' }, where)).toEqual({ rule: { action: 'rebuild', path: '.', ignore: [] } });
    expect(normalizeWatchRule({ action: 'sync', path: '/repo/app/x', target: '/x//y/' }, where)).toEqual({
      rule: { action: 'sync', path: 'app/x', target: '/x/y', ignore: [] },
    });
    expect(normalizeWatchRule({ action: 'sync', path: '/etc', target: '/x' }, where)).toEqual({
      problems: [{ field: 'path', message: '"/etc" is outside the repository: watch a file or folder inside it' }],
    });
  });
});

describe('changed files to rules and container paths', () => {
  const rules: WatchRule[] = [
    { action: 'rebuild', path: 'web', ignore: [] },
    { action: 'sync', path: 'web/static', target: '/www', ignore: ['*.map', 'drafts'] },
    { action: 'sync+restart', path: 'web/src', target: '/app/src', ignore: [] },
  ];
  const compiled = compileRules(rules);

  it('the longest rule path decides; its ignore patterns are relative to it', () => {
    expect(ruleFor('web/static/a.css', compiled)).toEqual({ rule: rules[1], relative: 'a.css' });
    expect(ruleFor('web/static/app.js.map', compiled)).toBeUndefined();
    expect(ruleFor('web/static/drafts/x.html', compiled)).toBeUndefined();
    expect(ruleFor('web/Dockerfile', compiled)).toEqual({ rule: rules[0], relative: 'Dockerfile' });
    expect(ruleFor('webby/x', compiled)).toBeUndefined();
    expect(ruleFor('other/x', compiled)).toBeUndefined();
  });

  it('maps a file under a rule to its target, a file rule to the target itself', () => {
    expect(targetOf(rules[2]!, 'lib/a.js')).toBe('/app/src/lib/a.js');
    expect(targetOf({ action: 'sync', path: 'web/index.html', target: '/www/index.html', ignore: [] }, '')).toBe('/www/index.html');
    expect(ruleFor('anything/at/all', compileRules([{ action: 'sync', path: '.', target: '/app', ignore: [] }]))?.relative).toBe('anything/at/all');
  });

  it('plans a sync, a restart when a file is under sync+restart, and a rebuild over both', () => {
    expect(planFor([{ path: 'web/static/a.css', change: 'changed' }, { path: 'web/static/b.css', change: 'deleted' }], compiled)).toEqual({
      kind: 'sync',
      restart: false,
      files: [
        { path: 'web/static/a.css', change: 'changed', target: '/www/a.css' },
        { path: 'web/static/b.css', change: 'deleted', target: '/www/b.css' },
      ],
    });
    expect(planFor([{ path: 'web/static/a.css', change: 'changed' }, { path: 'web/src/x.js', change: 'changed' }], compiled)).toMatchObject({ kind: 'sync', restart: true });
    expect(planFor([{ path: 'web/static/a.css', change: 'changed' }, { path: 'web/Dockerfile', change: 'changed' }], compiled)).toEqual({
      kind: 'rebuild',
      files: [
        { path: 'web/Dockerfile', change: 'changed' },
        { path: 'web/static/a.css', change: 'changed' },
      ],
    });
    expect(planFor([{ path: 'web/Dockerfile', change: 'changed' }], compiled, { syncOnly: true })).toBeUndefined();
    expect(planFor([{ path: 'elsewhere', change: 'changed' }], compiled)).toBeUndefined();
  });

  it('syncs an empty folder created under a sync rule, and never rebuilds for one', () => {
    expect(planFor([{ path: 'web/static/empty', change: 'changed', folder: true }], compiled)).toEqual({
      kind: 'sync',
      restart: false,
      files: [{ path: 'web/static/empty', change: 'changed', folder: true, target: '/www/empty' }],
    });
    expect(planFor([{ path: 'web/empty', change: 'changed', folder: true }], compiled)).toBeUndefined();
    expect(planFor([{ path: 'web/empty', change: 'changed', folder: true }, { path: 'web/static/a.css', change: 'changed' }], compiled)).toMatchObject({ kind: 'sync' });
    // A rebuild carries files only.
    expect(planFor([{ path: 'web/Dockerfile', change: 'changed' }, { path: 'web/static/empty', change: 'changed', folder: true }], compiled)).toEqual({
      kind: 'rebuild',
      files: [{ path: 'web/Dockerfile', change: 'changed' }],
    });
  });
});
