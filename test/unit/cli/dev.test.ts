/** `branchbox dev`: each watch/event sync item as the one line the command prints. */
import { describe, expect, it } from 'vitest';
import { syncLine } from '../../../daemon/src/cli/commands/dev';
import { Output } from '../../../daemon/src/cli/output';

const style = new Output('text', { write: () => undefined }, false).style;
const base = { kind: 'sync' as const, sandbox: 'qa', t: '2026-12-06T12:03:04.120Z', service: 'web' };

describe('branchbox dev lines', () => {
  it('says the service, the action, how many files (the first three, deletions marked) and how long', () => {
    const files = ['src/a.js', 'src/b.js', 'src/c.js', 'src/d.js'].map((path) => ({ path, change: 'changed' as const }));
    files[1] = { path: 'src/b.js', change: 'deleted' as never };
    expect(syncLine({ ...base, action: 'sync+restart', files, fileCount: 4, durationMs: 412, outcome: 'ok' }, style)).toBe(
      '12:03:04 web sync+restart 4 files (src/a.js, -src/b.js, src/c.js, …) 412ms ok',
    );
  });

  it('marks the initial sync and quotes a failure on one line', () => {
    expect(
      syncLine({ ...base, action: 'sync', initial: true, files: [{ path: 'x', change: 'changed' }], fileCount: 1, durationMs: 9, outcome: 'failed', error: 'the container\nis gone' }, style),
    ).toBe('12:03:04 web initial sync 1 file (x) 9ms failed: the container is gone');
  });
});
