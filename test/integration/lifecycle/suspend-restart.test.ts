/**
 * Suspension is a state of the sandbox, not a cancellation of its deployments: a sandbox with
 * a Dockerfile service and a host-command service is suspended, the daemon is restarted
 * (SIGTERM + start, and SIGKILL + start: recovery, the deploy reaper and the reconciler all
 * run), and resume brings back the very same containers — same ids, same commits, same host
 * ports — answering HTTP, while `deploy/list` still says `running` and the command build's
 * mounted source is still there. Inside the sandbox, a sibling still reaches each service by
 * its network aliases (`{service}`, and `sandbox-{name}-{service}` of earlier versions).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { outputText } from '../../../daemon/src/docker/dockerode/container-output';
import { NODE, docker } from '../../helpers/docker-fixtures';
import { deployAndWait, useLifecycleDaemon } from './helpers';

const t = useLifecycleDaemon('bblsr', 'suspend-restart-test', {
  // Reap orphans at once: a container wrongly taken for one would go in the first round.
  BRANCHBOX_ORPHAN_GRACE_MS: '0',
  BRANCHBOX_RECONCILE_INTERVAL_MS: '200',
});
const { suffix, created } = t;
const BRANCH = 'host-build';

beforeAll(() => {
  // feature/x plus `tool`, a service built by a command on the host and run from the mounted source.
  const { repo } = t;
  const app = `require('http').createServer((q, s) => s.end(q.url === '/healthz' ? 'ok' : 'built on the host')).listen(8080);`;
  repo.git('checkout', '--quiet', '-b', BRANCH, 'feature/x');
  try {
    repo.write('services/tool/build.js', `require('fs').writeFileSync('app.js', ${JSON.stringify(app)});\n`);
    repo.write(
      'branchbox.yaml',
      readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8').replace(
        'services:\n',
        'services:\n  tool:\n    context: services/tool\n    build: { command: "node build.js", runtime: branchbox/node:20, cmd: ["node", "/src/app.js"] }\n' +
          '    port: 8080\n    health: { path: /healthz, interval: 500ms }\n',
      ),
    );
    repo.commitAll('tool: built on the host');
  } finally {
    repo.checkout('main');
  }
});

async function answers(url: string): Promise<string> {
  return (await fetch(url)).text();
}

/** What a container on the sandbox's network gets for `GET http://{host}:8080/`, for each host. */
async function fromSibling(sandbox: string, hosts: readonly string[]): Promise<string[]> {
  const script = `(async () => { for (const h of ${JSON.stringify(hosts)}) console.log(await fetch('http://' + h + ':8080/').then((r) => r.text(), (e) => 'no answer from ' + h + ': ' + e.cause?.code)); })()`;
  const sibling = await t.run.createContainer({ Image: NODE, Cmd: ['node', '-e', script], HostConfig: { NetworkMode: `sandbox-${sandbox}` } });
  await sibling.wait();
  const out = (await sibling.logs({ stdout: true, stderr: true })) as unknown as Buffer;
  await sibling.remove({ force: true });
  return (await outputText(sibling.modem, out)).split('\n').filter(Boolean);
}

describe.each([
  ['a graceful stop and start', { kill: false }],
  ['a kill -9 and start', { kill: true }],
])('suspend, then %s, then resume', (_how, restart) => {
  it('serves the same containers again at the same commits and ports', async () => {
    const name = `l${suffix}-${restart.kill ? 'k' : 'g'}`;
    created.add(name);
    await t.client.request('sandbox/create', { name, repoPath: t.repo.root });
    await t.client.request('trust/grant', { repoPath: t.repo.root, context: 'services/tool', command: ['node', 'build.js'] });
    await deployAndWait(t.client, { repoPath: t.repo.root, sandbox: name, ref: BRANCH, services: ['account', 'tool'] });
    const before = await t.client.request('sandbox/get', { name });
    const serving = before.services.filter((s) => s.containerId).sort((a, b) => a.service.localeCompare(b.service));
    expect(serving.map((s) => s.service)).toEqual(['account', 'tool']);
    expect(await answers(serving[0]!.url!)).toBe('feature/x');
    expect(await answers(serving[1]!.url!)).toBe('built on the host');

    await t.client.request('sandbox/suspend', { name });
    for (const s of serving) expect((await docker.getContainer(s.containerId!).inspect()).State.Running).toBe(false);
    await t.restart(restart);
    // The restarted daemon's reconciler has run (at start) and runs every 200 ms with no grace.
    await t.client.request('system/info');

    const resumed = await t.client.request('sandbox/resume', { name });
    expect(resumed.services.map((s) => [s.service, s.healthy, s.containerId, s.hostPort, s.commit]).sort()).toEqual(
      serving.map((s) => [s.service, true, s.containerId, s.hostPort, t.repo.commitOf(BRANCH)]),
    );
    expect(await answers(serving[0]!.url!)).toBe('feature/x');
    expect(await answers(serving[1]!.url!)).toBe('built on the host');
    expect(await fromSibling(name, ['account', `sandbox-${name}-account`, 'tool'])).toEqual(['feature/x', 'feature/x', 'built on the host']);
    const after = await t.client.request('sandbox/get', { name });
    expect(after.services).toEqual(before.services);
    const { deployments } = await t.client.request('deploy/list', { sandbox: name });
    expect(deployments.map((d) => [d.service, d.status, d.containerId]).sort()).toEqual(
      serving.map((s) => [s.service, 'running', s.containerId]),
    );
  });
});
