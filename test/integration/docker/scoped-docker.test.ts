/**
 * The label-scoped Docker client against the real engine: what it creates carries this
 * instance's labels; it renames, stops, starts, restarts, disconnects and removes only this
 * instance's objects of the sandbox/service it acts for — anything else answers Conflict
 * naming the owner and is left exactly as it was; removing what is gone is not an error; the
 * `user` view refuses only another Branchbox instance's containers.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../../daemon/src/docker/engine';
import { Ownership } from '../../../daemon/src/docker/ownership';
import { ScopedDocker } from '../../../daemon/src/docker/scoped-docker';
import { docker as fixtureDocker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { SLEEPER, rpcErrorOf } from './fixtures';

const run = testRun('bbscope');
const engine = new DockerEngine();
const OURS = 'aaaaaaaaaaaa';
const THEIRS = 'bbbbbbbbbbbb';
let scoped: ScopedDocker;

const labelsOf = (instance: string, sandbox: string, service = 'web') => ({
  'branchbox.managed': 'true',
  'branchbox.instance': instance,
  'branchbox.sandbox': sandbox,
  'branchbox.service': service,
});
const facts = async (id: string) => {
  const i = await fixtureDocker.getContainer(id).inspect();
  return { name: i.Name, running: i.State.Running, startedAt: i.State.StartedAt, networks: Object.keys(i.NetworkSettings.Networks) };
};

beforeAll(async () => {
  expect(await engine.start()).toMatchObject({ available: true });
  scoped = new ScopedDocker(() => engine.client(), new Ownership(OURS, { [TEST_LABEL]: run.runId }));
});
afterAll(async () => {
  engine.stop();
  await run.cleanup();
});

describe('the label-scoped Docker client', () => {
  it('stamps this instance’s labels on what it creates, and lists only that', async () => {
    const id = await scoped.createContainer(
      { Name: `${run.runId}-ours`, Image: 'branchbox/busybox:1', Cmd: SLEEPER, Labels: { 'branchbox.deployment': 'd1' }, HostConfig: {} },
      { sandbox: 'qa', service: 'web' },
    );
    expect((await fixtureDocker.getContainer(id).inspect()).Config.Labels).toMatchObject({
      ...labelsOf(OURS, 'qa'),
      'branchbox.deployment': 'd1',
      [TEST_LABEL]: run.runId,
    });
    await run.createContainer({ Cmd: SLEEPER, Labels: labelsOf(THEIRS, 'qa') });
    expect((await scoped.containers([`${TEST_LABEL}=${run.runId}`])).map((c) => c.id)).toEqual([id]);
    await scoped.start(id, { sandbox: 'qa', service: 'web' });
    await scoped.stop(id, 1, { sandbox: 'qa' });
    await scoped.removeContainer(id, { sandbox: 'qa', service: 'web' });
    await scoped.removeContainer(id); // gone: not an error
  });

  it('refuses to act on another instance’s, a foreign, or another sandbox’s container, naming the owner, and leaves it as it was', async () => {
    const theirs = (await run.createContainer({ Cmd: SLEEPER, name: `${run.runId}-theirs`, Labels: labelsOf(THEIRS, 'qa') })).id;
    const plain = (await run.createContainer({ Cmd: SLEEPER, name: `${run.runId}-plain` })).id;
    const other = (await run.createContainer({ Cmd: SLEEPER, name: `${run.runId}-other`, Labels: labelsOf(OURS, 'other') })).id;
    const before = await Promise.all([theirs, plain, other].map(facts));

    const e = await rpcErrorOf(scoped.removeContainer(`${run.runId}-theirs`));
    expect(e.errorName).toBe('Conflict');
    expect(e.message).toBe(
      `Refused to remove container ${run.runId}-theirs: it belongs to Branchbox instance ${THEIRS} sandbox qa service web, not to this one (${OURS}).`,
    );
    expect(e.data).toEqual({ kind: 'container', id: theirs, name: `${run.runId}-theirs`, owner: { instance: THEIRS, sandbox: 'qa', service: 'web' } });
    for (const call of [() => scoped.stop(theirs, 1), () => scoped.restart(theirs, 1), () => scoped.rename(theirs, `${run.runId}-x`), () => scoped.start(theirs)]) {
      expect((await rpcErrorOf(call())).errorName).toBe('Conflict');
    }
    const foreign = await rpcErrorOf(scoped.rename(plain, `${run.runId}-y`));
    expect(foreign.message).toBe(`Refused to rename container ${run.runId}-plain: it is not a Branchbox object.`);
    expect(foreign.data).toMatchObject({ owner: null });
    const elsewhere = await rpcErrorOf(scoped.stop(other, 1, { sandbox: 'qa' }));
    expect(elsewhere.message).toBe(`Refused to stop container ${run.runId}-other: it belongs to sandbox other service web of this Branchbox instance, not to sandbox qa.`);

    expect(await Promise.all([theirs, plain, other].map(facts))).toEqual(before);
  });

  it('removes its network only when nothing of another owner is attached to it', async () => {
    const network = await scoped.createNetwork(`${run.runId}-net`, { sandbox: 'qa' });
    const theirs = (await run.createContainer({ Cmd: SLEEPER, Labels: labelsOf(THEIRS, 'qa'), HostConfig: { NetworkMode: `${run.runId}-net` } })).id;
    const before = await facts(theirs);
    expect((await rpcErrorOf(scoped.removeNetwork(network, { sandbox: 'qa' }))).message).toMatch(
      new RegExp(`^Refused to disconnect container .*: it belongs to Branchbox instance ${THEIRS} sandbox qa`),
    );
    expect(await facts(theirs)).toEqual(before);
    await fixtureDocker.getContainer(theirs).remove({ force: true });
    await scoped.removeNetwork(network, { sandbox: 'qa' });
    await scoped.removeNetwork(network); // gone: not an error
    // Another instance's network is refused too.
    const foreignNet = await fixtureDocker.createNetwork({ Name: `${run.runId}-net2`, Labels: { ...labelsOf(THEIRS, 'qa'), [TEST_LABEL]: run.runId } });
    expect((await rpcErrorOf(scoped.removeNetwork(foreignNet.id))).errorName).toBe('Conflict');
    expect((await foreignNet.inspect()).Name).toBe(`${run.runId}-net2`);
  });

  it('re-attaches its container to its network under aliases, running or stopped, keeping the published port', async () => {
    // A fixed host port, as deployments publish (an engine-chosen one would be chosen again).
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const hostPort = String((free.address() as AddressInfo).port);
    await new Promise((r) => free.close(r));
    const network = await scoped.createNetwork(`${run.runId}-alias`, { sandbox: 'qa' });
    const id = await scoped.createContainer(
      {
        Name: `${run.runId}-web`,
        Image: 'branchbox/busybox:1',
        Cmd: ['httpd', '-f', '-p', '8080'],
        ExposedPorts: { '8080/tcp': {} },
        HostConfig: { NetworkMode: `${run.runId}-alias`, PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: hostPort }] } },
      },
      { sandbox: 'qa', service: 'web' },
    );
    const aliasesOf = async () => (await fixtureDocker.getContainer(id).inspect()).NetworkSettings.Networks[`${run.runId}-alias`]?.Aliases ?? [];
    await scoped.reattach(network, id, ['web', 'sandbox-qa-web'], { sandbox: 'qa', service: 'web' });
    expect(await aliasesOf()).toEqual(expect.arrayContaining(['web', 'sandbox-qa-web']));
    await scoped.start(id);
    await scoped.reattach(network, id, ['web2'], { sandbox: 'qa', service: 'web' });
    expect(await aliasesOf()).toEqual(expect.arrayContaining(['web2']));
    expect(await aliasesOf()).not.toContain('web');
    expect((await fixtureDocker.getContainer(id).inspect()).NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort).toBe(hostPort);
    expect((await fetch(`http://127.0.0.1:${hostPort}/`)).status).toBe(404); // httpd answers (no index)
    await scoped.removeContainer(id);
    await scoped.removeNetwork(network);
  });

  it('the user view acts on any container but another Branchbox instance’s', async () => {
    const plain = (await run.createContainer({ Cmd: SLEEPER })).id;
    await scoped.user.stop(plain, { timeoutSeconds: 1 });
    await scoped.user.remove(plain);
    const theirs = (await run.createContainer({ Cmd: SLEEPER, Labels: labelsOf(THEIRS, 'qa') })).id;
    const e = await rpcErrorOf(scoped.user.remove(theirs, { force: true }));
    expect(e.message).toContain(`belongs to Branchbox instance ${THEIRS} sandbox qa service web`);
    expect((await facts(theirs)).running).toBe(true);
  });
});
