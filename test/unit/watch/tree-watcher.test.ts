/**
 * The tree watcher on a real folder with the real native watcher: changes batched over the
 * quiet period, each path's last change winning, `.git/` never reported, a burst of writes
 * coalesced, and batches handed over one at a time.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileChange } from '../../../daemon/src/watch/rule-match';
import { TreeWatcher, writtenBesides } from '../../../daemon/src/watch/tree-watcher';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A watched temporary folder; `folders` exist before the watch starts (files written into a folder made later arrive as that folder: the session expands it). */
async function watched(opts: { quietMs?: number; hold?: () => Promise<void>; folders?: string[] } = {}) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-tree-')));
  for (const f of opts.folders ?? []) mkdirSync(join(root, f), { recursive: true });
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const batches: FileChange[][] = [];
  const waiters = new Set<() => void>();
  const tree = await TreeWatcher.start(root, {
    quietMs: opts.quietMs ?? 100,
    onBatch: async (changes) => {
      batches.push(changes);
      for (const w of waiters) w();
      await opts.hold?.();
    },
    onError: (e) => {
      throw e;
    },
  });
  cleanups.push(() => tree.stop());
  /** Resolves once the batches hold every path of `paths`. */
  const seen = async (paths: string[]) => {
    while (!paths.every((p) => batches.some((b) => b.some((c) => c.path === p)))) {
      await new Promise<void>((resolve) => {
        const w = () => (waiters.delete(w), resolve());
        waiters.add(w);
      });
    }
  };
  const write = (p: string, text = p) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  return { root, batches, seen, write, tree };
}

// A native watcher starting, and its batches' quiet periods, under a loaded unit run (CI met 5 s).
describe('TreeWatcher', { timeout: 30_000 }, () => {
  it('reports changes relative to the root, the last change of a path winning, never .git/', async () => {
    const t = await watched({ folders: ['.git', 'src'] });
    t.write('.git/index');
    t.write('src/a.js');
    t.write('gone.txt');
    unlinkSync(join(t.root, 'gone.txt'));
    t.write('marker');
    await t.seen(['src/a.js', 'marker']);
    const all = t.batches.flat();
    expect(all.find((c) => c.path === 'src/a.js')).toEqual({ path: 'src/a.js', change: 'changed' });
    expect(all.filter((c) => c.path.startsWith('.git'))).toEqual([]);
    const gone = all.filter((c) => c.path === 'gone.txt');
    // Created and removed within one quiet period: reported once, as deleted (or not at all).
    expect(gone.length <= 1 && gone.every((c) => c.change === 'deleted')).toBe(true);
  });

  it('coalesces a burst of 1 000 writes into a few batches', async () => {
    const t = await watched({ quietMs: 200, folders: ['burst'] });
    const paths = Array.from({ length: 1000 }, (_, i) => `burst/f${i}.txt`);
    for (const p of paths) t.write(p);
    await t.seen(paths);
    expect(t.batches.length).toBeLessThanOrEqual(3);
    expect(new Set(t.batches.flat().map((c) => c.path)).size).toBe(1000);
  });

  it('reports a folder made with its files as the folder', async () => {
    const t = await watched();
    t.write('made/later/x.txt');
    await t.seen(['made']);
    expect(t.batches.flat().find((c) => c.path === 'made')).toEqual({ path: 'made', change: 'changed' });
  });

  it('hands batches over one at a time: changes during one wait for the next', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = true;
    const t = await watched({ hold: () => (holding ? held : Promise.resolve()) });
    t.write('first');
    await t.seen(['first']);
    t.write('second');
    t.write('third');
    // Nothing more is handed over while the first batch is held: release it, then both arrive together.
    expect(t.batches).toHaveLength(1);
    holding = false;
    release();
    await t.seen(['second', 'third']);
    expect(t.batches).toHaveLength(2);
    expect(t.batches[1]!.map((c) => c.path).sort()).toEqual(['second', 'third']);
  });
});

describe('writtenBesides (what the native watcher may have lost)', () => {
  it('adds the files written around the batch in the folders it touched, not older ones, not those handed over, not folders or .git', () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-besides-')));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'burst/sub'), { recursive: true });
    mkdirSync(join(root, '.git'));
    const old = new Date(Date.now() - 60_000);
    for (const f of ['burst/old.txt', 'other.txt']) {
      writeFileSync(join(root, f), 'x');
      utimesSync(join(root, f), old, old);
    }
    for (const f of ['burst/seen.txt', 'burst/lost1.txt', 'burst/lost2.txt', 'burst/synced.txt', 'burst/sub/inner.txt', '.git/index', 'top.txt']) writeFileSync(join(root, f), 'x');
    const handed = new Map([['burst/synced.txt', statSync(join(root, 'burst/synced.txt')).mtimeMs]]);
    const batch = new Map([['burst/seen.txt', 'changed' as const], ['gone/removed.txt', 'deleted' as const]]);
    expect(writtenBesides(root, batch, handed).sort()).toEqual(['burst/lost1.txt', 'burst/lost2.txt']);
    // Written again after it was handed over: it joins.
    const later = new Date(Date.now() + 500);
    utimesSync(join(root, 'burst/synced.txt'), later, later);
    expect(writtenBesides(root, batch, handed)).toContain('burst/synced.txt');
    // A change at the root reads the root: its new files, never .git; old files alone read nothing new.
    writeFileSync(join(root, 'other.txt'), 'y');
    expect(writtenBesides(root, new Map([['other.txt', 'changed' as const]]), handed).sort()).toEqual(['top.txt']);
    expect(writtenBesides(root, new Map([['gone.txt', 'deleted' as const]]), handed)).toEqual([]);
  });
});
