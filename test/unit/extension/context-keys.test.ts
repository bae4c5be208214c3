/**
 * The context keys the palette, the welcome content and the walkthrough read
 * (extension/src/context-keys.ts).
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => ({}));

const { paletteKeys, projectKeys } = await import('../../../extension/src/context-keys');

describe('paletteKeys', () => {
  it('says which sandboxes and containers there are, as the palette entries need', () => {
    expect(paletteKeys(false, [], [])).toEqual({
      'branchbox.connected': false,
      'branchbox.hasSandbox': false,
      'branchbox.hasActiveSandbox': false,
      'branchbox.hasSuspendedSandbox': false,
      'branchbox.hasContainer': false,
      'branchbox.hasRunningContainer': false,
      'branchbox.hasStoppedContainer': false,
      'branchbox.hasWatch': false,
    });
    const keys = paletteKeys(true, [{ state: 'active' }, { state: 'deleting' }], [{ state: 'exited' }, { state: 'removing' }]);
    expect(keys).toMatchObject({
      'branchbox.connected': true,
      'branchbox.hasSandbox': true,
      'branchbox.hasActiveSandbox': true,
      'branchbox.hasSuspendedSandbox': false,
      'branchbox.hasContainer': true,
      'branchbox.hasRunningContainer': false,
      'branchbox.hasStoppedContainer': true,
    });
    expect(paletteKeys(true, [{ state: 'expired' }], [{ state: 'paused' }])).toMatchObject({
      'branchbox.hasActiveSandbox': false,
      'branchbox.hasSuspendedSandbox': true,
      'branchbox.hasRunningContainer': true,
      'branchbox.hasStoppedContainer': false,
    });
    // Stop Watching is offered while some sandbox is watched.
    expect(paletteKeys(true, [{ state: 'active' }], [], true)['branchbox.hasWatch']).toBe(true);
    // A sandbox being deleted is no sandbox to act on.
    expect(paletteKeys(true, [{ state: 'deleting' }], [])['branchbox.hasSandbox']).toBe(false);
  });
});

describe('projectKeys', () => {
  it('a compose file is a config to deploy, only branchbox.yaml/.yml is a branchbox.yaml', () => {
    expect(projectKeys([])).toEqual({ 'branchbox.hasBranchboxYaml': false, 'branchbox.hasConfig': false });
    expect(projectKeys(['docker-compose.yml'])).toEqual({ 'branchbox.hasBranchboxYaml': false, 'branchbox.hasConfig': true });
    expect(projectKeys(['branchbox.yml'])).toEqual({ 'branchbox.hasBranchboxYaml': true, 'branchbox.hasConfig': true });
    expect(projectKeys(['package.json', 'Dockerfile'])).toEqual({ 'branchbox.hasBranchboxYaml': false, 'branchbox.hasConfig': false });
  });
});
