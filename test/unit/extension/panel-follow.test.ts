/**
 * Panels follow what they show, on a scripted daemon: a service's Logs feed reads the old
 * container to its end after a redeploy, then a marker line and the new container's lines in
 * the same panel (or switches after the grace period when the old stream does not end); it
 * waits while no container serves; its sandbox deleted, it stops and says so. A Deployment
 * panel says when another deployment replaced it and links to it; Stats and Deployment panels
 * say their sandbox was deleted and stop streaming.
 */
import { describe, expect, it } from 'vitest';
import { DeploymentFeed, type DeploymentClient } from '../../../extension/src/panels/deployment-feed';
import { LogFeed, type LogClient } from '../../../extension/src/panels/log-feed';
import { StatsFeed, type StatsClient } from '../../../extension/src/panels/stats-feed';
import type { DeploymentRecord } from '../../../schemas/src/deploy';
import type { LogLine, ToWebview } from '../../../schemas/src/webview';
import { FakeDaemon, ManualClock, sandboxOf, settle } from './fake-daemon';

function logsPanel(daemon: FakeDaemon, clock: ManualClock) {
  const posted: ToWebview[] = [];
  const feed: LogFeed = new LogFeed({
    client: daemon.client as unknown as LogClient,
    sources: [{ container: 'c1', label: 'account', sandbox: 'demo', service: 'account' }],
    post: (m) => {
      posted.push(m);
      if (m.type === 'logs/batch') queueMicrotask(() => feed.ack(m.seq));
    },
    clock,
    now: () => Date.UTC(2026, 0, 1, 0, 1),
    batcher: { intervalMs: 10 },
  });
  const lines = () => posted.flatMap((m) => (m.type === 'logs/batch' ? m.lines : [])).map((l: LogLine) => (l.marker ? `[${l.text}]` : l.text));
  const states = () => posted.flatMap((m) => (m.type === 'logs/source' ? [m.detail ? `${m.state}: ${m.detail}` : m.state] : []));
  const banners = () => posted.flatMap((m) => (m.type === 'banner' ? [m.text] : []));
  const flush = async () => {
    await settle();
    clock.advance(10);
    await settle();
  };
  return { feed, posted, lines, states, banners, flush };
}

describe('a service’s Logs panel', () => {
  it('reads the old container to its end after a redeploy, then the marker and the new container in the same panel', async () => {
    const daemon = new FakeDaemon();
    const clock = new ManualClock();
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c1', deployment: 'd1' } }));
    const panel = logsPanel(daemon, clock);
    await panel.feed.start();
    expect(daemon.live('container/logs').map((s) => s.params)).toEqual([{ id: 'c1', follow: true, timestamps: true, tail: 10_000 }]);
    daemon.print('c1', 'old 1');
    await panel.flush();

    // The switch-over is recorded (the sandbox names c2) before the old container stops.
    daemon.update(sandboxOf('demo', { account: { container: 'c2aaaaaaaaaaaaaa', deployment: 'd2bbbbbb-0000' } }));
    await panel.flush();
    daemon.print('c1', 'old 2 (shutting down)');
    daemon.remove('c1');
    await settle();
    expect(daemon.live('container/logs').map((s) => s.params)).toEqual([{ id: 'c2aaaaaaaaaaaaaa', follow: true, timestamps: true, tail: 'all' }]);
    daemon.print('c2aaaaaaaaaaaaaa', 'new 1');
    await panel.flush();
    expect(panel.lines()).toEqual(['old 1', 'old 2 (shutting down)', '[— redeployed: now container c2aaaaaaaaaa (deployment d2bbbbbb) —]', 'new 1']);
    // No "ended" for the old container: the source went on following.
    expect(panel.states()).toEqual(['following', 'following']);
    expect(panel.feed.currentSources[0]!.container).toBe('c2aaaaaaaaaaaaaa');
    expect(panel.posted.some((m) => m.type === 'init')).toBe(false);
    await panel.feed.dispose();
    expect(daemon.live('container/logs')).toEqual([]);
    expect(daemon.live('sandbox/subscribe')).toEqual([]);
  });

  it('switches after the grace period when the old container’s stream does not end', async () => {
    const daemon = new FakeDaemon();
    const clock = new ManualClock();
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c1' } }));
    const panel = logsPanel(daemon, clock);
    await panel.feed.start();
    daemon.update(sandboxOf('demo', { account: { container: 'c2' } }));
    await settle();
    clock.advance(4_000);
    expect(daemon.live('container/logs').map((s) => s.params.id)).toEqual(['c1']);
    clock.advance(1_000);
    await settle();
    expect(daemon.live('container/logs').map((s) => s.params.id)).toEqual(['c2']);
    daemon.print('c2', 'new');
    await panel.flush();
    expect(panel.lines()).toEqual(['[— redeployed: now container c2 —]', 'new']);
  });

  it('opens on the container serving now, waits while none does, and stops with a banner when the sandbox is deleted', async () => {
    const daemon = new FakeDaemon();
    const clock = new ManualClock();
    // Redeployed since the panel's target was saved: the panel reads c5, without a marker.
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c5' } }));
    const panel = logsPanel(daemon, clock);
    await panel.feed.start();
    expect(daemon.live('container/logs').map((s) => s.params)).toEqual([{ id: 'c5', follow: true, timestamps: true, tail: 10_000 }]);
    daemon.print('c5', 'five');
    await panel.flush();

    daemon.remove('c5');
    daemon.update(sandboxOf('demo', { account: {} }));
    await panel.flush();
    expect(panel.states().at(-1)).toBe('waiting: no container serves account now; its next deployment is followed');

    daemon.delete('demo');
    await panel.flush();
    expect(panel.banners()).toEqual(['Sandbox demo was deleted. This panel shows what it had before; nothing new arrives.']);
    expect(panel.states().at(-1)).toBe('ended: sandbox demo was deleted');
    expect(panel.lines()).toEqual(['five']);
    expect(daemon.live('container/logs')).toEqual([]);
  });

  it('after a lost connection, reads on in the container it had switched to, or marks a redeploy that happened meanwhile', async () => {
    const daemon = new FakeDaemon();
    const clock = new ManualClock();
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c1' } }));
    const panel = logsPanel(daemon, clock);
    await panel.feed.start();
    daemon.update(sandboxOf('demo', { account: { container: 'c2' } }));
    daemon.remove('c1');
    await settle();
    daemon.print('c2', 'two');
    await panel.flush();
    const positions = panel.feed.handOver(); // the connection ends

    const next = () => {
      const posted: ToWebview[] = [];
      const feed = new LogFeed({ client: daemon.client as unknown as LogClient, sources: [{ container: 'c1', label: 'account', sandbox: 'demo', service: 'account' }], post: (m) => posted.push(m), clock, resumeFrom: positions });
      return { feed, posted };
    };
    // Still c2: read on right after the last line passed on, no marker.
    const same = next();
    await same.feed.start();
    expect(daemon.live('container/logs').map((s) => s.params)).toEqual([{ id: 'c2', follow: true, timestamps: true, since: '2026-01-01T00:00:10.000000000Z' }]);
    await same.feed.dispose();
    // Redeployed meanwhile (c3): the marker, then c3 whole.
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c3' } }));
    const moved = next();
    await moved.feed.start();
    expect(daemon.live('container/logs').map((s) => s.params)).toEqual([{ id: 'c3', follow: true, timestamps: true, tail: 'all' }]);
    daemon.print('c3', 'three');
    await settle();
    clock.advance(100);
    expect(moved.posted.flatMap((m) => (m.type === 'logs/batch' ? m.lines.map((l) => l.text) : []))).toEqual(['— redeployed: now container c3 —', 'three']);
    await moved.feed.dispose();
  });

  it('says at once that the sandbox is gone when the panel opens after its deletion', async () => {
    const daemon = new FakeDaemon();
    const panel = logsPanel(daemon, new ManualClock());
    await panel.feed.start();
    expect(panel.banners()).toHaveLength(1);
    expect(daemon.subscriptions.filter((s) => s.method === 'container/logs')).toEqual([]);
  });
});

const record = (o: Partial<DeploymentRecord>): DeploymentRecord =>
  ({ id: 'd1', sandbox: 'demo', service: 'account', repoPath: '/r', includeUncommitted: false, status: 'running', createdAt: '2026-01-01T00:00:00Z', stages: [], ...o }) as DeploymentRecord;

describe('a Deployment panel', () => {
  it('says another deployment replaced it, links to it, and says when the sandbox is deleted', async () => {
    const daemon = new FakeDaemon();
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c1', deployment: 'd1' } }));
    daemon.deployments.set('d1', record({}));
    const posted: ToWebview[] = [];
    const feed = new DeploymentFeed(daemon.client as unknown as DeploymentClient, { kind: 'deployment', deployment: 'd1', title: 't' }, (m) => posted.push(m));
    await feed.start();
    const banners = () => posted.filter((m) => m.type === 'banner');
    expect(banners()).toEqual([]);

    // d2 switches over: d1 superseded in the same transaction as the serving record.
    daemon.deployments.set('d2222222-x', record({ id: 'd2222222-x', ref: 'main', commit: 'abcdef12', status: 'running' }));
    daemon.deployments.set('d1', record({ status: 'superseded', supersededBy: 'd2222222-x' }));
    daemon.update(sandboxOf('demo', { account: { container: 'c2', deployment: 'd2222222-x' } }));
    await settle();
    expect(banners()).toEqual([
      {
        type: 'banner',
        kind: 'replaced',
        text: 'This deployment of account in demo was replaced by deployment d2222222 (account main@abcdef1, running).',
        deployment: { id: 'd2222222-x', label: 'Show the new deployment' },
      },
    ]);
    daemon.delete('demo');
    await settle();
    expect(banners().map((b) => b.type === 'banner' && b.kind)).toEqual(['replaced', 'deleted']);
    expect(daemon.live('deploy/subscribe')).toEqual([]);
    await feed.dispose();
    expect(daemon.live('sandbox/subscribe')).toEqual([]);
  });

  it('opened on a deployment already replaced, says so at once', async () => {
    const daemon = new FakeDaemon();
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c2', deployment: 'd2' } }));
    daemon.deployments.set('d1', record({ status: 'superseded', supersededBy: 'd2' }));
    daemon.deployments.set('d2', record({ id: 'd2' }));
    const posted: ToWebview[] = [];
    const feed = new DeploymentFeed(daemon.client as unknown as DeploymentClient, { kind: 'deployment', deployment: 'd1', title: 't' }, (m) => posted.push(m));
    await feed.start();
    expect(posted.map((m) => m.type)).toEqual(['deploy/snapshot', 'banner']);
    await feed.dispose();
  });
});

describe('a Stats panel', () => {
  it('stops its live samples and says so when its sandbox is deleted', async () => {
    const daemon = new FakeDaemon();
    daemon.sandboxes.set('demo', sandboxOf('demo', {}));
    const posted: ToWebview[] = [];
    const feed = new StatsFeed(daemon.client as unknown as StatsClient, { kind: 'stats', sandbox: 'demo', title: 't' }, (m) => posted.push(m));
    await feed.start();
    expect(daemon.live('container/stats')).toHaveLength(1);
    daemon.delete('demo');
    await settle();
    expect(daemon.live('container/stats')).toEqual([]);
    expect(posted.filter((m) => m.type === 'banner')).toMatchObject([{ kind: 'deleted', text: expect.stringContaining('Sandbox demo was deleted') }]);
    await feed.dispose();
  });
});
