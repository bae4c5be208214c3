/**
 * A sandbox's named volumes on the real engine through a real daemon: deleted with the
 * sandbox, copied by clone (the container using one paused during the copy, then unpaused),
 * captured by snapshot into tar files under the state directory, put back by restore and by
 * seeding (`sandbox/create fromSnapshot`), owners and modes kept; bad input leaves no sandbox
 * and no half-filled volume. The volumes are made as the deploy pipeline makes them (the
 * daemon's labels, `sandbox-{sandbox}_{volume}`), data is written and read back by labelled
 * busybox containers. Everything carries this run's `branchbox.test` label and is removed.
 */
import { existsSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { volumeName } from '../../../schemas/src/docker-names';
import { instanceId } from '../../../daemon/src/docker/labels';
import { failure, portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { BUSYBOX, docker, testRun, TEST_LABEL } from '../../helpers/docker-fixtures';
import { runCli } from '../cli/cli-process';

const run = testRun('bbvol');
const suffix = run.runId.slice(-8);
let daemon: TestDaemon;
let client: TestClient;
let owner: Record<string, string>;
const created = new Set<string>();
const snapshots = new Set<string>();

function sandboxName(tag: string): string {
  const name = `v${suffix}-${tag}`;
  created.add(name);
  return name;
}

function snapshotName(tag: string): string {
  const name = `v${suffix}-${tag}`;
  snapshots.add(name);
  return name;
}

/** The volume as the deploy pipeline creates it: the daemon's labels and the sandbox's. */
async function makeVolume(sandbox: string, volume: string): Promise<string> {
  const name = volumeName(sandbox, volume);
  await docker.createVolume({ Name: name, Labels: { ...owner, 'branchbox.sandbox': sandbox } });
  return name;
}

/** Runs `script` in a labelled busybox container with the volumes mounted (`/v/<name>`); answers its output. */
async function sh(mounts: Record<string, string>, script: string): Promise<string> {
  const c = await run.createContainer({
    Image: BUSYBOX,
    Cmd: ['sh', '-c', script],
    Tty: true,
    HostConfig: { Binds: Object.entries(mounts).map(([name, volume]) => `${volume}:/v/${name}`) },
    start: false,
  });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const out = (await c.logs({ stdout: true, stderr: true })).toString().replace(/\r/g, '');
    if (StatusCode !== 0) throw new Error(`${script} exited ${StatusCode}: ${out}`);
    return out.trim();
  } finally {
    await c.remove({ force: true });
  }
}

/** Fills the volumes of `sandbox`: pgdata (a file owned by 70:70 in a 0700 directory) and cache. */
async function seedData(sandbox: string, version: string): Promise<void> {
  await sh(
    { pgdata: volumeName(sandbox, 'pgdata'), cache: volumeName(sandbox, 'cache') },
    `mkdir -p /v/pgdata/base && echo ${version} > /v/pgdata/base/rows && chown -R 70:70 /v/pgdata/base && chmod 700 /v/pgdata && echo warm > /v/cache/hits`,
  );
}

/** What the volumes of `sandbox` hold, owners and modes included. */
function readData(sandbox: string): Promise<string> {
  return sh(
    { pgdata: volumeName(sandbox, 'pgdata'), cache: volumeName(sandbox, 'cache') },
    'cat /v/pgdata/base/rows /v/cache/hits; stat -c "%u:%g %a" /v/pgdata /v/pgdata/base/rows',
  );
}

async function volumesOf(sandbox: string): Promise<string[]> {
  const { Volumes } = await docker.listVolumes({ filters: JSON.stringify({ label: [`branchbox.sandbox=${sandbox}`] }) });
  return (Volumes ?? []).map((v) => v.Name).sort();
}

/** A long-running container of the sandbox (the daemon's labels) mounting its pgdata, as a database would. */
async function databaseOf(sandbox: string) {
  return run.createContainer({
    Image: BUSYBOX,
    Cmd: ['sleep', '3600'],
    Labels: { ...owner, 'branchbox.sandbox': sandbox, 'branchbox.service': 'db' },
    HostConfig: { Binds: [`${volumeName(sandbox, 'pgdata')}:/var/lib/db`] },
  });
}

beforeAll(async () => {
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}`, ...portWindows() } });
  client = await daemon.connect('volumes-test');
  owner = { 'branchbox.managed': 'true', 'branchbox.instance': instanceId(daemon.stateDir), [TEST_LABEL]: run.runId };
});

afterEach(async () => {
  for (const name of snapshots) await client.request('snapshot/delete', { name }).catch(() => undefined);
  snapshots.clear();
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${TEST_LABEL}=${run.runId}`] }) });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  for (const name of created) await client.request('sandbox/delete', { name }).catch(() => undefined);
  created.clear();
  await run.cleanup();
});

afterAll(async () => {
  await client?.closeSocket();
  await daemon?.stop();
  await daemon?.dispose();
  await run.cleanup();
});

describe('named volumes of a sandbox', () => {
  it('clone copies the data (the database paused, then unpaused); delete removes the volumes and says which', async () => {
    const src = sandboxName('src');
    await client.request('sandbox/create', { name: src });
    await makeVolume(src, 'pgdata');
    await makeVolume(src, 'cache');
    await seedData(src, 'v1');
    const db = await databaseOf(src);
    expect(await client.request('sandbox/volumes', { name: src })).toEqual({
      volumes: [
        { name: 'cache', dockerName: volumeName(src, 'cache') },
        { name: 'pgdata', dockerName: volumeName(src, 'pgdata') },
      ],
    });

    const since = Math.floor(Date.now() / 1000) - 1;
    const copy = sandboxName('copy');
    await client.request('sandbox/clone', { name: src, newName: copy });
    expect(await readData(copy)).toBe('v1\nwarm\n0:0 700\n70:70 644');
    expect((await db.inspect()).State).toMatchObject({ Running: true, Paused: false });
    const events = await docker.getEvents({
      since,
      until: Math.floor(Date.now() / 1000) + 1,
      filters: JSON.stringify({ container: [db.id], event: ['pause', 'unpause'] }),
    });
    let text = '';
    for await (const chunk of events) text += String(chunk);
    const actions = text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { Action: string }).Action);
    expect(actions).toEqual(['pause', 'unpause']);
    // The helper containers are gone.
    const helpers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`branchbox.sandbox=${copy}`] }) });
    expect(helpers).toEqual([]);

    const listed = await runCli(['sandbox', 'volumes', copy], { stateDir: daemon.stateDir });
    expect(listed.stdout).toMatch(new RegExp(`pgdata\\s+${volumeName(copy, 'pgdata')}`));

    await db.remove({ force: true });
    const removed = await client.request('sandbox/delete', { name: src });
    expect(removed.volumes).toEqual(['cache', 'pgdata']);
    expect(await volumesOf(src)).toEqual([]);
    // The copy is independent of its source; the CLI's delete says which volumes went.
    expect(await readData(copy)).toContain('v1');
    const byCli = await runCli(['sandbox', 'delete', copy], { stateDir: daemon.stateDir });
    expect(byCli.stdout).toContain('2 volumes: cache, pgdata)');
    expect(await volumesOf(copy)).toEqual([]);
  });

  it('snapshot captures the data as tar files; restore and seeding put it back; snapshot/delete removes the files', async () => {
    const live = sandboxName('live');
    await client.request('sandbox/create', { name: live });
    await makeVolume(live, 'pgdata');
    await makeVolume(live, 'cache');
    await seedData(live, 'v1');
    const db = await databaseOf(live);

    const snap = snapshotName('snap');
    const summary = await client.request('sandbox/snapshot', { name: live, snapshot: snap });
    expect(summary.volumes.map((v) => v.name)).toEqual(['cache', 'pgdata']);
    expect(summary.volumes.every((v) => v.bytes >= 1024)).toBe(true);
    const tar = join(daemon.stateDir, 'snapshots', snap, 'pgdata.tar');
    expect(statSync(tar).size).toBe(summary.volumes[1]!.bytes);
    expect(statSync(tar).mode & 0o777).toBe(0o600);
    expect((await client.request('snapshot/list', {})).snapshots.find((s) => s.name === snap)?.volumes).toEqual(summary.volumes);
    const ls = await runCli(['snapshot', 'ls', '--sandbox', live], { stateDir: daemon.stateDir });
    expect(ls.stdout).toMatch(new RegExp(`${snap}\\s+${live}\\s+0\\s+cache \\d+(\\.\\d)?KiB, pgdata \\d+(\\.\\d)?KiB`));
    expect((await db.inspect()).State).toMatchObject({ Running: true, Paused: false });

    // The data changes; restoring into the sandbox is refused while its database mounts the volume.
    await sh({ pgdata: volumeName(live, 'pgdata') }, 'echo v2 > /v/pgdata/base/rows');
    const refused = await failure(client.request('sandbox/restore', { snapshot: snap }));
    expect(refused.errorName).toBe('Conflict');
    expect(refused.message).toContain('pgdata (');
    expect(await readData(live)).toContain('v2');
    // Once nothing uses them, the volumes are made afresh from the snapshot.
    await db.remove({ force: true });
    await client.request('sandbox/restore', { snapshot: snap });
    expect(await readData(live)).toBe('v1\nwarm\n0:0 700\n70:70 644');

    // Into a new sandbox, and seeding one (only the data).
    const reborn = sandboxName('reborn');
    await client.request('sandbox/restore', { snapshot: snap, into: reborn });
    expect(await readData(reborn)).toBe('v1\nwarm\n0:0 700\n70:70 644');
    const seeded = sandboxName('seeded');
    const { sandbox } = await client.request('sandbox/create', { name: seeded, fromSnapshot: snap });
    expect(sandbox.services).toEqual([]);
    expect(await readData(seeded)).toBe('v1\nwarm\n0:0 700\n70:70 644');

    await client.request('snapshot/delete', { name: snap });
    expect(existsSync(join(daemon.stateDir, 'snapshots', snap))).toBe(false);
  });

  it('refuses bad seeds: no sandbox is left, nor a half-filled volume', async () => {
    const missing = await failure(client.request('sandbox/create', { name: sandboxName('nosnap'), fromSnapshot: 'no-such-snapshot' }));
    expect(missing.errorName).toBe('SnapshotNotFound');
    expect((await client.request('sandbox/list', {})).sandboxes.map((s) => s.name)).not.toContain(`v${suffix}-nosnap`);

    const live = sandboxName('bad');
    await client.request('sandbox/create', { name: live });
    await makeVolume(live, 'pgdata');
    await makeVolume(live, 'cache');
    await seedData(live, 'v1');
    const snap = snapshotName('bad');
    await client.request('sandbox/snapshot', { name: live, snapshot: snap });

    // A tar the engine cannot extract: the helper fails, the volume and the sandbox go.
    writeFileSync(join(daemon.stateDir, 'snapshots', snap, 'pgdata.tar'), 'this is not a tar archive'.repeat(100));
    const target = sandboxName('badseed');
    const broken = await failure(client.request('sandbox/create', { name: target, fromSnapshot: snap }));
    expect(['DockerError', 'InternalError']).toContain(broken.errorName);
    expect((await client.request('sandbox/list', {})).sandboxes.map((s) => s.name)).not.toContain(target);
    expect(await volumesOf(target)).toEqual([]);

    // A tar file gone from disk: a clear error naming it.
    rmSync(join(daemon.stateDir, 'snapshots', snap, 'pgdata.tar'));
    const gone = await failure(client.request('sandbox/create', { name: target, fromSnapshot: snap }));
    expect(gone.errorName).toBe('FileNotFound');
    expect(gone.message).toContain('pgdata.tar');
    expect(await volumesOf(target)).toEqual([]);
  });

  it('seeds a sandbox from a 50 MB volume in seconds', async () => {
    const big = sandboxName('big');
    await client.request('sandbox/create', { name: big });
    await makeVolume(big, 'pgdata');
    await sh({ pgdata: volumeName(big, 'pgdata') }, 'dd if=/dev/urandom of=/v/pgdata/blob bs=1M count=50 2>/dev/null && md5sum /v/pgdata/blob > /v/pgdata/sum');
    const snap = snapshotName('big');
    let t = Date.now();
    const summary = await client.request('sandbox/snapshot', { name: big, snapshot: snap });
    const snapshotMs = Date.now() - t;
    expect(summary.volumes[0]!.bytes).toBeGreaterThan(50 * 1024 * 1024);

    t = Date.now();
    const seeded = sandboxName('bigseed');
    await client.request('sandbox/create', { name: seeded, fromSnapshot: snap });
    const seedMs = Date.now() - t;
    t = Date.now();
    const cloned = sandboxName('bigclone');
    await client.request('sandbox/clone', { name: big, newName: cloned });
    const cloneMs = Date.now() - t;
    console.log(`50 MB volume: snapshot ${snapshotMs} ms, seed (sandbox/create fromSnapshot) ${seedMs} ms, clone ${cloneMs} ms`);
    for (const s of [seeded, cloned]) {
      await sh({ pgdata: volumeName(s, 'pgdata') }, 'md5sum -c /v/pgdata/sum');
    }
    expect(seedMs).toBeLessThan(10_000);
  });
});
