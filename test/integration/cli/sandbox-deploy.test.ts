/**
 * The CLI's sandbox workflow against a real daemon, engine and fixture repository: `deploy`
 * of the current branch (default sandbox, live progress, exit 0 / 4), `wait --for healthy`,
 * `sandbox`, `route`, `env` (a secret from stdin, never echoed) and `audit` — every `-o json`
 * output checked against the result schema of its method — and a second connection seeing the
 * CLI's sandboxes live. Everything the daemon creates carries this run's `branchbox.test`
 * label; sandboxes are deleted and the fixture's images removed at the end.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { methods, type StreamItem } from '../../../schemas/src/index';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { TEST_LABEL, docker, testRun } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { runCli, spawnCli, type CliOptions, type LiveCli } from './cli-process';

const ajv = new Ajv({ strict: false });
addFormats(ajv);
function valid(method: keyof typeof methods, stdout: string): unknown {
  const value = JSON.parse(stdout) as unknown;
  const check = ajv.compile(methods[method].result);
  expect(check(value), `${method} result: ${JSON.stringify(check.errors)}`).toBe(true);
  return value;
}

const run = testRun('bbclisb');
const suffix = run.runId.slice(-8);
const PROJECT = `cli${suffix}`;
let daemon: TestDaemon;
let repo: FixtureRepo;
const created = new Set<string>();
const live: LiveCli[] = [];
const cli = (args: string[], opts: CliOptions = {}) => runCli(args, { stateDir: daemon.stateDir, cwd: repo.root, ...opts });

beforeAll(async () => {
  repo = createFixtureRepo({ project: PROJECT });
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, BRANCHBOX_HEALTH_INTERVAL_MS: '500' } });
});

afterAll(async () => {
  for (const p of live) p.kill();
  if (daemon) {
    const client = await daemon.connect('cleanup').catch(() => undefined);
    for (const name of created) await client?.request('sandbox/delete', { name }).catch(() => undefined);
    await client?.closeSocket();
    await daemon.stop();
    await daemon.dispose();
  }
  await run.cleanup();
  if (repo) {
    const images = await docker.listImages({ filters: JSON.stringify({ label: [`branchbox.project=${PROJECT}`] }) });
    await Promise.all(images.map((i) => docker.getImage(i.Id).remove({ force: true }).catch(() => undefined)));
    repo.dispose();
  }
});

describe('deploy, wait and the sandbox', () => {
  // The branch names the default sandbox; unique per run, since Docker names are global.
  const branch = `cli-${suffix}`;

  it('deploys the checked-out branch into a sandbox named after it, and waits for it to be healthy', async () => {
    repo.git('checkout', '--quiet', '-b', branch, 'feature/x');
    created.add(branch);
    const deployed = await cli(['deploy', '--service', 'account']);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const out = deployed.stdout;
    expect(out).toContain(`Created sandbox ${branch}`);
    expect(out).toContain(`Deploying ${branch} of ${repo.root} into sandbox ${branch}`);
    // Each stage as it ends, with its duration, then the summary.
    for (const stage of ['prepare', 'build', 'start', 'health-check', 'switch-over']) expect(out).toMatch(new RegExp(`^account  ${stage} ✓( reused)? \\d`, 'm'));
    expect(out).toMatch(/^account \| account feature\/x listening on 8080$/m);
    expect(out).toMatch(new RegExp(`^✓  account  running  ${repo.commitOf(branch).slice(0, 7)} .* http://127\\.0\\.0\\.1:\\d+$`, 'm'));

    const waited = await cli(['wait', '--for', 'healthy', '--timeout', '30s', branch, '-o', 'json']);
    expect(waited.code).toBe(0);
    const { containers } = valid('container/list', waited.stdout) as { containers: { name: string; state: string; health?: string }[] };
    expect(containers.map((c) => [c.name, c.state])).toEqual([[`sandbox-${branch}_account`, 'running']]);

    const sandbox = valid('sandbox/get', (await cli(['sandbox', 'get', branch, '-o', 'json'])).stdout) as {
      services: { service: string; branch?: string; url?: string }[];
    };
    expect(sandbox.services.find((s) => s.service === 'account')).toMatchObject({ branch });
    const listed = valid('sandbox/list', (await cli(['sandbox', 'ls', '-o', 'json'])).stdout) as { sandboxes: { name: string }[] };
    expect(listed.sandboxes.map((s) => s.name)).toContain(branch);
    // HEALTH is empty until the monitor's first check of the new container.
    expect((await cli(['sandbox', 'ls'])).stdout).toMatch(
      new RegExp(`^${branch} +active +(?:(?:healthy|degraded|unhealthy) +)?\\S+ +${PROJECT} +account:sandbox`, 'm'),
    );

    // Once the health monitor has checked it, `sandbox get` and `sandbox ls` show its health.
    const observer = await daemon.connect('health-observer');
    try {
      await new Promise<void>((resolve, reject) => {
        observer
          .subscribe('sandbox/watchHealth', { sandbox: branch }, 'sandbox/health', {
            onItems: (items) => items.some((h) => h.state === 'healthy' && h.services.length === 1) && resolve(),
          })
          .catch(reject);
      });
    } finally {
      await observer.closeSocket();
    }
    const got = (await cli(['sandbox', 'get', branch])).stdout;
    expect(got).toMatch(/^health: +healthy \(checked /m);
    expect(got).toMatch(/^SERVICE +ROUTE +BRANCH +URL +PORTS +HEALTH$/m);
    expect(got).toMatch(/^account +sandbox .* 8080→127\.0\.0\.1:\d+ +healthy$/m);
    expect((await cli(['sandbox', 'ls'])).stdout).toMatch(new RegExp(`^${branch} +active +healthy +\\S+ +${PROJECT} `, 'm'));
  });

  it('-o json is {deployments} as deploy/list answers; a failing deployment exits 4 with its diagnosis', async () => {
    const deployed = await cli(['deploy', '--sandbox', branch, '--ref', 'broken-health', '--service', 'account', '-o', 'json']);
    expect(deployed.code).toBe(4);
    expect(deployed.stderr).toBe('');
    const { deployments } = valid('deploy/list', deployed.stdout) as { deployments: { service: string; status: string; diagnosis?: string }[] };
    expect(deployments).toHaveLength(1);
    expect(deployments[0]).toMatchObject({ service: 'account', status: 'failed' });
    expect(deployments[0]!.diagnosis).toMatch(/^health-check failed: .*500/);

    // The previous deployment keeps serving.
    const waited = await cli(['wait', branch, '--timeout', '30s']);
    expect(waited).toMatchObject({ code: 0, stdout: `${branch}: account healthy\n` });
  });

  it('wait gives up after --timeout naming what is missing (exit 1, Timeout)', async () => {
    expect((await cli(['route', 'set', branch, 'payment', 'sandbox'])).code).toBe(0); // routed to the sandbox, never deployed
    const r = await cli(['wait', branch, '--timeout', '500ms']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`branchbox: Timeout: sandbox ${branch} is not healthy after 500ms (payment: no container)\n`);
    expect((await cli(['route', 'set', branch, 'payment', 'baseline'])).code).toBe(0);
  });

  it('Ctrl-C during a deploy cancels the deployment and exits 130; the serving container stays', async () => {
    const deploy = spawnCli(['deploy', '--sandbox', branch, '--ref', 'slow-build', '--service', 'account'], { stateDir: daemon.stateDir, cwd: repo.root });
    live.push(deploy);
    await deploy.waitForStdout((out) => out.includes(`slow build ${repo.nonce} waiting`));
    deploy.process.kill('SIGINT');
    const end = await deploy.exited;
    expect(end.code).toBe(130);
    expect(end.stdout).toMatch(/^account: cancelled$/m);
    const checker = await daemon.connect('checker');
    try {
      const { deployments } = await checker.request('deploy/list', { sandbox: branch, limit: 1 });
      expect(deployments[0]).toMatchObject({ service: 'account', ref: 'slow-build', status: 'cancelled' });
    } finally {
      await checker.closeSocket();
    }
    const waited = await cli(['wait', branch, '--timeout', '30s']);
    expect(waited).toMatchObject({ code: 0, stdout: `${branch}: account healthy\n` });
  });

  it('an explicit sandbox that does not exist is an error, not created', async () => {
    const r = await cli(['deploy', '--sandbox', `nosuch-${suffix}`, '--service', 'account']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^branchbox: SandboxNotFound: .*nosuch-${suffix}`));
  });

  it('routes: ls, set and explain', async () => {
    const list = valid('route/list', (await cli(['route', 'ls', branch, '-o', 'json'])).stdout) as { services: { service: string; kind: string }[] };
    expect(list.services.map((s) => [s.service, s.kind])).toEqual(expect.arrayContaining([['account', 'sandbox']]));

    const set = await cli(['route', 'set', branch, 'account', 'baseline', '-o', 'json']);
    expect(set.code).toBe(0);
    expect(valid('route/set', set.stdout)).toMatchObject({ service: 'account', kind: 'baseline' });
    const explained = await cli(['route', 'explain', '--sandbox', branch, '/account/orders', '-o', 'json']);
    expect(valid('route/explain', explained.stdout)).toMatchObject({ route: { prefix: '/account', service: 'account' }, target: { kind: 'baseline' } });
    const back = await cli(['route', 'set', branch, 'account', 'sandbox']);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(new RegExp(`^account in ${branch} -> sandbox http://127\\.0\\.0\\.1:\\d+ `));

    const bad = await cli(['route', 'set', branch, 'account', 'elsewhere']);
    expect(bad.code).toBe(2);
  });

  it('env: a secret read from stdin is stored masked and never printed; unset removes an entry', async () => {
    const secret = `s3cr3t-${suffix}`;
    const set = await cli(['env', 'set', '--sandbox', branch, '--secret', 'API_TOKEN'], { input: `${secret}\n` });
    expect(set).toMatchObject({ code: 0, stdout: `Set secret API_TOKEN in ${branch}\n` });
    const plain = await cli(['env', 'set', '--sandbox', branch, '--service', 'account', 'LOG_LEVEL', 'info', '-o', 'json']);
    expect(valid('env/set', plain.stdout)).toMatchObject({ key: 'LOG_LEVEL', value: 'info', secret: false, service: 'account' });

    const listed = await cli(['env', 'ls', '--sandbox', branch, '-o', 'json']);
    const { entries } = valid('env/list', listed.stdout) as { entries: { key: string; value: string; secret: boolean }[] };
    expect(entries.find((e) => e.key === 'API_TOKEN')).toMatchObject({ value: '***', secret: true });

    const unset = await cli(['env', 'unset', '--sandbox', branch, '--service', 'account', 'LOG_LEVEL']);
    expect(unset).toMatchObject({ code: 0, stdout: 'Removed LOG_LEVEL\n' });

    const audit = await cli(['audit', '--target', branch, '-o', 'json']);
    const trail = valid('audit/list', audit.stdout) as { entries: { method: string; client?: string }[] };
    expect(trail.entries.map((e) => e.method)).toEqual(expect.arrayContaining(['env/set', 'env/delete', 'deploy/start', 'sandbox/create']));
    expect(trail.entries.every((e) => e.client === 'branchbox-cli')).toBe(true);
    for (const output of [set, listed, audit, await cli(['env', 'ls', '--sandbox', branch]), await cli(['audit'])]) {
      expect(output.stdout + output.stderr).not.toContain(secret);
    }
  });

  it('suspends and resumes the sandbox at the same ports', async () => {
    const before = valid('sandbox/get', (await cli(['sandbox', 'get', branch, '-o', 'json'])).stdout) as {
      services: { service: string; hostPort?: number; containerId?: string }[];
    };
    const running = before.services.filter((s) => s.containerId).length;
    expect(running).toBeGreaterThan(0);
    const suspended = await cli(['sandbox', 'suspend', branch, '-o', 'json']);
    expect(suspended.code).toBe(0);
    expect(valid('sandbox/suspend', suspended.stdout)).toMatchObject({ sandbox: { state: 'suspended' }, stopped: running });
    const resumed = await cli(['sandbox', 'resume', branch]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^Resumed sandbox ${branch}: active`));
    const after = valid('sandbox/get', (await cli(['sandbox', 'get', branch, '-o', 'json'])).stdout) as typeof before;
    expect(after.services.map((s) => [s.service, s.hostPort])).toEqual(before.services.map((s) => [s.service, s.hostPort]));
  });

  it('deletes the sandbox; then it is not found (exit 1, one line)', async () => {
    const deleted = await cli(['sandbox', 'delete', branch, '-o', 'json']);
    expect(deleted.code).toBe(0);
    expect(valid('sandbox/delete', deleted.stdout)).toMatchObject({ networks: 1 });
    created.delete(branch);
    const gone = await cli(['sandbox', 'get', branch]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(new RegExp(`^branchbox: SandboxNotFound: .*${branch}.*\\n$`));
  });
});

describe('two clients', () => {
  it('a second connection sees the sandboxes the CLI creates and deletes; the CLI sees its env changes', async () => {
    const name = `cli-${suffix}-shared`;
    const observer: TestClient = await daemon.connect('observer');
    try {
      const events: StreamItem<'sandbox/event'>[] = [];
      const waiters: (() => void)[] = [];
      await observer.subscribe('sandbox/subscribe', {}, 'sandbox/event', {
        onItems: (items) => {
          events.push(...items.filter((e) => e.name === name));
          waiters.forEach((w) => w());
        },
      });
      const seen = (kind: string) =>
        new Promise<void>((resolve) => {
          const check = () => events.some((e) => e.kind === kind) && resolve();
          waiters.push(check);
          check();
        });

      const createdSeen = seen('created');
      created.add(name);
      const create = await cli(['sandbox', 'create', name, '--ttl', '8h', '--ttl-from', 'created', '-o', 'json']);
      expect(create.code).toBe(0);
      valid('sandbox/create', create.stdout);
      await createdSeen;
      expect(events.find((e) => e.kind === 'created')?.sandbox).toMatchObject({ name, ttl: { idle: '8h', from: 'created' } });
      expect((await cli(['sandbox', 'get', name])).stdout).toMatch(/^ttl: +idle 8h from creation$/m);
      const bad = await cli(['sandbox', 'create', `${name}-x`, '--ttl', '8h', '--ttl-from', 'later']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--ttl-from: "later" is not activity, created, deploy or request/);

      await observer.request('env/set', { sandbox: name, key: 'FROM_OBSERVER', value: 'yes' });
      expect((await cli(['env', 'ls', '--sandbox', name])).stdout).toMatch(new RegExp(`^${name} +FROM_OBSERVER +yes `, 'm'));

      const deletedSeen = seen('deleted');
      expect((await cli(['sandbox', 'delete', name])).code).toBe(0);
      created.delete(name);
      await deletedSeen;
    } finally {
      await observer.closeSocket();
    }
  });
});
