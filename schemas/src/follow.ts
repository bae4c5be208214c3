/**
 * Follow: a sandbox redeploys when the branches it serves move. A sandbox that follows has
 * each service deployed from a branch redeployed at that branch's new head whenever the head
 * moves in its repository (a commit, an amend, a pull, a reset): the daemon watches the
 * repository's refs, and editors call `follow/check` when their git integration sees HEAD
 * change. Redeploys are requested by `branchboxd (follow)`; a head whose redeploy failed is
 * not tried again until the branch moves on. The flag is stored: it survives a daemon restart,
 * and heads that moved while the daemon was down are caught up when it starts.
 */
import { Type } from '@sinclair/typebox';
import { Obj, defineMethods } from './core';
import { DeployOutcome, Sandbox } from './sandbox';

export const followMethods = defineMethods({
  'sandbox/follow': {
    summary: 'Turns follow on or off for a sandbox: its services deployed from a branch are redeployed when that branch moves.',
    description:
      'Turning it on reconciles at once (a branch that moved since the deployment is redeployed). SandboxNotFound for an ' +
      'unknown sandbox; Conflict when turning it on for a sandbox with no repository or no service deployed from a branch. ' +
      'Turning it off stops future redeploys (one in progress ends normally). Answers the sandbox, whose `follow` is present when on.',
    mutating: true,
    errors: ['SandboxNotFound', 'Conflict'],
    params: Obj({
      sandbox: Type.String({ minLength: 1, maxLength: 200, description: 'The sandbox.' }),
      follow: Type.Boolean({ description: 'true to follow, false to stop.' }),
    }),
    result: Sandbox,
  },
  'follow/check': {
    summary: 'Compares every following sandbox of a repository with its branch heads now and redeploys what is behind.',
    description:
      'For editors: call it when the repository\'s HEAD or a branch changes, so a commit is acted on at once even where the ' +
      'daemon\'s file watch is late. Idempotent: a sandbox already serving its heads starts nothing. A sandbox with a ' +
      'redeploy by follow under way is checked once it ends (the answer waits for it), so what moved meanwhile is acted on. ' +
      'FileNotFound or GitError when `repoPath` is not in a git repository.',
    errors: ['FileNotFound', 'GitError'],
    params: Obj({ repoPath: Type.String({ minLength: 1, description: 'An absolute path in the repository.' }) }),
    result: Obj({
      started: Type.Array(
        Obj({ sandbox: Type.String(), ...DeployOutcome.properties }, 'A deployment this check started, and its sandbox.'),
        { description: 'The deployments this check started (status `started`), by sandbox then service.' },
      ),
    }),
  },
});
