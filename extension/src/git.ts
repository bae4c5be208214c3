/**
 * The branch and commit to deploy, from VS Code's built-in git extension (`vscode.git`, API
 * version 1): the repository of the active editor, else the first one open. Only the few
 * members used here are declared.
 */
import * as vscode from 'vscode';

interface GitRepository {
  readonly rootUri: vscode.Uri;
  readonly state: { readonly HEAD?: { readonly name?: string; readonly commit?: string }; readonly workingTreeChanges?: readonly unknown[] };
}
interface GitApi {
  readonly repositories: readonly GitRepository[];
  getRepository?(uri: vscode.Uri): GitRepository | null;
}
interface GitExtension {
  getAPI(version: 1): GitApi;
}

export interface CurrentBranch {
  readonly repoPath: string;
  /** Undefined on a detached HEAD. */
  readonly branch: string | undefined;
  readonly commit: string;
  /** The working tree has changes that are not committed (they are not deployed). */
  readonly dirty: boolean;
}

/** The branch of the active editor's repository (or the first one); throws saying what is missing. */
export async function currentBranch(): Promise<CurrentBranch> {
  const extension = vscode.extensions.getExtension<GitExtension>('vscode.git');
  if (!extension) throw new Error('The built-in Git extension is not available; enable "vscode.git" to deploy the current branch.');
  const git = extension.isActive ? extension.exports : await extension.activate();
  const api = git.getAPI(1);
  const active = vscode.window.activeTextEditor?.document.uri;
  const repo = (active && api.getRepository?.(active)) || api.repositories[0];
  if (!repo) throw new Error('No git repository is open; open the folder of a repository with a branchbox.yaml.');
  const head = repo.state.HEAD;
  if (!head?.commit) throw new Error(`The repository ${repo.rootUri.fsPath} has no commit yet; commit before deploying.`);
  return { repoPath: repo.rootUri.fsPath, branch: head.name, commit: head.commit, dirty: (repo.state.workingTreeChanges?.length ?? 0) > 0 };
}
