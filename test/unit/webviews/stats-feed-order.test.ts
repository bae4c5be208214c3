/**
 * The Stats and Deployment feeds' message order with a scripted client: live stats samples
 * that arrive before the history wait for it (the history replaces what the webview holds);
 * a deployment's replayed log lines already in the snapshot are not sent again; disposing
 * cancels the subscription.
 */
import { describe, expect, it } from 'vitest';
import { DeploymentFeed, type DeploymentClient } from '../../../extension/src/panels/deployment-feed';
import { StatsFeed, type StatsClient } from '../../../extension/src/panels/stats-feed';
import type { DeployProgress, DeploymentRecord } from '../../../schemas/src/deploy';
import type { StatsSample } from '../../../schemas/src/docker-streams';
import type { DeploymentSnapshot, ToWebview } from '../../../schemas/src/webview';

const sample = (s: number): StatsSample => ({
  id: 'c',
  t: new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString(),
  cpuPercent: 1,
  memoryUsed: 1,
  memoryLimit: 2,
  memoryPercent: 50,
  netRxRate: 0,
  netTxRate: 0,
  blockReadRate: 0,
  blockWriteRate: 0,
});

type Handlers = { onItems(items: unknown[]): void; onEnd?(end: { reason: string }): void };

function scripted(answers: Record<string, (params: unknown) => unknown>) {
  const calls: string[] = [];
  let handlers: Handlers | undefined;
  const client = {
    request: async (method: string, params: unknown) => {
      calls.push(method);
      return answers[method]!(params);
    },
    subscribe: async (method: string, _params: unknown, _n: string, h: Handlers) => {
      calls.push(method);
      handlers = h;
      return { id: 's1', result: { subscription: 's1' }, cancel: async () => void calls.push('cancel') };
    },
  };
  return { client, calls, push: (items: unknown[]) => handlers!.onItems(items), end: (reason: string) => handlers!.onEnd?.({ reason }) };
}

describe('StatsFeed', () => {
  it('sends live samples that came before the history after it', async () => {
    const posted: ToWebview[] = [];
    let push: (items: unknown[]) => void = () => undefined;
    const s = scripted({
      'stats/history': () => {
        push([sample(10)]); // a live sample lands while the history is being read
        return [sample(8), sample(9)];
      },
    });
    push = s.push;
    const feed = new StatsFeed(s.client as unknown as StatsClient, { kind: 'stats', container: 'c', title: 'c' }, (m) => posted.push(m));
    await feed.start();
    s.push([sample(11)]);
    expect(posted.map((m) => (m.type === 'stats/samples' ? `${m.history ? 'history' : 'live'}:${m.samples.length}` : m.type))).toEqual(['history:2', 'live:1', 'live:1']);
    await feed.dispose();
    expect(s.calls).toEqual(['container/stats', 'stats/history', 'cancel']);
    s.push([sample(12)]);
    expect(posted).toHaveLength(3);
  });

  it('cancels its subscription when the history fails', async () => {
    const s = scripted({
      'sandbox/get': () => ({ name: 'sb', services: [] }),
      'stats/history': () => {
        throw new Error('ContainerNotFound');
      },
    });
    const feed = new StatsFeed(s.client as unknown as StatsClient, { kind: 'stats', sandbox: 'sb', title: 'sb' }, () => undefined);
    await expect(feed.start()).rejects.toThrow('ContainerNotFound');
    // The sandbox is watched (for its deletion) first; both subscriptions are cancelled.
    expect(s.calls).toEqual(['sandbox/subscribe', 'sandbox/get', 'container/stats', 'stats/history', 'cancel', 'cancel']);
  });
});

describe('DeploymentFeed', () => {
  it('sends the snapshot, then progress without the log lines the snapshot has', async () => {
    const record = { id: 'd', sandbox: 'sb', service: 'api', repoPath: '/r', includeUncommitted: false, status: 'building', createdAt: new Date(0).toISOString(), stages: [] } as DeploymentRecord;
    const line = (seq: number) => ({ seq, t: record.createdAt, source: 'build' as const, line: `l${seq}` });
    const s = scripted({
      'deploy/get': () => record,
      'deploy/logs': (p) => ((p as { afterSeq: number }).afterSeq === 0 ? { lines: [line(1), line(2)], more: true } : { lines: [line(3)], more: false }),
      'deploy/list': () => ({ deployments: [record] }),
      'sandbox/get': () => ({ name: 'sb', services: [] }),
    });
    const posted: ToWebview[] = [];
    const feed = new DeploymentFeed(s.client as unknown as DeploymentClient, { kind: 'deployment', deployment: 'd', title: 'd' }, (m) => posted.push(m));
    await feed.start();
    expect(posted[0]).toMatchObject({ type: 'deploy/snapshot', record, history: [record] });
    expect((posted[0] as DeploymentSnapshot).log.map((l) => l.seq)).toEqual([1, 2, 3]);
    const item = (o: Partial<DeployProgress>): DeployProgress => ({ deployment: 'd', service: 'api', sandbox: 'sb', kind: 'log', t: record.createdAt, ...o });
    s.push([item({ seq: 2, line: 'l2' }), item({ seq: 3, line: 'l3' })]); // the replay
    expect(posted).toHaveLength(1);
    s.push([item({ seq: 3, line: 'l3' }), item({ kind: 'status', status: 'running' }), item({ seq: 4, line: 'l4' })]);
    expect(posted[1]).toMatchObject({ type: 'deploy/progress', items: [{ kind: 'status' }, { seq: 4 }] });
    await feed.dispose();
    expect(s.calls.at(-1)).toBe('cancel');
  });
});
