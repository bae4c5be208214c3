/** What `branchbox sandbox get` shows a service runs: branch@commit, and the working-tree changes on top. */
import { describe, expect, it } from 'vitest';
import { servedSource } from '../../../daemon/src/cli/commands/sandbox';

describe('the BRANCH column of a sandbox', () => {
  const commit = 'abc1234def5678abc1234def5678abc1234def56';
  const workingTree = (changedFiles: number) => ({ changedFiles, since: '2026-01-01T10:00:00Z', updatedAt: '2026-01-01T10:05:00Z' });
  it('shows branch@commit, or the commit alone', () => {
    expect(servedSource({ branch: 'feature/x', commit })).toBe('feature/x@abc1234');
    expect(servedSource({ commit })).toBe('abc1234');
    expect(servedSource({})).toBe('');
  });
  it('adds the changed files of the working tree it runs', () => {
    expect(servedSource({ branch: 'feature/x', commit, workingTree: workingTree(3) })).toBe('feature/x@abc1234 + 3 changed files');
    expect(servedSource({ branch: 'main', commit, workingTree: workingTree(1) })).toBe('main@abc1234 + 1 changed file');
  });
});
