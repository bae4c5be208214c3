/** Why a watch stops when a deployment not its own takes a watched service over: the service and the ref@commit it runs now. */
import { describe, expect, it } from 'vitest';
import { replacedReason } from '../../../daemon/src/watch/watches';

describe('the reason a later deploy gives a watch', () => {
  const commit = '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b';
  it('names the service and the branch@commit', () => {
    expect(replacedReason({ service: 'account', ref: 'main', commit, includeUncommitted: false })).toBe(
      'account was deployed from main@1a2b3c4: the sandbox runs that commit now',
    );
  });
  it('names the commit alone when no branch was deployed, and says so when it carried uncommitted changes', () => {
    expect(replacedReason({ service: 'account', commit, includeUncommitted: false })).toBe('account was deployed from 1a2b3c4: the sandbox runs that commit now');
    expect(replacedReason({ service: 'web', ref: 'feature/x', commit, includeUncommitted: true })).toBe(
      'web was deployed from feature/x@1a2b3c4 with uncommitted changes: the sandbox runs that deployment now',
    );
  });
});
