/**
 * Read-only virtual documents (`branchbox:` URIs) for text the daemon holds: a deployment's
 * stored log, a sandbox's audit trail, a route explained. The text is fetched when a document is opened and
 * kept until it is opened again.
 */
import * as vscode from 'vscode';

export const DOCUMENT_SCHEME = 'branchbox';

export class DaemonDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(DOCUMENT_SCHEME, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  /** Opens (or refreshes) the document at `path` (e.g. `/deployments/<id>.log`) with `text`. */
  async show(path: string, text: string): Promise<vscode.TextDocument> {
    const uri = vscode.Uri.parse(`${DOCUMENT_SCHEME}:${path}`);
    const had = this.texts.has(uri.toString());
    this.texts.set(uri.toString(), text);
    if (had) this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc;
  }

  /** The text last shown at `path` (for tests and follow-ups). */
  textOf(path: string): string | undefined {
    return this.texts.get(vscode.Uri.parse(`${DOCUMENT_SCHEME}:${path}`).toString());
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
