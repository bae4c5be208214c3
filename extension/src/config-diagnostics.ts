/**
 * Config problems in the Problems panel: a project file (branchbox.yaml or a compose file,
 * config-problems.ts) opened, saved or changed on disk (a checkout, another editor) is validated by the daemon (`project/load` of its
 * folder); every problem of the ConfigInvalid answer becomes an Error diagnostic on the exact
 * key or value, the project's warnings Warning ones; a valid project clears them. An unknown
 * key close to a known one gets a quick fix ("Change to `port`"). A deploy refused with
 * ConfigInvalid publishes the same and shows a toast whose button opens the first problem.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfigProblem } from '../../schemas/src/project';
import type { Connected, DaemonConnection, Logger } from './connection';
import { isProjectFile, PROJECT_FILE_GLOB } from '../../schemas/src/project-files';
import { configProblemsOf, configWarningsOf, problemMessage, problemRange, problemsToast, suggestionOf } from './config-problems';

const SOURCE = 'branchbox';
const UNKNOWN_KEY_CODE = 'unknown-key';
/** The files the quick fix applies to. */
const PROJECT_FILES: vscode.DocumentSelector = [{ scheme: 'file', pattern: PROJECT_FILE_GLOB }];

export class ConfigDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection(SOURCE);
  /** Per project folder validated: the URIs it published diagnostics on. */
  private readonly published = new Map<string, Set<string>>();
  /** Per project folder: the latest validation (an older answer arriving late is dropped). */
  private readonly runs = new Map<string, number>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly connection: DaemonConnection,
    private readonly log: Logger,
    /** The workspace's project files on disk (PROJECT_FILE_GLOB). */
    projectFiles: vscode.FileSystemWatcher,
  ) {
    this.disposables.push(
      this.collection,
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidSaveTextDocument((d) => this.check(d)),
      ...this.watchDisk(projectFiles),
      connection.whileConnected((c) => {
        for (const d of vscode.workspace.textDocuments) this.check(d, c);
      }),
      vscode.languages.registerCodeActionsProvider(PROJECT_FILES, new UnknownKeyFix(), { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    );
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** Validates the project of `doc` when it is a project file on disk (and the daemon is there). */
  private check(doc: { readonly uri: vscode.Uri }, c = this.connection.connected): void {
    if (doc.uri.scheme !== 'file' || !isProjectFile(doc.uri.fsPath) || !c) return;
    void this.validate(c, path.dirname(doc.uri.fsPath));
  }

  /** Project files changed, created or deleted on disk, open or not, are checked again. */
  private watchDisk(watcher: vscode.FileSystemWatcher): vscode.Disposable[] {
    const changed = (uri: vscode.Uri) => this.check({ uri });
    return [watcher.onDidChange(changed), watcher.onDidCreate(changed), watcher.onDidDelete(changed)];
  }

  /** `project/load` of `root`, its problems (or none) published. */
  async validate(c: Connected, root: string): Promise<void> {
    const run = this.nextRun(root);
    let problems: ConfigProblem[] = [];
    let warnings: ConfigProblem[] = [];
    try {
      warnings = configWarningsOf(await c.client.request('project/load', { path: root }));
    } catch (e) {
      const found = configProblemsOf(e);
      if (found) problems = found;
      else this.log.debug(`Config check of ${root}: ${(e as Error).message}`);
    }
    await this.publish(root, run, problems, warnings);
  }

  /** A new check of `root` begins: answers of earlier ones are dropped. */
  private nextRun(root: string): number {
    const run = (this.runs.get(root) ?? 0) + 1;
    this.runs.set(root, run);
    return run;
  }

  /** The project at `root` loaded: its problems are gone (its warnings remain). */
  accept(root: string, project: unknown): void {
    void this.publish(root, this.nextRun(root), [], configWarningsOf(project));
  }

  /**
   * When `e` is ConfigInvalid: publishes its problems for the project at `root` and shows the
   * first in a toast whose button opens it; true then. False for any other failure.
   */
  async reportFailure(root: string, e: unknown): Promise<boolean> {
    const problems = configProblemsOf(e);
    if (!problems?.length) return false;
    await this.publish(root, this.nextRun(root), problems, []);
    const first = problems[0]!;
    const open = `Open ${path.basename(first.file)}:${first.line}`;
    this.log.error(`Config invalid: ${problems.map((p) => `${p.file}:${p.line}:${p.column}: ${problemMessage(p)}`).join('; ')}`);
    void vscode.window.showErrorMessage(problemsToast(problems), open, 'Show Problems').then(async (choice) => {
      if (choice === open) await this.reveal(first);
      else if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
    });
    return true;
  }

  /** Opens the problem's file with its key or value selected. */
  private async reveal(p: ConfigProblem): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(p.file));
    const range = await rangeOf(p, doc);
    await vscode.window.showTextDocument(doc, { selection: range });
  }

  /** Publishes the problems of check `run` of `root`, unless a newer check began meanwhile (its answer wins). */
  private async publish(root: string, run: number, errors: readonly ConfigProblem[], warnings: readonly ConfigProblem[]): Promise<void> {
    const byFile = new Map<string, vscode.Diagnostic[]>();
    const lines = new Map<string, Promise<readonly string[]>>();
    const add = async (p: ConfigProblem, severity: vscode.DiagnosticSeverity) => {
      const uri = vscode.Uri.file(p.file);
      const message = problemMessage(p);
      const diagnostic = new vscode.Diagnostic(await rangeOf(p, undefined, lines), message, severity);
      diagnostic.source = SOURCE;
      if (suggestionOf(message)) diagnostic.code = UNKNOWN_KEY_CODE;
      const list = byFile.get(uri.toString()) ?? [];
      list.push(diagnostic);
      byFile.set(uri.toString(), list);
    };
    for (const p of errors) await add(p, vscode.DiagnosticSeverity.Error);
    for (const p of warnings) await add(p, vscode.DiagnosticSeverity.Warning);
    if (this.runs.get(root) !== run) return;
    for (const uri of this.published.get(root) ?? []) if (!byFile.has(uri)) this.collection.delete(vscode.Uri.parse(uri));
    for (const [uri, list] of byFile) this.collection.set(vscode.Uri.parse(uri), list);
    this.published.set(root, new Set(byFile.keys()));
  }
}

/** The problem's key or value, read from the open document or else from the file (its lines read once per `cache`). */
async function rangeOf(p: ConfigProblem, open?: vscode.TextDocument, cache = new Map<string, Promise<readonly string[]>>()): Promise<vscode.Range> {
  const uri = vscode.Uri.file(p.file);
  let lineText = '';
  const doc = open ?? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (doc) lineText = p.line >= 1 && p.line <= doc.lineCount ? doc.lineAt(p.line - 1).text : '';
  else {
    if (!cache.has(p.file)) {
      // A file that went away: the line alone.
      cache.set(p.file, Promise.resolve(vscode.workspace.fs.readFile(uri)).then((bytes) => new TextDecoder().decode(bytes).split(/\r?\n/), () => []));
    }
    lineText = (await cache.get(p.file)!)[p.line - 1] ?? '';
  }
  const r = problemRange(lineText, p.line, p.column);
  return new vscode.Range(r.line, r.start, r.line, r.end);
}

/** "Change to `port`" on an unknown key whose diagnostic suggests a known one. */
class UnknownKeyFix implements vscode.CodeActionProvider {
  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    return context.diagnostics
      .filter((d) => d.source === SOURCE)
      .flatMap((d) => {
        const key = suggestionOf(d.message);
        if (!key) return [];
        const action = new vscode.CodeAction(`Change to \`${key}\``, vscode.CodeActionKind.QuickFix);
        action.edit = new vscode.WorkspaceEdit();
        action.edit.replace(doc.uri, d.range, key);
        action.diagnostics = [d];
        action.isPreferred = true;
        return [action];
      });
  }
}
