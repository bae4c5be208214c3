/**
 * Every image a build makes — each step's intermediate image, the dangling ones a cancelled
 * build leaves, the tagged one — carries this daemon's labels (`branchbox.managed`,
 * `branchbox.instance`, the extra labels, `branchbox.base=false`), so the reconciler can tell
 * them apart from everyone else's and reap them; a multi-stage Dockerfile included.
 *
 * The builds start FROM a base image made for this test (labelled `branchbox.base=true`, as
 * the offline base images are): every image descending from it on the shared engine is one
 * this test's builds made. They are removed by ancestry at the end, labelled or not. A
 * `build.target` builds the stage it names.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, TEST_LABEL } from '../../helpers/docker-fixtures';
import { useLifecycleDaemon } from '../lifecycle/helpers';
import { deployFinal } from '../reliability/deploy-steps';

const t = useLifecycleDaemon('bblbl', 'build-labels-test');
const nonce = randomBytes(6).toString('hex');
const base = `bbtest/labels-base-${nonce}:1`;
let baseId: string;
let instance: string;

/** Builds `base` from busybox with the base labels (and this run's test label, so a leftover is found). */
async function buildBase(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bb-base-'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM branchbox/busybox:1\nLABEL branchbox.base=true ${TEST_LABEL}=${t.run.runId} nonce=${nonce}\n`);
  const context = pack(dir);
  const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: base, rm: true, forcerm: true });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (e, out) => (e ? reject(e) : resolve(out))));
  rmSync(dir, { recursive: true, force: true });
  return (await docker.getImage(base).inspect()).Id;
}

/** Every image on the engine descending from the test's base image (intermediate ones included). */
async function descendants(): Promise<{ id: string; labels: Record<string, string>; tags: string[] }[]> {
  const all = await docker.listImages({ all: true });
  const parent = new Map(all.map((i) => [i.Id, i.ParentId]));
  const fromBase = (id: string): boolean => {
    for (let p = parent.get(id); p; p = parent.get(p)) if (p === baseId) return true;
    return false;
  };
  return all.filter((i) => fromBase(i.Id)).map((i) => ({ id: i.Id, labels: i.Labels ?? {}, tags: (i.RepoTags ?? []).filter((r) => r !== '<none>:<none>') }));
}

/** Removes the images descending from the base (children first), then the base. */
async function removeBuilt(): Promise<void> {
  for (let left = await descendants(); left.length; left = await descendants()) {
    const parents = new Set((await docker.listImages({ all: true })).map((i) => i.ParentId));
    const leaves = left.filter((i) => !parents.has(i.id));
    if (!leaves.length) break;
    await Promise.all(leaves.map((i) => docker.getImage(i.id).remove({ force: true }).catch(() => undefined)));
  }
}

beforeAll(async () => {
  baseId = await buildBase();
  instance = (await t.client.request('system/info')).instance;
});
afterAll(async () => {
  await removeBuilt();
  await docker.getImage(base).remove({ force: true }).catch(() => undefined);
});

function branch(name: string, dockerfile: string, build = ''): void {
  t.repo.git('checkout', '--quiet', '-b', name, 'main');
  try {
    t.repo.write('services/labelled/Dockerfile', dockerfile);
    const file = join(t.repo.root, 'branchbox.yaml');
    const service = `  labelled:\n    context: services/labelled\n    port: 8080\n${build ? `    build: ${build}\n` : ''}`;
    writeFileSync(file, readFileSync(file, 'utf8').replace('services:\n', `services:\n${service}`));
    t.repo.commitAll(name);
  } finally {
    t.repo.checkout('main');
  }
}

async function sandbox(tag: string): Promise<string> {
  const name = `b${t.suffix}-${tag}`;
  t.created.add(name);
  await t.client.request('sandbox/create', { name, repoPath: t.repo.root });
  return name;
}

const ours = () => ({ 'branchbox.managed': 'true', 'branchbox.instance': instance, 'branchbox.base': 'false', [TEST_LABEL]: t.run.runId });

describe('labels of built images', () => {
  it('a multi-stage build: every intermediate image of every stage and the tagged image carry the instance labels', async () => {
    branch(
      'multi-stage',
      [
        `# escape=\\`,
        `ARG BASE=${base}`,
        'FROM ${BASE} AS first',
        'RUN echo one > /one \\',
        '  # a comment inside the instruction',
        '  && echo two >> /one',
        'from \\',
        '  ${BASE}',
        'COPY --from=first /one /www/one',
        'RUN echo ok > /www/healthz',
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
        '',
      ].join('\n'),
    );
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('ms'), ref: 'multi-stage', services: ['labelled'] });
    expect(final!.status, final!.diagnosis).toBe('running');
    const built = await descendants();
    // Two stages of two steps each, at least: all of them ours.
    expect(built.length).toBeGreaterThanOrEqual(4);
    for (const image of built) expect(image.labels, image.id).toMatchObject(ours());
    const tagged = built.find((i) => i.tags.includes(final!.image!));
    expect(tagged?.labels).toMatchObject({ 'branchbox.commit': t.repo.commitOf('multi-stage'), 'branchbox.service': 'labelled' });
    const listed = await docker.listImages({ all: true, filters: JSON.stringify({ label: [`branchbox.instance=${instance}`, `${TEST_LABEL}=${t.run.runId}`] }) });
    expect(new Set(listed.map((i) => i.Id))).toEqual(expect.objectContaining(new Set(built.map((i) => i.id))));
    for (const image of built) expect(listed.map((i) => i.Id)).toContain(image.id);
  });

  it("the tagged image's own labels cost one build step, not one per label", async () => {
    // Three instructions of the user's: the builder runs them, the LABEL after the FROM and one closing LABEL.
    branch('one-step', [`FROM ${base}`, `RUN mkdir -p /www && echo ${nonce} > /www/healthz`, 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]', ''].join('\n'));
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('one'), ref: 'one-step', services: ['labelled'] });
    expect(final!.status, final!.diagnosis).toBe('running');
    const { lines } = await t.client.request('deploy/logs', { id: final!.id, limit: 10_000 });
    const steps = lines.filter((l) => l.source === 'build').map((l) => /^Step \d+\/(\d+) :/.exec(l.line)?.[1]).filter(Boolean);
    expect(new Set(steps)).toEqual(new Set(['5']));
    const tagged = (await descendants()).find((i) => i.tags.includes(final!.image!));
    expect(tagged?.labels).toMatchObject({ ...ours(), 'branchbox.commit': t.repo.commitOf('one-step'), 'branchbox.project': 'shop', 'branchbox.service': 'labelled' });
  });

  it('build.target builds that stage of a multi-stage Dockerfile, not the last', async () => {
    // The last stage cannot be built: a deployment of it would fail.
    branch(
      'targeted',
      [
        `FROM ${base} AS served`,
        `RUN mkdir -p /www && echo served > /www/healthz`,
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
        `FROM ${base} AS broken`,
        'RUN exit 3',
        '',
      ].join('\n'),
      '{ target: served }',
    );
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('tg'), ref: 'targeted', services: ['labelled'] });
    expect(final!.status, final!.diagnosis).toBe('running');
    const tagged = (await descendants()).find((i) => i.tags.includes(final!.image!));
    expect(tagged?.labels).toMatchObject({ ...ours(), 'branchbox.commit': t.repo.commitOf('targeted') });
  });

  it('a build cancelled during a slow step leaves only images that carry the instance labels', async () => {
    branch('slow-stage', [`FROM ${base}`, `RUN echo ${nonce} > /first-step`, `RUN echo "slow ${nonce}" && sleep 120`, 'CMD ["httpd", "-f", "-p", "8080"]', ''].join('\n'));
    const before = new Set((await descendants()).map((i) => i.id));
    const { deployments } = await t.client.request('deploy/start', { repoPath: t.repo.root, sandbox: await sandbox('slow'), ref: 'slow-stage', services: ['labelled'] });
    const id = deployments[0]!.id;
    await new Promise<void>((resolve, reject) => {
      void t.client
        .subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', {
          onItems: (items) => {
            if (items.some((i) => i.kind === 'log' && i.source === 'build' && i.line === `slow ${nonce}`)) resolve();
          },
          onEnd: () => reject(new Error('the deployment ended before its slow step ran')),
        })
        .catch(reject);
    });
    expect(await t.client.request('deploy/cancel', { id })).toEqual({ status: 'cancelled' });
    const left = (await descendants()).filter((i) => !before.has(i.id));
    // The image of the first RUN (and of the LABEL step) stays behind, dangling: labelled.
    expect(left.length).toBeGreaterThanOrEqual(1);
    for (const image of left) {
      expect(image.tags).toEqual([]);
      expect(image.labels, image.id).toMatchObject(ours());
    }
  });
});
