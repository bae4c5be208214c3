/**
 * The trust namespace: which host commands the user allowed a repository to run.
 *
 * A service built with `{ command, runtime, cmd }` runs its build command on this computer,
 * outside any container, as the user. `deploy/start` reads branchbox.yaml from the commit it
 * deploys, so any branch — a teammate's too — could name any command. A command runs only
 * once the user trusted that exact argument list, in that build context, for that repository
 * (identified by the real path of its root). A deployment whose command is not trusted is
 * refused (`Untrusted`, with `data.commands`) before anything runs; trust is granted only by
 * `trust/grant` (audited), never implicitly, and can be listed and revoked.
 *
 * Trusting a command trusts what it does with the files of the branch deployed (`make`
 * runs that branch's Makefile): trust the commands whose inputs you would run yourself.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Obj, Timestamp, defineMethods } from './core';

const Command = Type.Array(Type.String({ maxLength: 4096 }), {
  minItems: 1,
  maxItems: 256,
  description: 'The exact argument list of the build command, as branchbox.yaml splits it (never run through a shell).',
});
const Context = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'The build context the command runs in, relative to the repository root ("." for the root).',
});
const RepoPath = Type.String({
  minLength: 1,
  maxLength: 4096,
  description: 'An absolute path of the repository (its root or a folder inside it); stored as the real path of its root.',
});

export const TrustedCommand = Obj(
  {
    id: Type.Integer({ minimum: 1, description: 'Identifies the grant for trust/revoke.' }),
    repoPath: Type.String({ description: 'The real path of the repository root.' }),
    context: Type.String({ description: 'The build context, relative to the repository root.' }),
    command: Type.Array(Type.String(), { description: 'The exact argument list.' }),
    grantedAt: Timestamp('When it was trusted.'),
    grantedBy: Type.Optional(Type.String({ description: 'Who trusted it: the client name and the OS user.' })),
  },
  'A host build command the user trusted for a repository.',
);
export type TrustedCommand = Static<typeof TrustedCommand>;

/** One untrusted command of an `Untrusted` error's `data.commands`. */
export const UntrustedCommand = Obj(
  {
    service: Type.String(),
    context: Type.String({ description: 'The build context, relative to the repository root.' }),
    command: Type.Array(Type.String(), { description: 'The exact argument list.' }),
  },
  'A host build command a deployment needs that the user has not trusted.',
);
export type UntrustedCommand = Static<typeof UntrustedCommand>;

/** The `data` of an `Untrusted` error (besides `name`). */
export const UntrustedData = Obj({
  repoPath: Type.String({ description: 'The real path of the repository root.' }),
  commands: Type.Array(UntrustedCommand, { minItems: 1 }),
});
export type UntrustedData = Static<typeof UntrustedData>;

export const trustMethods = defineMethods({
  'trust/list': {
    summary: 'The host build commands trusted so far, of every repository or of one.',
    params: Obj({ repoPath: Type.Optional(RepoPath) }),
    result: Obj({ commands: Type.Array(TrustedCommand, { description: 'By repository, context and command.' }) }),
  },
  'trust/grant': {
    summary: 'Trusts one host build command (exact argument list) in one build context of a repository.',
    description:
      'Show the user the command before calling this: it lets every branch of the repository run exactly that command ' +
      'on this computer. Granting what is already trusted answers the existing grant.',
    mutating: true,
    errors: ['FileNotFound', 'GitError'],
    params: Obj({ repoPath: RepoPath, context: Context, command: Command }),
    result: TrustedCommand,
  },
  'trust/revoke': {
    summary: 'Revokes one grant (`id`) or every grant of a repository (`repoPath`); answers what was revoked.',
    description:
      'Exactly one of `id` and `repoPath` (a repository that no longer exists is matched by the path as given). ' +
      'Revoking what is not trusted answers an empty list.',
    mutating: true,
    params: Obj({ id: Type.Optional(Type.Integer({ minimum: 1 })), repoPath: Type.Optional(RepoPath) }),
    result: Obj({ revoked: Type.Array(TrustedCommand) }),
  },
});

/**
 * An argument list as one line to show the user, quoted so that branchbox.yaml would split it
 * back into the same arguments: plain words as they are, others in single quotes.
 */
export function commandText(command: readonly string[]): string {
  return command.map((arg) => (/^[A-Za-z0-9_/.:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)).join(' ');
}
