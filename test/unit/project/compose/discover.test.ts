/**
 * Which files make a compose project: docker compose's names, first found wins, its override
 * file beside it; branchbox.yaml first, and when it names compose files, those in order.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../../../daemon/src/project/load';
import { composeRepo, problemsOf, removeRepos } from './compose-repo';

afterAll(removeRepos);

const service = (image: string) => `services:\n  web:\n    image: ${image}\n`;

describe('compose file discovery', () => {
  it('reads compose.yaml when there is no branchbox.yaml, with the folder name as project name', () => {
    const dir = composeRepo({ 'compose.yaml': service('a:1') });
    const project = loadProject(dir);
    expect(project.source).toEqual({ kind: 'compose', files: [path.join(dir, 'compose.yaml')] });
    expect(project.file).toBe(path.join(dir, 'compose.yaml'));
    expect(project.name).toBe(path.basename(dir));
    expect(project.services.web!.build).toEqual({ kind: 'image', image: 'a:1' });
  });

  it('takes the first of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml', () => {
    const dir = composeRepo({ 'docker-compose.yaml': service('last:1'), 'docker-compose.yml': service('third:1'), 'compose.yml': service('second:1') });
    expect(loadProject(dir).services.web!.build).toEqual({ kind: 'image', image: 'second:1' });
    const older = composeRepo({ 'docker-compose.yaml': service('last:1'), 'docker-compose.yml': service('third:1') });
    expect(loadProject(older).services.web!.build).toEqual({ kind: 'image', image: 'third:1' });
  });

  it('merges the override file over the base', () => {
    const dir = composeRepo({ 'docker-compose.yml': service('base:1'), 'docker-compose.override.yml': service('override:1') });
    const project = loadProject(dir);
    expect(project.services.web!.build).toEqual({ kind: 'image', image: 'override:1' });
    expect(project.source!.files).toEqual([path.join(dir, 'docker-compose.yml'), path.join(dir, 'docker-compose.override.yml')]);
  });

  it('reads one compose file named directly, without its override', () => {
    const dir = composeRepo({ 'compose.yaml': service('base:1'), 'compose.override.yaml': service('override:1') });
    expect(loadProject(path.join(dir, 'compose.yaml')).services.web!.build).toEqual({ kind: 'image', image: 'base:1' });
  });

  it('keeps a folder with branchbox.yaml a branchbox project, compose file or not', () => {
    const dir = composeRepo({
      'compose.yaml': service('compose:1'),
      'branchbox.yaml': 'version: 1\nproject: own\nservices:\n  app:\n    build: { image: own:1 }\n    port: 80\n',
    });
    const project = loadProject(dir);
    expect(project.name).toBe('own');
    expect(Object.keys(project.services)).toEqual(['app']);
    expect(project.source).toBeUndefined();
  });

  it('honours name:, and sanitizes the folder name as compose does', () => {
    expect(loadProject(composeRepo({ 'compose.yaml': `name: my-app\n${service('a:1')}` })).name).toBe('my-app');
    const dir = composeRepo({ 'My.Project/compose.yaml': service('a:1') });
    expect(loadProject(path.join(dir, 'My.Project')).name).toBe('myproject');
  });

  it('merges the files branchbox.yaml names, in order, and takes its extras', () => {
    const dir = composeRepo({
      'deploy/base.yaml': 'services:\n  web:\n    image: base:1\n    expose: ["80"]\n',
      'deploy/dev.yaml': 'services:\n  web:\n    image: dev:1\n',
      'branchbox.yaml': 'version: 1\nproject: named\ncompose: [deploy/base.yaml, deploy/dev.yaml]\nroutes:\n  /: web\n',
    });
    const project = loadProject(dir);
    expect(project.name).toBe('named');
    expect(project.file).toBe(path.join(dir, 'branchbox.yaml'));
    expect(project.source!.files).toEqual([path.join(dir, 'deploy/base.yaml'), path.join(dir, 'deploy/dev.yaml'), path.join(dir, 'branchbox.yaml')]);
    expect(project.services.web).toMatchObject({ build: { kind: 'image', image: 'dev:1' }, http: true, port: 80 });
    expect(project.routes).toEqual([{ prefix: '/', service: 'web' }]);
  });

  it('points a problem of what branchbox.yaml adds into branchbox.yaml', () => {
    const dir = composeRepo({
      'compose.yaml': 'services:\n  web:\n    image: a\n    expose: ["80"]\n',
      'branchbox.yaml': 'version: 1\ncompose: [compose.yaml]\nroutes:\n  /: web\n  /api: api\n',
    });
    expect(problemsOf(dir)).toEqual([
      'branchbox.yaml:5:9 routes./api: routes to "api", which is neither a service nor a baseline entry (services: web)',
    ]);
  });

  it('refuses compose files outside the repository or missing, and services beside compose:', () => {
    const dir = composeRepo({
      'branchbox.yaml': 'version: 1\ncompose: [../x.yaml, nope.yaml]\n',
    });
    expect(problemsOf(dir)).toEqual([
      'branchbox.yaml:2:11 compose.0: must be a relative path inside the repository',
      'branchbox.yaml:2:22 compose.1: nope.yaml does not exist',
    ]);
    const extra = composeRepo({ 'compose.yaml': service('a:1'), 'branchbox.yaml': 'version: 1\ncompose: [compose.yaml]\nservices:\n  web:\n    port: 80\n    build: { image: x }\n' });
    expect(problemsOf(extra)).toEqual(['branchbox.yaml:6:5 services.web.build: is not a known field (expected http, port, health, security)']);
  });
});
