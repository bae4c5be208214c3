/**
 * scripts/test-leftovers.sh, the end-of-run check of scripts/test.sh: it reports and removes
 * the objects its own run left behind, and never touches another run's on a shared engine.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUSYBOX, TEST_LABEL, docker } from '../helpers/docker-fixtures';

const SCRIPT = resolve(__dirname, '../../scripts/test-leftovers.sh');
const suite = () => randomBytes(3).toString('hex');
const runOf = (s: string) => `bbtest-${s}${randomBytes(4).toString('hex')}`;

describe('scripts/test-leftovers.sh', () => {
  const mine = suite();
  const other = suite();
  const created: { containers: string[]; networks: string[]; images: string[] } = { containers: [], networks: [], images: [] };

  afterAll(async () => {
    await Promise.all(created.containers.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
    await Promise.all(created.networks.map((id) => docker.getNetwork(id).remove().catch(() => undefined)));
    for (const id of created.images) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
  });

  it("removes and reports its own run's objects, leaving another run's alone", async () => {
    const make = async (s: string) => {
      const Labels = { [TEST_LABEL]: runOf(s) };
      const c = await docker.createContainer({ Image: BUSYBOX, Cmd: ['true'], Labels });
      const n = await docker.createNetwork({ Name: `leftover-${runOf(s)}`, Labels });
      created.containers.push(c.id);
      created.networks.push(n.id);
      // A tagged image and an untagged one (as a build's intermediate is), both labelled.
      const commit = async (tagged: boolean) => {
        const opts = { changes: [`LABEL ${TEST_LABEL}=${Labels[TEST_LABEL]}`], ...(tagged ? { repo: `bbtest-leftover-${s}`, tag: 'x' } : {}) };
        const { Id } = (await docker.getContainer(c.id).commit(opts)) as { Id: string };
        created.images.push(Id);
        return Id;
      };
      return { container: c.id, network: n.id, images: [await commit(true), await commit(false)] };
    };
    const own = await make(mine);
    const foreign = await make(other);

    const run = spawnSync('bash', [SCRIPT, mine], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(own.container.slice(0, 12));
    expect(run.stderr).not.toContain(foreign.container.slice(0, 12));

    const exists = (p: Promise<unknown>) => p.then(() => true, () => false);
    expect(await exists(docker.getContainer(own.container).inspect())).toBe(false);
    expect(await exists(docker.getNetwork(own.network).inspect())).toBe(false);
    expect(await exists(docker.getContainer(foreign.container).inspect())).toBe(true);
    expect(await exists(docker.getNetwork(foreign.network).inspect())).toBe(true);
    for (const id of own.images) {
      expect(run.stderr).toContain(id);
      expect(await exists(docker.getImage(id).inspect())).toBe(false);
    }
    for (const id of foreign.images) expect(await exists(docker.getImage(id).inspect())).toBe(true);

    const clean = spawnSync('bash', [SCRIPT, mine], { encoding: 'utf8' });
    expect(clean.status).toBe(0);
  });
});
