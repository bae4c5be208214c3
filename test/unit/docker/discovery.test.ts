import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DockerUnavailableError,
  discoverEngine,
  planDiscovery,
  type EngineCandidate,
  type PlannedAttempt,
  type TriedStrategy,
} from '../../../daemon/src/docker/discovery';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'bb-discovery-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const candidate = (a: PlannedAttempt | undefined): EngineCandidate => {
  if (!a || !('options' in a)) throw new Error(`expected a candidate, got ${JSON.stringify(a)}`);
  return a;
};
const failure = (a: PlannedAttempt | undefined): TriedStrategy => {
  if (!a || 'options' in a) throw new Error(`expected a failed strategy, got ${JSON.stringify(a)}`);
  return a;
};
const summary = (plan: PlannedAttempt[]) => plan.map((a) => `${a.strategy} ${a.endpoint}`);

function writeCerts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `${f}.pem`), `${f} data`);
}

function writeContext(
  configDir: string,
  name: string,
  host: string,
  opts: { current?: boolean; tls?: boolean } = {},
): void {
  const hash = createHash('sha256').update(name).digest('hex');
  mkdirSync(join(configDir, 'contexts', 'meta', hash), { recursive: true });
  writeFileSync(
    join(configDir, 'contexts', 'meta', hash, 'meta.json'),
    JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }),
  );
  if (opts.tls) writeCerts(join(configDir, 'contexts', 'tls', hash, 'docker'));
  if (opts.current) writeFileSync(join(configDir, 'config.json'), JSON.stringify({ auths: {}, currentContext: name }));
}

describe('engine discovery strategies', () => {
  it('falls back to the default socket when nothing else is configured', async () => {
    const plan = await planDiscovery({ env: {}, homeDir: home });
    expect(summary(plan)).toEqual(['default socket unix:///var/run/docker.sock']);
    expect(candidate(plan[0]).options).toMatchObject({
      socketPath: '/var/run/docker.sock',
      host: undefined,
      timeout: undefined,
    });
  });

  it('tries DOCKER_HOST alone when it is set, as the docker CLI does: unix, tcp, bare host:port', async () => {
    const unix = await planDiscovery({ env: { DOCKER_HOST: 'unix:///tmp/other.sock' }, homeDir: home });
    expect(summary(unix)).toEqual(['DOCKER_HOST unix:///tmp/other.sock']);
    expect(candidate(unix[0]).options.socketPath).toBe('/tmp/other.sock');

    const tcp = candidate((await planDiscovery({ env: { DOCKER_HOST: 'tcp://10.0.0.5:2375' }, homeDir: home }))[0]);
    expect(tcp).toMatchObject({
      endpoint: 'tcp://10.0.0.5:2375',
      options: { protocol: 'http', host: '10.0.0.5', port: 2375, socketPath: undefined },
    });

    const bare = candidate((await planDiscovery({ env: { DOCKER_HOST: 'localhost:1234' }, homeDir: home }))[0]);
    expect(bare.options).toMatchObject({ protocol: 'http', host: 'localhost', port: 1234 });
  });

  it('uses TLS with the certificates of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set', async () => {
    const certs = join(home, 'certs');
    writeCerts(certs);
    const env = { DOCKER_HOST: 'tcp://docker.example:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs };
    const tls = candidate((await planDiscovery({ env, homeDir: home }))[0]);
    expect(tls.endpoint).toBe('tcp://docker.example:2376 (TLS)');
    expect(tls.options).toMatchObject({ protocol: 'https', host: 'docker.example', port: 2376 });
    expect(String(tls.options.ca)).toBe('ca data');
    expect(String(tls.options.cert)).toBe('cert data');
    expect(String(tls.options.key)).toBe('key data');
  });

  it('reports a TLS configuration without certificates as the failed strategy, and tries nothing else', async () => {
    const env = {
      DOCKER_HOST: 'tcp://docker.example:2376',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: join(home, 'missing'),
    };
    const plan = await planDiscovery({ env, homeDir: home });
    const failed = failure(plan[0]);
    expect(failed).toMatchObject({ strategy: 'DOCKER_HOST', endpoint: 'tcp://docker.example:2376' });
    expect(failed.error).toMatch(/cannot read .*missing\/ca\.pem \(ENOENT\)/);
    expect(plan).toHaveLength(1);
  });

  it('connects over ssh with the user, port and agent of the URL and environment', async () => {
    const env = { DOCKER_HOST: 'ssh://deploy@build.example:2222', SSH_AUTH_SOCK: '/run/agent.sock' };
    const ssh = candidate((await planDiscovery({ env, homeDir: home }))[0]);
    expect(ssh.endpoint).toBe('ssh://deploy@build.example:2222');
    expect(ssh.options).toMatchObject({
      protocol: 'ssh',
      host: 'build.example',
      port: 2222,
      username: 'deploy',
      sshOptions: { agent: '/run/agent.sock' },
    });
  });

  it('rejects unknown schemes with a message saying what is expected', async () => {
    const plan = await planDiscovery({ env: { DOCKER_HOST: 'ftp://x' }, homeDir: home });
    expect(failure(plan[0]).error).toMatch(/unsupported scheme "ftp:\/\/"/);
  });

  it('reads the current context from the docker config (DOCKER_CONFIG or ~/.docker)', async () => {
    const configDir = join(home, 'cfg');
    writeContext(configDir, 'remote', 'tcp://10.1.2.3:2375', { current: true });
    const plan = await planDiscovery({ env: { DOCKER_CONFIG: configDir }, homeDir: home });
    expect(summary(plan)).toEqual(['docker context "remote" tcp://10.1.2.3:2375']);

    writeContext(join(home, '.docker'), 'colima', 'unix:///home/me/.colima/docker.sock', { current: true });
    const fromHome = await planDiscovery({ env: {}, homeDir: home });
    expect(candidate(fromHome[0])).toMatchObject({
      strategy: 'docker context "colima"',
      options: { socketPath: '/home/me/.colima/docker.sock' },
    });
  });

  it('lets DOCKER_CONTEXT choose the context and applies its TLS files', async () => {
    const configDir = join(home, '.docker');
    writeContext(configDir, 'prod', 'tcp://prod.example:2376', { tls: true });
    writeContext(configDir, 'other', 'tcp://other.example:2375', { current: true });
    const plan = await planDiscovery({ env: { DOCKER_CONTEXT: 'prod' }, homeDir: home });
    expect(candidate(plan[0])).toMatchObject({
      strategy: 'docker context "prod"',
      endpoint: 'tcp://prod.example:2376 (TLS)',
      options: { protocol: 'https', host: 'prod.example' },
    });
  });

  it('skips the default context and reports a context whose metadata is missing', async () => {
    const configDir = join(home, '.docker');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ currentContext: 'default' }));
    expect(summary(await planDiscovery({ env: {}, homeDir: home }))).toEqual([
      'default socket unix:///var/run/docker.sock',
    ]);

    const plan = await planDiscovery({ env: { DOCKER_CONTEXT: 'ghost' }, homeDir: home });
    expect(failure(plan[0])).toMatchObject({ strategy: 'docker context "ghost"' });
    expect(failure(plan[0]).error).toMatch(/meta\.json \(ENOENT\)/);
  });

  it('tries only the Docker host setting when one is given', async () => {
    const env = { DOCKER_HOST: 'tcp://ignored:2375' };
    const plan = await planDiscovery({ dockerHost: 'unix:///srv/docker.sock', env, homeDir: home });
    expect(summary(plan)).toEqual(['Docker host setting unix:///srv/docker.sock']);
  });
});

describe('DockerUnavailableError', () => {
  it('names every strategy tried and why it failed, then what to do', () => {
    const e = new DockerUnavailableError([
      { strategy: 'DOCKER_HOST', endpoint: 'tcp://127.0.0.1:1', error: 'ECONNREFUSED' },
      { strategy: 'default socket', endpoint: 'unix:///var/run/docker.sock', error: 'ENOENT' },
    ]);
    expect(e.message).toBe(
      'No Docker engine answered. Tried: DOCKER_HOST=tcp://127.0.0.1:1 (ECONNREFUSED); default socket /var/run/docker.sock (ENOENT). Start Docker or set DOCKER_HOST.',
    );
    expect(e.tried).toHaveLength(2);
  });

  it('is what discovery throws when the configured engine does not answer, never falling back to another (nothing listens on 127.0.0.1:1)', async () => {
    const error = await discoverEngine({ env: { DOCKER_HOST: 'tcp://127.0.0.1:1' }, homeDir: home }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerUnavailableError);
    expect((error as DockerUnavailableError).tried).toEqual([
      { strategy: 'DOCKER_HOST', endpoint: 'tcp://127.0.0.1:1', error: 'ECONNREFUSED' },
    ]);
    expect((error as Error).message).toBe(
      'No Docker engine answered. Tried: DOCKER_HOST=tcp://127.0.0.1:1 (ECONNREFUSED). Start that engine, or correct or unset DOCKER_HOST.',
    );
  });
});
