/**
 * The check that keeps a branch from running host commands the user did not trust: which
 * `{ command, runtime, cmd }` services of a project a deployment needs are untrusted, and the
 * `Untrusted` error (or, at the build stage, the diagnosis) that names them and says how to
 * trust them.
 *
 * It runs twice: up front in `deploy/start` ({@link HostCommandGate}, on the branchbox.yaml of
 * the commit to deploy, so a client can ask the user and retry before anything is queued),
 * and authoritatively in the build stage right before the command would be spawned (the
 * branch may have moved in between; clone, restore and templates deploy without the handler).
 */
import { join } from 'node:path';
import { commandText, type UntrustedCommand } from '../../../schemas/src/trust';
import { checkBranchName, checkCommitId, findRepoRoot, type GitSource } from '../deploy/git-source';
import { RpcError } from '../rpc/errors';
import { normalContext, repositoryIdentity, type CommandTrust } from './trust-store';

/** The part of a project the check reads. */
export interface CommandProject {
  readonly services: Readonly<Record<string, { readonly context: string; readonly build: { readonly kind: string; readonly command?: readonly string[] } }>>;
}

/** The host commands among `services` of `project` that are not trusted for the repository `repoPath`. */
export function untrustedCommands(project: CommandProject, services: readonly string[], repoPath: string, trust: CommandTrust): UntrustedCommand[] {
  const untrusted: UntrustedCommand[] = [];
  for (const service of services) {
    const config = Object.hasOwn(project.services, service) ? project.services[service] : undefined;
    if (config?.build.kind !== 'command' || !config.build.command) continue;
    const key = { repoPath, context: normalContext(config.context), command: [...config.build.command] };
    if (!trust.isTrusted(key)) untrusted.push({ service, context: key.context, command: key.command });
  }
  return untrusted;
}

/** Why the commands cannot run, and how to trust them. */
export function untrustedMessage(repoPath: string, commands: readonly UntrustedCommand[]): string {
  const each = commands.map((c) => `service ${c.service} runs \`${commandText(c.command)}\` in ${c.context}`).join('; ');
  const them = commands.length === 1 ? 'it' : 'them';
  return (
    `${repoPath} asks to run ${commands.length === 1 ? 'a command' : 'commands'} on this computer that you have not trusted: ${each}. ` +
    `Nothing ran. If you would run ${them} yourself, trust ${them} (branchbox deploy --trust-command, the Trust prompt in VS Code, or trust/grant) and deploy again.`
  );
}

/** The `Untrusted` error of `deploy/start`. */
export function untrustedError(repoPath: string, commands: UntrustedCommand[]): RpcError {
  return new RpcError('Untrusted', untrustedMessage(repoPath, commands), { repoPath, commands });
}

/** The project file names, in the order they are looked for. */
const PROJECT_FILES = ['branchbox.yaml', 'branchbox.yml'] as const;
/** A larger project file is not read up front (the deployment's prepare stage refuses it by itself). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface HostCommandGateOptions {
  readonly trust: CommandTrust;
  readonly git: Pick<GitSource, 'run'>;
  /** Reads the working tree's project (for `includeUncommitted`). */
  readonly loadProject: (repoRoot: string) => CommandProject;
  /** Parses project text as if read from `file`. */
  readonly parseProject: (text: string, file: string) => CommandProject;
}

export interface StartRequest {
  readonly repoPath: string;
  readonly ref?: string;
  readonly commit?: string;
  readonly includeUncommitted?: boolean;
  readonly services: readonly string[];
}

/** The up-front check of `deploy/start`. */
export class HostCommandGate {
  constructor(private readonly opts: HostCommandGateOptions) {}

  /**
   * Throws `Untrusted` when a requested service of the configuration to deploy (the commit's,
   * or the working tree's with uncommitted changes) runs an untrusted host command. Any other
   * problem (no repository, no such branch, an invalid configuration) is left to the pipeline,
   * which reports it its own way; the build stage checks again in any case.
   */
  async check(req: StartRequest, signal?: AbortSignal): Promise<void> {
    let root: string;
    let repo: string;
    try {
      root = findRepoRoot(req.repoPath);
      repo = repositoryIdentity(root);
    } catch {
      return;
    }
    const project = await this.projectToDeploy(root, req, signal).catch(() => undefined);
    if (!project) return;
    const untrusted = untrustedCommands(project, req.services, repo, this.opts.trust);
    if (untrusted.length) throw untrustedError(repo, untrusted);
  }

  private async projectToDeploy(root: string, req: StartRequest, signal?: AbortSignal): Promise<CommandProject | undefined> {
    if (req.includeUncommitted) return this.opts.loadProject(root);
    const options = signal ? { signal } : {};
    // The commit the deployment resolves (the one given, the branch's, HEAD's), asked of git
    // in one lookup with the project files: `cat-file --batch-check` answers each one's id and
    // size. Names are checked first (a line of the lookup is one name).
    if (req.commit !== undefined) checkCommitId(req.commit);
    else if (req.ref !== undefined) checkBranchName(req.ref);
    const target = `${req.commit ?? req.ref ?? 'HEAD'}^{commit}`;
    const found = await this.opts.git.run(root, ['cat-file', '--batch-check'], { ...options, input: PROJECT_FILES.map((name) => `${target}:${name}\n`).join('') });
    for (const [i, line] of found.split('\n').slice(0, PROJECT_FILES.length).entries()) {
      const [id, type, size] = line.split(' ');
      if (type !== 'blob' || !id || !/^[0-9a-f]{40,64}$/.test(id)) continue;
      if (Number(size) > MAX_CONFIG_BYTES) return undefined;
      const text = await this.opts.git.run(root, ['cat-file', 'blob', id], options);
      return this.opts.parseProject(text, join(root, PROJECT_FILES[i]!));
    }
    return undefined;
  }
}
