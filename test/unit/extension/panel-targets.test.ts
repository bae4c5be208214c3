/**
 * What a panel shows, resolved against the sandboxes (extension/src/panels/targets.ts and
 * sandbox-watch.ts): a service source follows the container serving it, waits while none does,
 * stops for good when its sandbox is deleted; titles never repeat between two targets; the
 * watch reports only its sandboxes' changes after its first read.
 */
import { describe, expect, it } from 'vitest';
import { SandboxWatch, type SandboxWatchClient } from '../../../extension/src/panels/sandbox-watch';
import { LogTargets, deploymentTitle, logsTitle, redeployMarker, replacedBanner, statsTitle } from '../../../extension/src/panels/targets';
import type { DeploymentRecord } from '../../../schemas/src/deploy';
import type { Sandbox } from '../../../schemas/src/sandbox';
import { panelKey, type LogSourceRef } from '../../../schemas/src/webview';
import { FakeDaemon, sandboxOf, settle } from './fake-daemon';

const account = (sandbox: string, container: string): LogSourceRef => ({ container, label: 'account', sandbox, service: 'account' });

describe('LogTargets', () => {
  it('follows a service to the container serving it, and only that service', () => {
    const targets = new LogTargets([account('demo', 'c1'), { container: 'plain', label: 'plain' }, { ...account('demo', 'p1'), label: 'payment', service: 'payment' }]);
    expect(targets.sandboxes).toEqual(['demo']);
    // As opened: nothing switches.
    expect(targets.update('demo', sandboxOf('demo', { account: { container: 'c1', deployment: 'd1' }, payment: { container: 'p1' } }))).toEqual([]);
    // account redeployed; payment unchanged; the plain container is never touched.
    expect(targets.update('demo', sandboxOf('demo', { account: { container: 'c2', deployment: 'd2' }, payment: { container: 'p1' } }))).toEqual([
      { src: 0, to: { kind: 'container', container: 'c2', deployment: 'd2' } },
    ]);
    expect(targets.target(1)).toEqual({ kind: 'container', container: 'plain' });
    // The same state again: no switch.
    expect(targets.update('demo', sandboxOf('demo', { account: { container: 'c2', deployment: 'd2' }, payment: { container: 'p1' } }))).toEqual([]);
    // Another sandbox's change means nothing here.
    expect(targets.update('other', sandboxOf('other', { account: { container: 'x9' } }))).toEqual([]);
  });

  it('waits while no container serves the service, then stops for good once its sandbox is deleted', () => {
    const targets = new LogTargets([account('demo', 'c1')]);
    expect(targets.update('demo', sandboxOf('demo', { account: {} }))).toEqual([{ src: 0, to: { kind: 'waiting' } }]);
    expect(targets.update('demo', sandboxOf('demo', { account: { container: 'c3' } }))).toEqual([{ src: 0, to: { kind: 'container', container: 'c3' } }]);
    expect(targets.update('demo', undefined)).toEqual([{ src: 0, to: { kind: 'deleted', sandbox: 'demo' } }]);
    // A sandbox created later under the same name is another one.
    expect(targets.update('demo', sandboxOf('demo', { account: { container: 'c4' } }))).toEqual([]);
  });

  it('marks a switch with the new container and deployment', () => {
    expect(redeployMarker({ container: 'abcdef0123456789', deployment: '1a2b3c4d-5e6f' })).toBe('— redeployed: now container abcdef012345 (deployment 1a2b3c4d) —');
  });
});

describe('panel titles', () => {
  it('names the sandbox of a service, so two sandboxes never share a title or a panel', () => {
    const demo = [account('demo', 'c1')];
    const other = [account('other', 'c9')];
    expect(logsTitle(demo)).toBe('Logs: account (demo)');
    expect(logsTitle(other)).toBe('Logs: account (other)');
    expect(panelKey({ kind: 'logs', title: logsTitle(demo), sources: demo })).not.toBe(panelKey({ kind: 'logs', title: logsTitle(other), sources: other }));
    // A service's panel is the same after a redeploy (another container, same service).
    expect(panelKey({ kind: 'logs', title: 'x', sources: [account('demo', 'c2')] })).toBe(panelKey({ kind: 'logs', title: 'x', sources: demo }));
    expect(logsTitle([account('demo', 'c1'), { ...account('demo', 'p1'), label: 'payment', service: 'payment' }])).toBe('Logs: account, payment (demo)');
    expect(logsTitle([{ container: 'c', label: 'redis-dev' }])).toBe('Logs: redis-dev');
  });

  it('tells two deployments of one service apart, and a service container of each sandbox', () => {
    const a = deploymentTitle({ id: '11111111-aaaa', service: 'account', sandbox: 'demo' });
    const b = deploymentTitle({ id: '22222222-bbbb', service: 'account', sandbox: 'demo' });
    expect(a).toBe('Deploy: account → demo #11111111');
    expect(a).not.toBe(b);
    expect(statsTitle({ sandbox: 'demo' })).toBe('Stats: sandbox demo');
    expect(statsTitle({ container: 'c1c1c1c1c1c1c1', service: 'account', containerSandbox: 'demo' })).not.toBe(statsTitle({ container: 'c2c2c2c2c2c2', service: 'account', containerSandbox: 'demo' }));
  });

  it('links a replaced deployment to the one that replaced it', () => {
    const old = { id: 'old', sandbox: 'demo', service: 'account', status: 'superseded', supersededBy: 'newnewnew-1' } as DeploymentRecord;
    const by = { id: 'newnewnew-1', sandbox: 'demo', service: 'account', ref: 'feature/x', commit: 'abcdef1234', status: 'running' } as DeploymentRecord;
    expect(replacedBanner(old, by)).toEqual({
      text: 'This deployment of account in demo was replaced by deployment newnewne (account feature/x@abcdef1, running).',
      deployment: { id: 'newnewnew-1', label: 'Show the new deployment' },
    });
  });
});

describe('SandboxWatch', () => {
  it('reads the sandbox after subscribing, then reports only its changes until it is deleted', async () => {
    const daemon = new FakeDaemon();
    daemon.sandboxes.set('demo', sandboxOf('demo', { account: { container: 'c1' } }));
    const seen: [string, Sandbox | undefined][] = [];
    const watch = await SandboxWatch.start(daemon.client as unknown as SandboxWatchClient, ['demo'], (name, s) => seen.push([name, s]));
    expect(daemon.requests).toEqual(['sandbox/get']);
    expect(daemon.subscriptions[0]!.method).toBe('sandbox/subscribe');
    expect(watch.sandbox('demo')?.services[0]?.containerId).toBe('c1');
    daemon.update(sandboxOf('other', {}));
    daemon.update(sandboxOf('demo', { account: { container: 'c2' } }));
    daemon.delete('demo');
    daemon.update(sandboxOf('demo', { account: { container: 'c3' } })); // a new sandbox of that name
    expect(seen.map(([n, s]) => `${n}:${s?.services[0]?.containerId ?? 'deleted'}`)).toEqual(['demo:c2', 'demo:deleted']);
    await watch.dispose();
    expect(daemon.live('sandbox/subscribe')).toEqual([]);
  });

  it('knows a sandbox deleted before it started, or while it read', async () => {
    const daemon = new FakeDaemon();
    const gone = await SandboxWatch.start(daemon.client as unknown as SandboxWatchClient, ['demo'], () => undefined);
    expect(gone.sandbox('demo')).toBeUndefined();

    daemon.sandboxes.set('demo', sandboxOf('demo', {}));
    const seen: string[] = [];
    const starting = SandboxWatch.start(daemon.client as unknown as SandboxWatchClient, ['demo'], (n, s) => seen.push(s ? 'updated' : 'deleted'));
    await settle(); // subscribed, sandbox/get in flight: the sandbox is deleted now
    daemon.announce({ kind: 'deleted', name: 'demo' });
    const watch = await starting;
    expect(seen).toEqual(['deleted']);
    expect(watch.sandbox('demo')).toBeUndefined();
  });
});
