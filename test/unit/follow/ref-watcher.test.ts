/**
 * The ref watcher on a real git repository with the real native watcher: a commit, a commit in
 * a linked worktree (whose branches live in the common git directory), a checkout, and refs
 * packed into `packed-refs` each report a move; a stopped watcher reports nothing more.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitSource } from '../../../daemon/src/deploy/git-source';
import { RefWatcher } from '../../../daemon/src/follow/ref-watcher';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function repository() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-refs-')));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: root, LC_ALL: 'C' } });
  git(root, 'init', '--quiet', '--initial-branch=main');
  git(root, 'config', 'user.name', 'Fixture');
  git(root, 'config', 'user.email', 'fixture@branchbox.invalid');
  git(root, 'config', 'commit.gpgsign', 'false');
  let n = 0;
  const commit = (cwd: string) => {
    writeFileSync(join(cwd, 'file.txt'), `change ${++n}\n`);
    git(cwd, 'add', '--all');
    git(cwd, 'commit', '--quiet', '--no-verify', '-m', `change ${n}`);
  };
  commit(root);
  return { root, git, commit };
}

/** A watcher of `root` and a wait for its next move. */
async function watch(root: string) {
  let moves = 0;
  let wake: (() => void) | undefined;
  const refs = await RefWatcher.start(root, new GitSource(tmpdir()), {
    quietMs: 50,
    onMove: () => {
      moves++;
      wake?.();
    },
    onError: (e) => {
      throw e;
    },
  });
  cleanups.push(() => refs.stop());
  /** Resolves at the first move after `count` moves. */
  const moved = async (count: number) => {
    while (moves <= count) await new Promise<void>((r) => (wake = r));
  };
  return { refs, moved, moves: () => moves };
}

describe('RefWatcher', () => {
  it('reports a commit, a checkout and refs packed into packed-refs', async () => {
    const { root, git, commit } = repository();
    const w = await watch(root);
    commit(root);
    await w.moved(0);
    git(root, 'checkout', '--quiet', '-b', 'feature/x');
    await w.moved(w.moves());
    git(root, 'pack-refs', '--all');
    await w.moved(w.moves());
    expect(w.moves()).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('watches the common git directory of a linked worktree, where its branch moves', async () => {
    const { root, git, commit } = repository();
    const tree = join(root, '..', `${root.split('/').pop()}-wt`);
    git(root, 'worktree', 'add', '--quiet', '-b', 'topic', tree);
    cleanups.push(() => rmSync(tree, { recursive: true, force: true }));
    const w = await watch(tree);
    commit(tree);
    await w.moved(0);
    expect(git(root, 'rev-parse', 'topic').trim()).toBe(git(tree, 'rev-parse', 'HEAD').trim());
  }, 30_000);

  it('reports nothing once stopped', async () => {
    const { root, commit } = repository();
    const w = await watch(root);
    await w.refs.stop();
    commit(root);
    // A second watcher sees the same commit: by then the stopped one would have too.
    const witness = await watch(root);
    commit(root);
    await witness.moved(0);
    expect(w.moves()).toBe(0);
  }, 30_000);
});
