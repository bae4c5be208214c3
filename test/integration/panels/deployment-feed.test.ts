/**
 * The Deployment panel's extension side against a real daemon deploying the fixture repo,
 * without VS Code: `DeploymentFeed` → snapshot then `deploy/progress` messages, fed to the
 * webview's own state module. `feature/x` ends running with every stage timed; `broken-health`
 * ends failed with its one-line diagnosis, and its panel lists the service's earlier
 * deployment with its time to ready. Everything the daemon creates carries this run's label;
 * sandboxes are deleted and the fixture's images removed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentFeed } from '../../../extension/src/panels/deployment-feed';
import type { DeploymentSnapshot, ToWebview } from '../../../schemas/src/webview';
import { DeploymentState, historyBars, isFinal } from '../../../webviews/src/deployment/state';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { Collector } from '../docker-streams/collect';

const run = testRun('bbdeppanel');
const sandbox = `p${run.runId.slice(-8)}-panel`;
let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;

beforeAll(async () => {
  repo = createFixtureRepo();
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` } });
  client = await daemon.connect('deployment-panel-test');
  await client.request('sandbox/create', { name: sandbox });
});

afterAll(async () => {
  await client?.request('sandbox/delete', { name: sandbox }).catch(() => undefined);
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
  if (repo) {
    const commits = new Set(repo.git('rev-list', '--all').trim().split('\n'));
    const images = await docker.listImages({ filters: JSON.stringify({ label: ['branchbox.project=shop'] }) });
    for (const image of images) {
      if (commits.has(image.Labels?.['branchbox.commit'] ?? '')) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
    }
    repo.dispose();
  }
});

/** Starts a deployment of `account` at `ref` and opens a panel feed on it at once (so it is followed live). */
async function deployAndWatch(ref: string) {
  const { deployments } = await client.request('deploy/start', { repoPath: repo.root, ref, sandbox, services: ['account'] });
  const id = deployments[0]!.id;
  const state = new DeploymentState();
  const messages = new Collector<ToWebview>();
  const feed = new DeploymentFeed(client, { kind: 'deployment', deployment: id, title: ref }, (m) => {
    if (m.type === 'deploy/snapshot') state.snapshot(m.record, m.log, m.history);
    else if (m.type === 'deploy/progress') state.apply(m.items);
    messages.add(m);
  });
  await feed.start();
  await messages.until(() => !!state.record && isFinal(state.record.status), `${ref} to be final`, 120_000);
  return { id, state, messages, feed };
}

describe('DeploymentFeed against a real daemon', () => {
  it('follows feature/x to running: every stage timed, the log tail, the history with its time to ready', async () => {
    const { id, state, messages, feed } = await deployAndWatch('feature/x');
    expect(messages.items[0]!.type).toBe('deploy/snapshot');
    expect(state.record!.status).toBe('running');
    const timeline = state.timeline(Date.now());
    expect(timeline.map((s) => s.stage)).toEqual(['prepare', 'build', 'start', 'health-check', 'switch-over']);
    for (const s of timeline) {
      expect(['ok', 'reused']).toContain(s.state);
      expect(s.durationMs).toBeGreaterThanOrEqual(0);
    }
    // The panel's timeline agrees with the daemon's record.
    const final = await client.request('deploy/get', { id });
    expect(timeline.map((s) => s.durationMs)).toEqual(final.stages.map((s) => s.durationMs));
    // The log tail: every line once, in order, as the daemon stored it.
    const seqs = state.logLines.map((l) => l.seq);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    const stored = await client.request('deploy/logs', { id, limit: 10_000 });
    expect(state.logLines.map((l) => l.line)).toEqual(stored.lines.map((l) => l.line));
    const [bar] = historyBars(state.history, id);
    expect(bar).toMatchObject({ id, ready: true, current: true });
    expect(bar!.ms).toBeGreaterThan(0);
    await feed.dispose();
  }, 150_000);

  it('shows broken-health failing with its diagnosis, beside the earlier deployment’s time to ready', async () => {
    const { id, state, messages, feed } = await deployAndWatch('broken-health');
    expect(state.record!.status).toBe('failed');
    expect(state.record!.diagnosis).toMatch(/^health-check failed: /);
    expect(state.timeline(Date.now()).map((s) => s.state)).toEqual(['ok', expect.stringMatching(/^(ok|reused)$/), 'ok', 'failed', 'skipped']);
    // The snapshot's history lists the service's recent deployments in the sandbox.
    const snapshot = messages.items[0] as DeploymentSnapshot;
    expect(snapshot.history.some((h) => h.ref === 'feature/x' && h.status === 'running')).toBe(true);
    const bars = historyBars(state.history, id);
    expect(bars[0]).toMatchObject({ id, ready: false, status: 'failed', current: true });
    expect(bars.find((b) => b.label.startsWith('feature/x'))).toMatchObject({ ready: true });
    await feed.dispose();

    // A panel opened afterwards gets it all from the snapshot.
    const later = new DeploymentState();
    const feed2 = new DeploymentFeed(client, { kind: 'deployment', deployment: id, title: 'again' }, (m) => {
      if (m.type === 'deploy/snapshot') later.snapshot(m.record, m.log, m.history);
      else if (m.type === 'deploy/progress') later.apply(m.items);
    });
    await feed2.start();
    expect(later.record!.diagnosis).toBe(state.record!.diagnosis);
    expect(later.logLines.map((l) => l.seq)).toEqual(state.logLines.map((l) => l.seq));
    await feed2.dispose();
  }, 150_000);
});
