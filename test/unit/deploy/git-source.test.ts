/**
 * The deploy source from git: branch-name rules, resolving refs, snapshotting the working tree
 * without touching the user's index or files, and exporting a commit — on a real repository.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource, checkBranchName, findRepoRoot } from '../../../daemon/src/deploy/git-source';
import { RpcError } from '../../../daemon/src/rpc/errors';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';

let repo: FixtureRepo;
let work: string;
let git: GitSource;

beforeAll(() => {
  repo = createFixtureRepo();
  work = mkdtempSync(join(tmpdir(), 'bb-git-work-'));
  git = new GitSource(work);
});
afterAll(() => {
  repo.dispose();
  rmSync(work, { recursive: true, force: true });
});

const errorOf = (fn: () => unknown): RpcError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error('expected a throw');
};

describe('branch names', () => {
  it.each(['main', 'feature/x', 'release-1.2', 'user/name/topic', 'a$b', 'fix(ui)'])('accepts %s', (ref) => {
    expect(() => checkBranchName(ref)).not.toThrow();
  });

  it.each([
    ['-rf', 'starts with "-"'],
    ['--upload-pack=touch /tmp/x', 'starts with "-"'],
    ['feature/$(touch /tmp/pwned)', 'space'],
    ['; rm -rf /', 'space'],
    ['a..b', '".."'],
    ['a b', 'space'],
    ['x~1', '"~"'],
    ['x^', '"^"'],
    ['x:y', '":"'],
    ['x\ny', 'control'],
    ['x/', 'empty path component'],
    ['.hidden', 'starts with "."'],
    ['x.lock', '".lock"'],
    ['x@{1}', '"@{"'],
    ['', 'empty'],
    ['HEAD', 'not a branch'],
  ])('rejects %j (%s)', (ref, why) => {
    const e = errorOf(() => checkBranchName(ref));
    expect(e.errorName).toBe('InvalidName');
    expect(e.message).toContain(why);
  });
});

describe('resolving', () => {
  it('resolves a branch, the current branch and a commit to full commit ids', async () => {
    const feature = repo.commitOf('feature/x');
    expect(await git.resolve(repo.root, { ref: 'feature/x' })).toEqual({ ref: 'feature/x', commit: feature });
    expect(await git.resolve(repo.root, {})).toEqual({ ref: 'main', commit: repo.commitOf('main') });
    expect(await git.resolve(repo.root, { commit: feature.slice(0, 10) })).toEqual({ ref: null, commit: feature });
  });

  it('answers GitError for a branch that does not exist', async () => {
    await expect(git.resolve(repo.root, { ref: 'no/such-branch' })).rejects.toMatchObject({ errorName: 'GitError', message: expect.stringContaining('no/such-branch') });
  });

  it('treats refs with shell metacharacters as plain names: nothing is executed', async () => {
    const marker = join(work, 'pwned');
    for (const ref of [`x$(touch${'\t'}${marker})`, `x\`touch ${marker}\``, `x;touch${marker}`, `x|touch${marker}`, `x&&touch${marker}`]) {
      await expect(git.resolve(repo.root, { ref })).rejects.toBeInstanceOf(RpcError);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('feeds input to git: one cat-file lookup answers a branch\'s files, and names nothing else', async () => {
    const out = await git.run(repo.root, ['cat-file', '--batch-check'], { input: 'feature/x^{commit}:branchbox.yaml\nfeature/x^{commit}:branchbox.yml\n' });
    const [found, missing] = out.trim().split('\n');
    expect(found).toMatch(/^[0-9a-f]{40} blob \d+$/);
    expect(missing).toBe('feature/x^{commit}:branchbox.yml missing');
    expect(await git.run(repo.root, ['cat-file', 'blob', found!.split(' ')[0]!])).toBe(readFileSync(join(repo.root, 'branchbox.yaml'), 'utf8'));
  });

  it('finds the repository root from a folder inside it, and refuses folders outside any repository', () => {
    expect(findRepoRoot(join(repo.root, 'services', 'account'))).toBe(repo.root);
    expect(errorOf(() => findRepoRoot('/')).errorName).toBe('GitError');
    expect(errorOf(() => findRepoRoot('relative/path')).errorName).toBe('FileNotFound');
  });
});

describe('exporting', () => {
  it('exports a commit of another branch without touching the working tree', async () => {
    const dest = join(work, 'export-feature');
    const before = repo.git('status', '--porcelain');
    await git.export(repo.root, repo.commitOf('feature/x'), dest);
    expect(readFileSync(join(dest, 'services/account/server.js'), 'utf8')).toContain('"feature/x"');
    expect(readFileSync(join(repo.root, 'services/account/server.js'), 'utf8')).toContain('"main"');
    expect(readdirSync(dest).sort()).toEqual(['.gitignore', 'README.md', 'branchbox.yaml', 'services']);
    expect(repo.git('status', '--porcelain')).toBe(before);
  });

  it('snapshots uncommitted and untracked changes without changing the index, the files or HEAD', async () => {
    repo.write('services/account/server.js', readFileSync(join(repo.root, 'services/account/server.js'), 'utf8').replace('"main"', '"main+wip"'));
    repo.write('services/account/NEW.txt', 'untracked file\n');
    repo.write('debug.log', 'ignored\n');
    repo.git('add', 'README.md'); // an (unchanged) staged path, to see the index stays byte-identical
    const indexFile = join(repo.root, '.git', 'index');
    const status = repo.git('status', '--porcelain');
    const indexHash = createHash('sha256').update(readFileSync(indexFile)).digest('hex');
    const head = repo.commitOf('HEAD');
    try {
      const snap = await git.snapshotWorkingTree(repo.root, head);
      expect(snap.changed).toBe(true);
      const dest = join(work, 'export-wip');
      await git.export(repo.root, snap.tree, dest);
      expect(readFileSync(join(dest, 'services/account/server.js'), 'utf8')).toContain('"main+wip"');
      expect(readFileSync(join(dest, 'services/account/NEW.txt'), 'utf8')).toBe('untracked file\n');
      expect(existsSync(join(dest, 'debug.log'))).toBe(false);

      expect(repo.git('status', '--porcelain')).toBe(status);
      expect(createHash('sha256').update(readFileSync(indexFile)).digest('hex')).toBe(indexHash);
      expect(repo.commitOf('HEAD')).toBe(head);
      expect(repo.git('stash', 'list')).toBe('');
      expect(readdirSync(work).filter((f) => f.startsWith('index-'))).toEqual([]);
    } finally {
      repo.git('checkout', '--', 'services/account/server.js');
      rmSync(join(repo.root, 'services/account/NEW.txt'));
      rmSync(join(repo.root, 'debug.log'));
    }
  });

  it('reports a clean working tree as unchanged', async () => {
    const snap = await git.snapshotWorkingTree(repo.root, repo.commitOf('HEAD'));
    expect(snap.changed).toBe(false);
  });
});
