/**
 * docs/examples/python_client.py, the standard-library-only Python client, run with python3
 * against a real daemon so the example cannot rot: the whole workflow (create a sandbox, deploy
 * a fixture branch, stream log lines, delete the sandbox) over `branchboxd --stdio` relaying to
 * the running daemon; streaming a container's log; and `--stdio` as the daemon itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_JS, startTestDaemon, type TestDaemon } from '../../helpers/daemon';
import { TEST_LABEL, docker, testRun } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';

const EXAMPLE = resolve(__dirname, '../../../docs/examples/python_client.py');
const run = testRun('bbpy');
const suffix = run.runId.slice(-8);
const PROJECT = `py${suffix}`;
let daemon: TestDaemon;
let repo: FixtureRepo;

beforeAll(async () => {
  repo = createFixtureRepo({ project: PROJECT });
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` } });
});
afterAll(async () => {
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
  if (repo) {
    const images = await docker.listImages({ filters: JSON.stringify({ label: [`branchbox.project=${PROJECT}`] }) });
    await Promise.all(images.map((i) => docker.getImage(i.Id).remove({ force: true }).catch(() => undefined)));
    repo.dispose();
  }
});

function python(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('python3', [EXAMPLE, '--daemon', DAEMON_JS, '--node', process.execPath, '--timeout', '60', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((res) => child.once('close', (code) => res({ code, stdout, stderr })));
}

/** A container that prints a numbered line every 100 ms. */
async function chattyContainer(suffix: string): Promise<string> {
  const name = `${run.runId}-${suffix}`;
  await run.createContainer({ name, Cmd: ['sh', '-c', 'i=0; trap "exit 0" TERM; while true; do i=$((i+1)); echo "line $i"; sleep 0.1 & wait; done'] });
  return name;
}

describe('the Python example client', () => {
  it('creates a sandbox, deploys a fixture branch, streams its log lines and deletes the sandbox', async () => {
    const sandbox = `py-${suffix}`;
    const r = await python(['--state-dir', daemon.stateDir, '--repo', repo.root, '--service', 'account', '--ref', 'feature/x', '--sandbox', sandbox]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const step = (name: string) => lines.findIndex((l) => l.startsWith(`${name} `));
    // In this order: created, deployed (stages and log lines on the way), running, its log, deleted.
    const order = ['sandbox/create', 'deploy/start', 'deploy log', 'stage', 'deploy/get', 'log', 'sandbox/delete', 'done'].map(step);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(r.stdout).toMatch(new RegExp(`^deploy/get +running account@${repo.commitOf('feature/x').slice(0, 7)} http://127\\.0\\.0\\.1:\\d+$`, 'm'));
    expect(r.stdout).toMatch(/^log +\[stdout\] account feature\/x listening on 8080$/m);
    expect(r.stdout).toMatch(new RegExp(`^sandbox/delete +${sandbox}: 1 containers, 1 networks, \\d+ ports$`, 'm'));

    // Nothing of the sandbox is left in Docker.
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`branchbox.sandbox=${sandbox}`] }) });
    expect(left).toEqual([]);
  });

  it('initializes, lists containers and streams log lines through a stdio relay to the running daemon', async () => {
    const name = await chattyContainer('relay');
    const r = await python(['--state-dir', daemon.stateDir, '--container', name, '--lines', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^initialize +branchboxd \S+, protocol \S+, \d+ methods$/m);
    expect(r.stdout).toMatch(new RegExp(`^container/list +\\d+ containers, ${name} among them$`, 'm'));
    expect(r.stdout).toContain(`system/info      pid ${daemon.runtime.pid}, state ${daemon.stateDir}, docker available`);
    expect(r.stdout.match(/^log +\[stdout\] line \d+$/gm)?.length).toBeGreaterThanOrEqual(3);
    expect(r.stdout).toMatch(/^subscription\/end cancelled$/m);
    expect(r.stdout.trimEnd().endsWith('done             ok')).toBe(true);
  });

  it('does the same with branchboxd --stdio as the daemon itself, on a fresh state directory', async () => {
    const name = await chattyContainer('own');
    const stateDir = mkdtempSync(join(tmpdir(), 'bbpy-'));
    try {
      const r = await python(['--state-dir', stateDir, '--container', name, '--lines', '2']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`state ${stateDir}, docker available`);
      expect(r.stdout).not.toContain(`pid ${daemon.runtime.pid}`);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('exits non-zero with the error name when the daemon answers with an error', async () => {
    const r = await python(['--state-dir', daemon.stateDir, '--container', `${run.runId}-missing`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^python_client: container/logs failed: ContainerNotFound \\(1002\\): .*${run.runId}-missing.*\\n$`));
  });
});
