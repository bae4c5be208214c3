/**
 * The branch and commit to deploy, from VS Code's built-in git extension (`vscode.git`, API
 * version 1): the repository of the active editor, else the first one open. Only the few
 * members used here are declared.
 */
import * as vscode from 'vscode';

interface GitRepository {
  readonly rootUri: vscode.Uri;
  readonly state: {
    readonly HEAD?: { readonly name?: string; readonly commit?: string };
    readonly workingTreeChanges?: readonly unknown[];
    readonly onDidChange: vscode.Event<void>;
  };
}
interface GitApi {
  readonly repositories: readonly GitRepository[];
  getRepository?(uri: vscode.Uri): GitRepository | null;
  readonly onDidOpenRepository: vscode.Event<GitRepository>;
  readonly onDidCloseRepository: vscode.Event<GitRepository>;
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

async function gitApi(): Promise<GitApi> {
  const extension = vscode.extensions.getExtension<GitExtension>('vscode.git');
  if (!extension) throw new Error('The built-in Git extension is not available; enable "vscode.git" to deploy the current branch.');
  const git = extension.isActive ? extension.exports : await extension.activate();
  return git.getAPI(1);
}

/** The branch of the active editor's repository (or the first one); throws saying what is missing. */
export async function currentBranch(): Promise<CurrentBranch> {
  const api = await gitApi();
  const active = vscode.window.activeTextEditor?.document.uri;
  const repo = (active && api.getRepository?.(active)) || api.repositories[0];
  if (!repo) throw new Error('No git repository is open; open the folder of a repository with a branchbox.yaml.');
  const head = repo.state.HEAD;
  if (!head?.commit) throw new Error(`The repository ${repo.rootUri.fsPath} has no commit yet; commit before deploying.`);
  return { repoPath: repo.rootUri.fsPath, branch: head.name, commit: head.commit, dirty: (repo.state.workingTreeChanges?.length ?? 0) > 0 };
}

/**
 * Calls `onMove(repoPath)` whenever the HEAD of an open repository moves: a commit, a checkout,
 * a pull, a reset (the git extension's state events, compared by branch and commit). The
 * handler runs after the change, never for the state first seen.
 */
export function onHeadMoved(onMove: (repoPath: string) => void, log: (message: string) => void): vscode.Disposable {
  const subscriptions = new Map<GitRepository, vscode.Disposable>();
  const watch = (repo: GitRepository) => {
    if (subscriptions.has(repo)) return;
    const key = () => `${repo.state.HEAD?.name ?? ''}@${repo.state.HEAD?.commit ?? ''}`;
    let last = key();
    subscriptions.set(
      repo,
      repo.state.onDidChange(() => {
        const now = key();
        if (now === last) return;
        last = now;
        onMove(repo.rootUri.fsPath);
      }),
    );
  };
  let disposed = false;
  const more: vscode.Disposable[] = [];
  void gitApi()
    .then((api) => {
      if (disposed) return;
      api.repositories.forEach(watch);
      more.push(
        api.onDidOpenRepository(watch),
        api.onDidCloseRepository((repo) => {
          subscriptions.get(repo)?.dispose();
          subscriptions.delete(repo);
        }),
      );
    })
    .catch((e: unknown) => log(`Not following git HEAD changes: ${(e as Error).message}`));
  return new vscode.Disposable(() => {
    disposed = true;
    for (const d of [...subscriptions.values(), ...more]) d.dispose();
    subscriptions.clear();
  });
}
