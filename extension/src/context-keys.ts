/**
 * The context keys the manifest's `when` clauses read (palette entries, welcome content, the
 * walkthrough): whether the daemon is connected, which sandboxes and containers there are,
 * and whether the workspace has a project file. `paletteKeys` is pure; `ContextKeys` sets
 * them with `setContext` whenever what they depend on changes.
 */
import * as vscode from 'vscode';
import type { ContainerSummary } from '../../schemas/src/docker';
import { BRANCHBOX_FILE_NAMES, COMPOSE_FILE_NAMES } from '../../schemas/src/project-files';
import type { Sandbox } from '../../schemas/src/sandbox';
import type { DaemonConnection } from './connection';
import { isRunning } from './container-model';
import type { ContainersTree } from './containers-tree';
import type { SandboxesTree } from './sandboxes-tree';


export type ContextKeyValues = Readonly<Record<string, boolean>>;

/** What the palette's `when` clauses know about sandboxes and containers. */
export function paletteKeys(
  connected: boolean,
  sandboxes: readonly Pick<Sandbox, 'state'>[],
  containers: readonly Pick<ContainerSummary, 'state'>[],
  watching = false,
): ContextKeyValues {
  return {
    'branchbox.connected': connected,
    'branchbox.hasSandbox': sandboxes.some((s) => s.state !== 'deleting'),
    'branchbox.hasActiveSandbox': sandboxes.some((s) => s.state === 'active'),
    'branchbox.hasSuspendedSandbox': sandboxes.some((s) => s.state === 'suspended' || s.state === 'expired'),
    'branchbox.hasContainer': containers.some((c) => c.state !== 'removing'),
    'branchbox.hasRunningContainer': containers.some((c) => isRunning(c as ContainerSummary)),
    'branchbox.hasStoppedContainer': containers.some((c) => c.state === 'created' || c.state === 'exited' || c.state === 'dead'),
    'branchbox.hasWatch': watching,
  };
}

/** What the welcome content and the walkthrough know about the workspace's project files. */
export function projectKeys(fileNames: readonly string[]): ContextKeyValues {
  const names = new Set(fileNames);
  const hasBranchboxYaml = BRANCHBOX_FILE_NAMES.some((f) => names.has(f));
  return {
    'branchbox.hasBranchboxYaml': hasBranchboxYaml,
    // An override file alone is no project: the daemon needs a base file.
    'branchbox.hasConfig': hasBranchboxYaml || COMPOSE_FILE_NAMES.some((f) => names.has(f)),
  };
}

/** The project files that can stand alone, at any depth (findFiles' matches are filtered to the roots). */
const PROJECT_GLOB = `{${[...BRANCHBOX_FILE_NAMES, ...COMPOSE_FILE_NAMES].join(',')}}`;

export class ContextKeys implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly last = new Map<string, boolean>();

  constructor(
    private readonly connection: DaemonConnection,
    private readonly sandboxes: SandboxesTree,
    private readonly containers: ContainersTree,
    /** The workspace's project files on disk (PROJECT_FILE_GLOB). */
    projectFiles: vscode.FileSystemWatcher,
  ) {
    const files = () => void this.refreshProjectFiles();
    this.disposables.push(
      projectFiles.onDidCreate(files),
      projectFiles.onDidDelete(files),
      vscode.workspace.onDidChangeWorkspaceFolders(files),
      connection.onDidChangeState(() => this.refreshPalette()),
      sandboxes.onDidChangeModel(() => this.refreshPalette()),
      containers.onDidChangeContainers(() => this.refreshPalette()),
    );
    this.refreshPalette();
    files();
  }

  /** Sets the project-file keys now (and after every create or delete of such a file). */
  async refreshProjectFiles(): Promise<void> {
    const found = await vscode.workspace.findFiles(PROJECT_GLOB, null, 20);
    // Only files at the root of a workspace folder count, as the daemon reads them there.
    const atRoot = found.filter((uri) => vscode.workspace.workspaceFolders?.some((f) => vscode.Uri.joinPath(f.uri, uri.path.split('/').pop()!).toString() === uri.toString()));
    this.set(projectKeys(atRoot.map((uri) => uri.path.split('/').pop()!)));
  }

  private refreshPalette(): void {
    const model = this.sandboxes.model;
    const sandboxes = model.sandboxes();
    this.set(paletteKeys(this.connection.connected !== undefined, sandboxes, this.containers.model.all(), sandboxes.some((s) => model.watch(s.name))));
  }

  private set(values: ContextKeyValues): void {
    for (const [key, value] of Object.entries(values)) {
      if (this.last.get(key) === value) continue;
      this.last.set(key, value);
      void vscode.commands.executeCommand('setContext', key, value);
    }
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
