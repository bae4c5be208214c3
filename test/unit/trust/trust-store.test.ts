/**
 * TrustStore on a real SQLite file and real folders: grants keyed by the real path of the
 * repository root, the build context in one spelling and the exact argument list; listing,
 * revoking, and the check a deployment makes (untrustedCommands).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandText } from '../../../schemas/src/trust';
import { splitCommand } from '../../../daemon/src/project/argv';
import { openStore, type Store } from '../../../daemon/src/state/store';
import { untrustedCommands, untrustedError } from '../../../daemon/src/trust/host-commands';
import { TrustStore } from '../../../daemon/src/trust/trust-store';

let dir: string;
let store: Store;
let trust: TrustStore;
let repo: string;
const at = new Date('2030-01-02T03:04:05.000Z');

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'bb-trust-')));
  store = openStore(join(dir, 'state.db'));
  trust = new TrustStore(store, () => at);
  repo = join(dir, 'repo');
  mkdirSync(join(repo, '.git'), { recursive: true });
  mkdirSync(join(repo, 'services', 'tool'), { recursive: true });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TrustStore', () => {
  it('trusts exactly the granted argument list in the granted context of the repository', () => {
    const granted = trust.grant({ repoPath: repo, context: 'services/tool', command: ['node', 'build.js'] }, 'vscode (ann)');
    expect(granted).toEqual({ id: 1, repoPath: repo, context: 'services/tool', command: ['node', 'build.js'], grantedAt: at.toISOString(), grantedBy: 'vscode (ann)' });
    expect(trust.isTrusted({ repoPath: repo, context: 'services/tool', command: ['node', 'build.js'] })).toBe(true);
    expect(trust.isTrusted({ repoPath: repo, context: 'services/tool', command: ['node', 'build.js', '--evil'] })).toBe(false);
    expect(trust.isTrusted({ repoPath: repo, context: 'services/tool', command: ['node build.js'] })).toBe(false);
    expect(trust.isTrusted({ repoPath: repo, context: '.', command: ['node', 'build.js'] })).toBe(false);
    const other = join(dir, 'other');
    mkdirSync(join(other, '.git'), { recursive: true });
    expect(trust.isTrusted({ repoPath: other, context: 'services/tool', command: ['node', 'build.js'] })).toBe(false);
  });

  it('names the repository by the real path of its root and the context in one spelling', () => {
    symlinkSync(repo, join(dir, 'alias'));
    trust.grant({ repoPath: join(dir, 'alias', 'services'), context: './services/tool/', command: ['make'] });
    expect(trust.list()).toEqual([expect.objectContaining({ repoPath: repo, context: 'services/tool', command: ['make'] })]);
    expect(trust.isTrusted({ repoPath: join(repo, 'services', 'tool'), context: 'services//tool', command: ['make'] })).toBe(true);
    // Granting again answers the same grant.
    expect(trust.grant({ repoPath: repo, context: 'services/tool', command: ['make'] }).id).toBe(trust.list()[0]!.id);
    expect(trust.list()).toHaveLength(1);
  });

  it('lists by repository and revokes one grant or all of a repository, also one that no longer exists', () => {
    const a = trust.grant({ repoPath: repo, context: '.', command: ['make'] });
    const b = trust.grant({ repoPath: repo, context: 'services/tool', command: ['make', 'tool'] });
    const other = join(dir, 'other');
    mkdirSync(join(other, '.git'), { recursive: true });
    const c = trust.grant({ repoPath: other, context: '.', command: ['make'] });
    expect(trust.list(repo).map((g) => g.id)).toEqual([a.id, b.id]);
    expect(trust.revoke({ id: a.id })).toEqual([a]);
    expect(trust.revoke({ id: a.id })).toEqual([]);
    expect(trust.isTrusted({ repoPath: repo, context: '.', command: ['make'] })).toBe(false);
    expect(trust.revoke({ repoPath: repo })).toEqual([b]);
    rmSync(other, { recursive: true });
    expect(trust.isTrusted({ repoPath: other, context: '.', command: ['make'] })).toBe(false);
    expect(trust.revoke({ repoPath: other })).toEqual([c]);
    expect(trust.list()).toEqual([]);
  });

  it('keeps grants across a reopen of the state file', () => {
    trust.grant({ repoPath: repo, context: '.', command: ['make'] });
    store.close();
    store = openStore(join(dir, 'state.db'));
    expect(new TrustStore(store).isTrusted({ repoPath: repo, context: '.', command: ['make'] })).toBe(true);
  });
});

describe('the check of a deployment', () => {
  const project = {
    services: {
      tool: { context: './services/tool', build: { kind: 'command', command: ['node', 'build.js'] } },
      web: { context: 'web', build: { kind: 'dockerfile' } },
      gen: { context: '.', build: { kind: 'command', command: ['go', 'build', '-o', 'bin/my worker', '.'] } },
    },
  };

  it('names the untrusted host commands of the services deployed, and only those', () => {
    expect(untrustedCommands(project, ['web', 'tool', 'missing'], repo, trust)).toEqual([{ service: 'tool', context: 'services/tool', command: ['node', 'build.js'] }]);
    trust.grant({ repoPath: repo, context: 'services/tool', command: ['node', 'build.js'] });
    expect(untrustedCommands(project, ['web', 'tool', 'gen'], repo, trust)).toEqual([{ service: 'gen', context: '.', command: ['go', 'build', '-o', 'bin/my worker', '.'] }]);
    const e = untrustedError(repo, untrustedCommands(project, ['gen'], repo, trust));
    expect(e.errorName).toBe('Untrusted');
    expect(e.code).toBe(1404);
    expect(e.data).toEqual({ repoPath: repo, commands: [{ service: 'gen', context: '.', command: ['go', 'build', '-o', 'bin/my worker', '.'] }] });
    expect(e.message).toContain("service gen runs `go build -o 'bin/my worker' .` in .");
  });

  it('shows a command so that branchbox.yaml splits it back into the same arguments', () => {
    for (const argv of [['node', 'build.js'], ['sh', '-c', "echo 'hi' && rm -rf $HOME"], ['a b', '', "it's"]]) {
      expect(splitCommand(commandText(argv))).toEqual(argv);
    }
  });
});
