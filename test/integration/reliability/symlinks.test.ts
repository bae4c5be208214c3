/**
 * A branch may commit symbolic links. None of them may make a deploy write, read or send
 * anything outside the exported source: not the generated Dockerfile or `.dockerignore`
 * (never written into the source any more), not a build context or a Dockerfile that is a
 * link to a host folder or file (refused, naming the link and where it points), and not a
 * link inside the context (sent to the engine as a link, which COPY does not follow out).
 *
 * Links are absolute (to a folder made by the test outside the repository), so they reach
 * the same place from the repository and from the daemon's export of it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLifecycleDaemon } from '../lifecycle/helpers';
import { deployFinal, fingerprint, imageExists, runInImage } from './deploy-steps';

const t = useLifecycleDaemon('bbsym', 'symlinks-test');
let outside: string;
const secret = `outside-secret-${Math.random().toString(36).slice(2)}`;

beforeAll(() => {
  outside = mkdtempSync(join(tmpdir(), 'bb-outside-'));
  for (const v of ['victim-1.txt', 'victim-2.txt']) writeFileSync(join(outside, v), 'a file of the host that no deploy may touch\n');
  writeFileSync(join(outside, 'secret.txt'), `${secret}\n`);
  mkdirSync(join(outside, 'project'));
  writeFileSync(join(outside, 'project', 'Dockerfile'), `FROM branchbox/node:20\nRUN echo ${secret} > /leak\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n`);
  writeFileSync(join(outside, 'project', 'server.js'), "require('http').createServer((q, s) => s.end('outside')).listen(8080);\n");
  writeFileSync(join(outside, 'project', 'secret.txt'), `${secret}\n`);
});
afterAll(() => rmSync(outside, { recursive: true, force: true }));

/** Commits `change` on a new branch off main, then checks main out again. */
function branch(name: string, change: () => void): void {
  t.repo.git('checkout', '--quiet', '-b', name, 'main');
  try {
    change();
    t.repo.commitAll(name);
  } finally {
    t.repo.checkout('main');
  }
}

/** Adds a service to the branch's branchbox.yaml. */
function addService(yaml: string): void {
  const file = join(t.repo.root, 'branchbox.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('services:\n', `services:\n${yaml}`));
}

async function sandbox(tag: string): Promise<string> {
  const name = `s${t.suffix}-${tag}`;
  t.created.add(name);
  await t.client.request('sandbox/create', { name, repoPath: t.repo.root });
  return name;
}

/** Every file of a folder with its bytes and mtime. */
function folderState(dir: string): Record<string, { bytes: string; mtimeMs: number }> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return Object.fromEntries(files.map((e) => [join(e.parentPath, e.name), fingerprint(join(e.parentPath, e.name))]));
}

describe('symbolic links committed in a branch', () => {
  it('a .branchbox.Dockerfile linking to a host file: the file is untouched and the deploy works', async () => {
    const victim = join(outside, 'victim-1.txt');
    branch('link-generated-dockerfile', () => symlinkSync(victim, join(t.repo.root, 'services/account/.branchbox.Dockerfile')));
    const before = fingerprint(victim);
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('gen'), ref: 'link-generated-dockerfile', services: ['account'] });
    expect(fingerprint(victim)).toEqual(before);
    expect(final!.status, final!.diagnosis).toBe('running');
  });

  it('a .dockerignore linking to a host file: the file is untouched and the deploy fails saying why', async () => {
    const victim = join(outside, 'victim-2.txt');
    branch('link-dockerignore', () => symlinkSync(victim, join(t.repo.root, 'services/account/.dockerignore')));
    const before = fingerprint(victim);
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('ign'), ref: 'link-dockerignore', services: ['account'] });
    expect(fingerprint(victim)).toEqual(before);
    expect(final!.status).toBe('failed');
    expect(final!.diagnosis).toBe(`build failed: .dockerignore is a symbolic link to ${victim}, outside the build context "services/account"`);
  });

  it('a build context linking to a host folder: refused before any build, the folder untouched', async () => {
    const folder = join(outside, 'project');
    branch('link-context', () => {
      symlinkSync(folder, join(t.repo.root, 'services/evil'));
      addService('  evil:\n    context: services/evil\n    port: 8080\n');
    });
    const before = folderState(folder);
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('ctx'), ref: 'link-context', services: ['evil'] });
    expect(folderState(folder)).toEqual(before);
    expect(final!.status).toBe('failed');
    expect(final!.diagnosis).toBe(`prepare failed: the build context "services/evil" leads out of the repository: services/evil is a symbolic link to ${folder}`);
    expect(final!.stages.map((s) => s.stage)).toEqual(['prepare']);
  });

  it('a Dockerfile linking to a host file: refused before any build, no image made from it', async () => {
    const file = join(outside, 'project', 'Dockerfile');
    branch('link-dockerfile', () => {
      symlinkSync(file, join(t.repo.root, 'services/account/Dockerfile.outside'));
      addService('  outdf:\n    context: services/account\n    build: { dockerfile: Dockerfile.outside }\n    port: 8080\n');
    });
    const before = fingerprint(file);
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('df'), ref: 'link-dockerfile', services: ['outdf'] });
    expect(fingerprint(file)).toEqual(before);
    expect(final!.status).toBe('failed');
    expect(final!.diagnosis).toBe(`build failed: the Dockerfile "Dockerfile.outside" leads out of the build context "services/account": Dockerfile.outside is a symbolic link to ${file}`);
    expect(await imageExists(`branchbox/shop-outdf:${t.repo.commitOf('link-dockerfile').slice(0, 12)}`)).toBe(false);
    expect(final!.buildReused).toBeUndefined();
  });

  it('a link inside the context to a host file is sent as a link: COPY of the folder does not carry the file, COPY of the link fails', async () => {
    const target = join(outside, 'secret.txt');
    branch('link-inside', () => {
      symlinkSync(target, join(t.repo.root, 'services/account/leak'));
      writeFileSync(join(t.repo.root, 'services/account/Dockerfile.all'), 'FROM branchbox/node:20\nCOPY . /app/\nUSER 1000\nCMD ["node", "/app/server.js"]\n');
      writeFileSync(join(t.repo.root, 'services/account/Dockerfile.copylink'), 'FROM branchbox/node:20\nCOPY leak /app/leak\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n');
      addService(
        '  all:\n    context: services/account\n    build: { dockerfile: Dockerfile.all }\n    port: 8080\n' +
          '  copylink:\n    context: services/account\n    build: { dockerfile: Dockerfile.copylink }\n    port: 8080\n',
      );
    });
    const [all, copylink] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('in'), ref: 'link-inside', services: ['all', 'copylink'] });
    expect(all!.status, all!.diagnosis).toBe('running');
    const inImage = await runInImage(t.run, all!.image!, ['sh', '-c', 'ls -l /app/leak; cat /app/leak || echo unreadable']);
    expect(inImage.output).toContain(`/app/leak -> ${target}`);
    expect(inImage.output).toContain('unreadable');
    expect(inImage.output).not.toContain(secret);
    // The engine resolves a COPY source inside the context: the link's target is not there.
    expect(copylink!.status).toBe('failed');
    expect(copylink!.diagnosis).toMatch(/^build failed: COPY failed: .*leak/);
    expect(copylink!.diagnosis).not.toContain(secret);
  });
});
