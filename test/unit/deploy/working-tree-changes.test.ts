/**
 * The count of a service's working-tree marker, against a real git repository: files of a
 * folder that differ from a commit — tracked ones modified, added or deleted, renames as two,
 * untracked ones git does not ignore — in the working tree and in a snapshot of it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource } from '../../../daemon/src/deploy/git-source';
import { changedInSnapshot, changedInWorkingTree, repoFolder } from '../../../daemon/src/deploy/working-tree-changes';

let root: string;
let work: string;
let commit: string;
const git = (...args: string[]) =>
  execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: root, LC_ALL: 'C' } });
const write = (file: string, text: string) => {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
};
let source: GitSource;

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-wt-')));
  work = mkdtempSync(join(tmpdir(), 'bb-wt-work-'));
  source = new GitSource(work);
  git('init', '--quiet', '--initial-branch=main');
  git('config', 'user.name', 't');
  git('config', 'user.email', 't@example.invalid');
  git('config', 'commit.gpgsign', 'false');
  write('.gitignore', '*.log\n');
  write('web/a.js', 'a');
  write('web/b.js', 'b');
  write('web/c.js', 'c');
  write('api/x.js', 'x');
  git('add', '--all');
  git('commit', '--quiet', '-m', 'init');
  commit = git('rev-parse', 'HEAD').trim();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('files changed against the deployed commit', () => {
  it('is 0 for a clean tree', async () => {
    expect(await changedInWorkingTree(source, root, commit, 'web')).toBe(0);
  });

  it('counts modified, deleted, renamed (as two), staged and untracked files of the folder; not ignored ones, nor other folders', async () => {
    write('web/a.js', 'a changed');
    rmSync(join(root, 'web/b.js'));
    renameSync(join(root, 'web/c.js'), join(root, 'web/c2.js'));
    write('web/new/d.js', 'untracked');
    write('web/e.js', 'staged');
    git('add', 'web/e.js');
    write('web/debug.log', 'ignored');
    write('api/x.js', 'outside the folder');
    // a, b, c (deleted), c2, new/d, e
    expect(await changedInWorkingTree(source, root, commit, 'web')).toBe(6);
    expect(await changedInWorkingTree(source, root, commit, './web/')).toBe(6);
    // The whole repository: api/x.js too.
    expect(await changedInWorkingTree(source, root, commit, '.')).toBe(7);
    expect(await changedInWorkingTree(source, root, commit, '')).toBe(7);
  });

  it('counts the same in a snapshot of the working tree (a deploy with includeUncommitted)', async () => {
    const snapshot = await source.snapshotWorkingTree(root, commit);
    expect(snapshot.changed).toBe(true);
    expect(await changedInSnapshot(source, root, commit, snapshot.tree, 'web')).toBe(6);
    expect(await changedInSnapshot(source, root, commit, snapshot.tree, '.')).toBe(7);
    expect(await changedInSnapshot(source, root, commit, snapshot.tree, 'api')).toBe(1);
  });

  it('takes folder names literally', async () => {
    expect(await changedInWorkingTree(source, root, commit, 'w*')).toBe(0);
    expect(repoFolder('./web/')).toBe('web');
    expect(repoFolder('')).toBe('.');
  });
});
