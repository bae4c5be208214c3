/**
 * The daemon's instance id (`branchbox.instance`): one per state directory, the same for a
 * directory wiped and made again and for a path reaching it through a symlink.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instanceId } from '../../../daemon/src/docker/labels';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'bb-instance-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('instanceId', () => {
  it('is 12 hex digits, stable for a state directory, distinct between directories', () => {
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    const a = instanceId(join(root, 'a'));
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(instanceId(join(root, 'a'))).toBe(a);
    expect(instanceId(join(root, 'b'))).not.toBe(a);
  });

  it('survives the directory being wiped and made again; follows symlinks to the real path', () => {
    const dir = join(root, 'state');
    mkdirSync(dir);
    const before = instanceId(dir);
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    expect(instanceId(dir)).toBe(before);
    symlinkSync(dir, join(root, 'link'));
    expect(instanceId(join(root, 'link'))).toBe(before);
    expect(instanceId(join(root, 'link', '..', 'state'))).toBe(before);
  });
});
