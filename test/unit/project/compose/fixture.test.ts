/**
 * The realistic compose project of the fixtures (web, api, db, cache and a migration job, with
 * .env, an env_file, a healthcheck, named volumes and x-branchbox routes) as Branchbox reads it.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../../../daemon/src/project/load';

const SHOP = path.resolve(__dirname, '../../../fixtures/projects/compose-shop');

describe('the compose-shop fixture', () => {
  const project = loadProject(SHOP);

  it('is a compose project named by name:, with its volumes, profiles and routes', () => {
    expect(project).toMatchObject({ name: 'compose-shop', root: SHOP, file: path.join(SHOP, 'compose.yaml') });
    expect(project.source).toEqual({ kind: 'compose', files: [path.join(SHOP, 'compose.yaml')] });
    expect(project.volumes).toEqual({ pgdata: {}, redisdata: { labels: { 'com.example.backup': 'daily' } } });
    expect(project.profiles).toEqual(['cache']);
    expect(project.routes).toEqual([
      { prefix: '/api', service: 'api' },
      { prefix: '/', service: 'web' },
    ]);
    expect(Object.keys(project.services)).toEqual(['web', 'api', 'migrate', 'db', 'cache']);
    expect(project.warnings).toBeUndefined();
  });

  it('reads the api: build target and args, env_file under environment with .env interpolated, limits, the probe', () => {
    expect(project.services.api).toEqual({
      name: 'api',
      context: 'api',
      build: { kind: 'dockerfile', dockerfile: 'Dockerfile', args: { NODE_ENV: 'production' }, target: 'runtime' },
      command: ['node', 'server.js', '--port', '4000'],
      expose: [4000],
      env: { LOG_LEVEL: 'debug', FEATURE_X: 'on', DATABASE_URL: 'postgres://shop:secret@db:5432/shop', REDIS_URL: 'redis://cache:6379' },
      dependsOn: {
        db: { condition: 'service_healthy', required: true, restart: false },
        cache: { condition: 'service_started', required: true, restart: false },
        migrate: { condition: 'service_completed_successfully', required: true, restart: false },
      },
      restart: { name: 'on-failure', maximumRetryCount: 3 },
      resources: { nanoCpus: 500_000_000, memoryBytes: 256 * 1024 ** 2 },
      http: true,
      port: 4000,
      health: { path: '/healthz', intervalMs: 5000, timeoutMs: 2000, retries: 3, startPeriodMs: 0 },
    });
  });

  it('reads web (HTTP by its route, port from ports), the migration job, db and cache', () => {
    expect(project.services.web).toMatchObject({ http: true, port: 3000, ports: [{ container: 3000, protocol: 'tcp', published: 8080 }] });
    expect(project.services.migrate).toMatchObject({
      job: true,
      http: false,
      entrypoint: ['node', 'migrate.js'],
      workingDir: '/app',
      volumes: [{ type: 'bind', source: 'migrations', target: '/app/migrations', readOnly: true }],
    });
    expect(project.services.migrate).not.toHaveProperty('port');
    expect(project.services.db).toMatchObject({
      http: false,
      port: 5432,
      build: { kind: 'image', image: 'branchbox/postgres:15' },
      env: { POSTGRES_USER: 'shop', POSTGRES_PASSWORD: 'secret', POSTGRES_DB: 'shop' },
      volumes: [{ type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data', readOnly: false }],
      healthcheck: { test: ['CMD', 'pg_isready', '-U', 'shop'], intervalMs: 2000, timeoutMs: 5000, retries: 10, startPeriodMs: 90_000 },
      labels: { 'com.example.tier': 'data' },
    });
    expect(project.services.cache).toMatchObject({
      port: 6379,
      tmpfs: ['/tmp'],
      healthcheck: { test: ['CMD-SHELL', 'redis-cli ping'] },
      profiles: ['cache'],
    });
  });
});
