/**
 * The stats collector against the real engine: CPU % of a busy container limited to half a
 * CPU and of an idle one, memory within its limit, history of what was collected, sandbox
 * sums, shared streams, track/untrack, and the end of a removed container.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { StatsCollector, type StatsListener, type StatsSample } from '../../../daemon/src/docker/streams/stats';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { docker, testRun } from '../../helpers/docker-fixtures';
import { Collector } from './collect';

const run = testRun('bbstats');
const sandbox = `${run.runId}-sb`;
const MiB = 1024 * 1024;
let collector: StatsCollector;
let busy: Docker.Container;
let idle: Docker.Container;

beforeAll(async () => {
  collector = new StatsCollector(() => docker);
  busy = await run.createContainer({
    Cmd: ['sh', '-c', 'while :; do :; done'],
    Labels: { 'branchbox.sandbox': sandbox },
    HostConfig: { NanoCpus: 500_000_000, Memory: 64 * MiB },
  });
  idle = await run.createContainer({
    Cmd: ['sleep', '300'],
    Labels: { 'branchbox.sandbox': sandbox },
    HostConfig: { Memory: 64 * MiB },
  });
});

afterAll(async () => {
  collector?.close();
  await run.cleanup();
});

/** A listener that records samples and how the feed ended. */
function listen(): StatsListener & { samples: Collector<StatsSample>; ended: Collector<RpcError | 'end'> } {
  const samples = new Collector<StatsSample>();
  const ended = new Collector<RpcError | 'end'>();
  return { samples, ended, sample: (s) => samples.add(s), end: (e) => ended.add(e ?? 'end') };
}

const at = (n: number) => (items: readonly unknown[]) => items.length >= n;

describe('container stats', () => {
  it('shows a busy container limited to half a CPU near 50 % and an idle one near 0, memory within the limit', async () => {
    const busyListener = listen();
    const idleListener = listen();
    const subs = [await collector.subscribe(busy.id, busyListener), await collector.subscribe(idle.id, idleListener)];
    await Promise.all([
      busyListener.samples.until(at(4), '4 samples of the busy container'),
      idleListener.samples.until(at(4), '4 samples of the idle container'),
    ]);
    // The first sample after the loop starts may include its start-up; judge the later ones.
    for (const s of busyListener.samples.items.slice(1)) {
      expect(s.id).toBe(busy.id);
      expect(s.cpuPercent).toBeGreaterThan(20);
      expect(s.cpuPercent).toBeLessThan(80);
    }
    for (const s of [...busyListener.samples.items, ...idleListener.samples.items]) {
      expect(s.memoryUsed).toBeGreaterThan(0);
      expect(s.memoryUsed).toBeLessThanOrEqual(s.memoryLimit);
      expect(s.memoryLimit).toBe(64 * MiB);
      expect(s.memoryPercent).toBeCloseTo((s.memoryUsed / s.memoryLimit) * 100);
      for (const v of [s.cpuPercent, s.netRxRate, s.netTxRate, s.blockReadRate, s.blockWriteRate]) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
      }
    }
    for (const s of idleListener.samples.items) expect(s.cpuPercent).toBeLessThan(5);

    // History has what was delivered, in order.
    const history = await collector.history({ id: busy.id });
    const delivered = busyListener.samples.items.map((s) => s.t);
    expect(history.map((s) => s.t).slice(-delivered.length)).toEqual(delivered);
    const since = Date.parse(delivered[2]!);
    expect((await collector.history({ id: busy.id }, since)).map((s) => s.t)).toEqual(
      history.map((s) => s.t).filter((t) => Date.parse(t) >= since),
    );

    // The sandbox sum adds both containers up.
    const summed = await collector.history({ sandbox });
    expect(summed.length).toBeGreaterThan(0);
    const both = summed.filter((s) => s.containers === 2);
    expect(both.length).toBeGreaterThan(0);
    for (const s of both) {
      expect(s.id).toBe(sandbox);
      expect(s.memoryLimit).toBe(128 * MiB);
      expect(s.cpuPercent).toBeGreaterThan(15);
    }
    for (const sub of subs) sub.close();
    expect(collector.collecting).not.toContain(busy.id);
  });

  it('shares one stream among subscribers and collects tracked containers without any', async () => {
    const a = listen();
    const b = listen();
    const subA = await collector.subscribe(idle.id, a);
    const subB = await collector.subscribe(idle.id.slice(0, 12), b);
    expect(subB.id).toBe(idle.id);
    expect(collector.collecting.filter((id) => id === idle.id)).toHaveLength(1);
    await Promise.all([a.samples.until(at(1), 'a sample for A'), b.samples.until(at(1), 'a sample for B')]);

    expect(await collector.track(idle.id)).toBe(idle.id);
    subA.close();
    subB.close();
    expect(collector.collecting).toContain(idle.id); // tracked: still collected
    const before = (await collector.history({ id: idle.id })).length;
    const c = listen();
    const subC = await collector.subscribe(idle.id, c);
    await c.samples.until(at(1), 'another sample');
    expect((await collector.history({ id: idle.id })).length).toBeGreaterThan(before);
    collector.untrack(idle.id);
    expect(collector.collecting).toContain(idle.id); // still subscribed
    subC.close();
    expect(collector.collecting).not.toContain(idle.id);
    expect(await collector.history({ id: idle.id })).toEqual([]); // released with its stream
  });

  it('streams every container of a sandbox, including one that starts later', async () => {
    const listener = listen();
    const sub = await collector.subscribeSandbox(sandbox, listener);
    const late = await run.createContainer({ Cmd: ['sleep', '300'], Labels: { 'branchbox.sandbox': sandbox } });
    await listener.samples.until(
      (items) => [busy.id, idle.id, late.id].every((id) => items.some((s) => s.id === id)),
      'samples of all three containers',
    );
    sub.close();
    expect(collector.collecting).toEqual([]);
  });

  it('ends a subscription when its container is removed', async () => {
    const doomed = await run.createContainer({ Cmd: ['sleep', '300'] });
    const listener = listen();
    await collector.subscribe(doomed.id, listener);
    await listener.samples.until(at(1), 'a sample');
    await doomed.remove({ force: true });
    await listener.ended.until(at(1), 'the end of the stream');
    expect(listener.ended.items).toEqual(['end']);
    expect(collector.collecting).not.toContain(doomed.id);
  });

  it('answers ContainerNotFound for an unknown container', async () => {
    for (const attempt of [
      () => collector.subscribe(`${run.runId}-nope`, listen()),
      () => collector.track(`${run.runId}-nope`),
      () => collector.history({ id: `${run.runId}-nope` }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RpcError);
      expect((error as RpcError).errorName).toBe('ContainerNotFound');
    }
  });
});
