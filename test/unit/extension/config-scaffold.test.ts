/**
 * Create branchbox.yaml's proposal (extension/src/config-scaffold.ts), read back by the daemon's
 * own loader: from Dockerfiles (a service per folder, its EXPOSE as the port, a guess marked as
 * such) and from a compose project (the compose files named, the ports and routes added).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../../daemon/src/project/load';
import { exposedPort, scaffoldText, serviceNameOf, servicesFromCompose, servicesFromDockerfiles } from '../../../extension/src/config-scaffold';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function repo(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'bb-scaffold-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

describe('exposedPort', () => {
  it('is the first port the last stage EXPOSEs', () => {
    expect(exposedPort('FROM node:20 AS build\nEXPOSE 9229\nFROM node:20-slim\nEXPOSE 3000/tcp 3001\n')).toBe(3000);
    expect(exposedPort('FROM nginx\nexpose 80\n')).toBe(80);
    expect(exposedPort('FROM node:20 AS build\nEXPOSE 9229\nFROM scratch\n')).toBeUndefined();
    expect(exposedPort('FROM x\nEXPOSE ${PORT}\n')).toBeUndefined();
  });
});

describe('serviceNameOf', () => {
  it('makes a DNS label, unique among those taken', () => {
    expect(serviceNameOf('My_API Server')).toBe('my-api-server');
    expect(serviceNameOf('---')).toBe('app');
    expect(serviceNameOf('web', new Set(['web', 'web-2']))).toBe('web-3');
    expect(serviceNameOf('x'.repeat(60))).toHaveLength(40);
  });
});

describe('a branchbox.yaml from Dockerfiles', () => {
  it('proposes a service per Dockerfile with its context and port, that the daemon loads as such', () => {
    const files = {
      'api/Dockerfile': 'FROM node:20\nEXPOSE 4000\n',
      'web/Dockerfile': 'FROM nginx\nEXPOSE 80\n',
      'worker/Dockerfile.jobs': 'FROM node:20\nCMD ["node", "jobs.js"]\n',
    };
    const root = repo(files);
    const services = servicesFromDockerfiles(Object.entries(files).map(([path, text]) => ({ path, text })), 'My Shop');
    const text = scaffoldText({ from: 'dockerfiles', project: 'My Shop', services });
    writeFileSync(join(root, 'branchbox.yaml'), text);

    const project = loadProject(root);
    expect(project.name).toBe('my-shop');
    expect(Object.fromEntries(Object.entries(project.services).map(([n, s]) => [n, [s.context, s.port]]))).toEqual({
      api: ['api', 4000],
      web: ['web', 80],
      jobs: ['worker', 8080],
    });
    expect(project.routes.map((r) => [r.prefix, r.service]).sort()).toEqual([['/api', 'api'], ['/jobs', 'jobs'], ['/web', 'web']]);
    // The guessed port says so, next to it.
    expect(text).toMatch(/port: 8080 # worker\/Dockerfile\.jobs EXPOSEs no port/);
    expect(text).toContain('docs/branchbox-yaml.md');
  });

  it('routes / to the only service, and still proposes a loadable file when there is no Dockerfile', () => {
    const one = repo({ Dockerfile: 'FROM python:3\nEXPOSE 5000\n' });
    writeFileSync(join(one, 'branchbox.yaml'), scaffoldText({ from: 'dockerfiles', project: 'solo', services: servicesFromDockerfiles([{ path: 'Dockerfile', text: 'FROM python:3\nEXPOSE 5000\n' }], 'solo') }));
    const p = loadProject(one);
    expect([Object.keys(p.services), p.services.solo!.context, p.services.solo!.port, p.routes]).toEqual([['solo'], '.', 5000, [{ prefix: '/', service: 'solo' }]]);

    const none = repo({});
    const text = scaffoldText({ from: 'dockerfiles', project: 'empty', services: [] });
    expect(text).toContain('No Dockerfile was found');
    writeFileSync(join(none, 'branchbox.yaml'), text);
    expect(loadProject(none).services.app!.port).toBe(8080);
  });
});

describe('a branchbox.yaml over a compose project', () => {
  it('names the compose files and adds ports and routes for the services that listen, not for a database', () => {
    const root = repo({
      'compose.yaml': [
        'services:',
        '  api:',
        '    build: ./api',
        '    expose: ["4000"]',
        '  db:',
        '    image: postgres:16',
        '    expose: ["5432"]',
        '  worker:',
        '    build: { context: ./worker, dockerfile: Worker.Dockerfile }',
        '',
      ].join('\n'),
      'api/Dockerfile': 'FROM node:20\n',
      'worker/Worker.Dockerfile': 'FROM node:20\n',
    });
    const compose = loadProject(root);
    const services = servicesFromCompose(compose);
    expect(services.find((s) => s.name === 'worker')).toMatchObject({ context: 'worker', dockerfile: 'Worker.Dockerfile' });
    const text = scaffoldText({ from: 'compose', composeFiles: ['compose.yaml'], project: compose.name, services });
    writeFileSync(join(root, 'branchbox.yaml'), text);

    const project = loadProject(root);
    expect(project.source?.kind).toBe('compose');
    expect(project.file).toBe(join(root, 'branchbox.yaml'));
    expect(project.routes).toEqual([{ prefix: '/', service: 'api' }]);
    expect([project.services.api!.port, project.services.db!.port, project.services.worker!.port]).toEqual([4000, 5432, undefined]);
    expect(text).toContain('# build context: api (Dockerfile)');
    expect(text).not.toContain('build context: .');
    expect(text).toMatch(/worker: listens on no port/);
  });
});
