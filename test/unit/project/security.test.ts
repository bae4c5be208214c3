/**
 * A service's `security:` in branchbox.yaml: normalized (capabilities as Docker names them),
 * every mistake reported at its line and column; and the container confinement the deploy
 * makes of it (deploy/hardening.ts): defaults, overrides, the root warning.
 */
import { describe, expect, it } from 'vitest';
import { containerSecurity, isRoot, rootWarning } from '../../../daemon/src/deploy/hardening';
import { parseProject } from '../../../daemon/src/project/load';
import { RpcError } from '../../../daemon/src/rpc/errors';

const FILE = '/repo/branchbox.yaml';
const yaml = (security: string) => `version: 1\nproject: shop\nservices:\n  web:\n    port: 8080\n    security: ${security}\n`;

function problems(text: string): string[] {
  try {
    parseProject(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    const errors = (e as RpcError).data!.errors as { line: number; column: number; field: string; message: string }[];
    return errors.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`);
  }
  throw new Error('expected ConfigInvalid');
}

describe('security: in branchbox.yaml', () => {
  it('is normalized: capability names upper case without CAP_, once each; only what is written', () => {
    const project = parseProject(yaml('{ capAdd: [cap_chown, NET_RAW, CHOWN], pidsLimit: 64, noNewPrivileges: false, user: "1000:1000", privileged: false }'), FILE);
    expect(project.services.web!.security).toEqual({ capAdd: ['CHOWN', 'NET_RAW'], pidsLimit: 64, noNewPrivileges: false, user: '1000:1000' });
    expect(parseProject(yaml('{ user: app }'), FILE).services.web!.security).toEqual({ user: 'app' });
    expect(parseProject('version: 1\nproject: shop\nservices:\n  web: { port: 80 }\n', FILE).services.web!.security).toBeUndefined();
  });

  it('reports each mistake at its line and column', () => {
    expect(problems(yaml('{ capAdd: [CHOWN, FLY, ALL] }'))).toEqual([
      '6:33 services.web.security.capAdd.1: "FLY" is not a Linux capability (e.g. CHOWN, SETUID, NET_BIND_SERVICE)',
      '6:38 services.web.security.capAdd.2: ALL would give back every capability: list the ones the service needs',
    ]);
    expect(problems(yaml('{ privileged: true }'))).toEqual([
      '6:29 services.web.security.privileged: must be false: Branchbox never runs privileged containers (give the service the capabilities it needs in capAdd)',
    ]);
    expect(problems(yaml('{ pidsLimit: 5 }'))).toEqual(['6:28 services.web.security.pidsLimit: must be >= 16']);
    expect(problems(yaml('{ user: "a b" }'))).toEqual(['6:23 services.web.security.user: must be a user name or id, optionally with :group']);
    expect(problems(yaml('{ seccomp: unconfined }'))).toEqual([expect.stringMatching(/^6:17 services.web.security.seccomp: .*not a known field/)]);
  });
});

describe('container confinement', () => {
  it('drops every capability, sets no-new-privileges and a pids limit of 512 by default; overrides win', () => {
    expect(containerSecurity()).toEqual({ noNewPrivileges: true, capDrop: ['ALL'], capAdd: [], pidsLimit: 512 });
    expect(containerSecurity({ capAdd: ['CHOWN'], noNewPrivileges: false, pidsLimit: 64, user: '1000' })).toEqual({
      noNewPrivileges: false,
      capDrop: ['ALL'],
      capAdd: ['CHOWN'],
      pidsLimit: 64,
      user: '1000',
    });
  });

  it('warns when the container runs as root: the image user, unless security.user says otherwise', () => {
    expect(['', 'root', '0', 'root:root', '0:1000'].every(isRoot)).toBe(true);
    expect(['1000', 'app', 'node:node', '10'].some(isRoot)).toBe(false);
    expect(rootWarning('web', containerSecurity(), '')).toBe(
      'Warning: service web runs as root in its container (the image sets no USER): set USER in the Dockerfile or security.user in branchbox.yaml; it has no capabilities all the same',
    );
    expect(rootWarning('web', containerSecurity(), 'root')).toMatch(/\(the image's USER is root\)/);
    expect(rootWarning('web', containerSecurity(), '1000')).toBeUndefined();
    expect(rootWarning('web', containerSecurity({ user: '1000' }), '')).toBeUndefined();
    expect(rootWarning('web', containerSecurity({ user: '0', capAdd: ['CHOWN'] }), '1000')).toMatch(/\(security\.user is 0\).*gives back \(CHOWN\)$/);
  });
});
