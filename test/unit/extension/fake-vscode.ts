/**
 * The part of the `vscode` API the extension's views, status bar and terminal use, recorded
 * instead of drawn, for unit tests (`vi.mock('vscode', () => import('./fake-vscode'))`).
 * The real VS Code runs them in the end-to-end tests.
 */
type Listener<T> = (value: T) => void;

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly fired: T[] = [];
  readonly event = (listener: Listener<T>) => {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) };
  };
  fire(value: T): void {
    this.fired.push(value);
    for (const l of [...this.listeners]) l(value);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: unknown;
  iconPath?: unknown;
  contextValue?: string;
  constructor(
    public label: string,
    public collapsibleState: TreeItemCollapsibleState,
  ) {}
}

export class ThemeColor {
  constructor(public readonly id: string) {}
}

export class ThemeIcon {
  constructor(
    public readonly id: string,
    public readonly color?: ThemeColor,
  ) {}
}

export class MarkdownString {
  constructor(public readonly value: string) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export const created = {
  treeViews: [] as FakeTreeView[],
  statusBarItems: [] as FakeStatusBarItem[],
  terminals: [] as unknown[],
  outputChannels: [] as FakeOutputChannel[],
  messages: [] as { severity: 'error' | 'warning' | 'info'; message: string; items: unknown[] }[],
  /** Every `withProgress` run: its options and what it reported. */
  progress: [] as { options: { title?: string; cancellable?: boolean }; reports: { message?: string; increment?: number }[]; cancel(): void }[],
  /** Documents opened with `showTextDocument` (their URI strings). */
  shownDocuments: [] as string[],
  openedExternal: [] as string[],
  /** `workspace.createFileSystemWatcher` watchers: fire their emitters to play a change on disk. */
  fileWatchers: [] as { glob: string; changed: EventEmitter<Uri>; created: EventEmitter<Uri>; deleted: EventEmitter<Uri> }[],
};

/** A prompt the code showed: a quick pick, an input box, or a message with buttons. */
export type Prompt =
  | { kind: 'quickPick'; items: { label: string; [key: string]: unknown }[]; options: { title?: string; canPickMany?: boolean; placeHolder?: string } }
  | { kind: 'inputBox'; options: { title?: string; prompt?: string; value?: string; password?: boolean; validateInput?(v: string): string | undefined | null } }
  | { kind: 'message'; severity: 'error' | 'warning' | 'info'; message: string; modal: boolean; items: string[] };

/**
 * The user, scripted: tests set `ui.respond` to answer prompts (the picked item or items, the
 * text typed, the button clicked); unset, every prompt is dismissed. Every prompt is kept in
 * `ui.prompts`.
 */
export const ui = {
  respond: undefined as ((prompt: Prompt) => unknown) | undefined,
  prompts: [] as Prompt[],
};

function ask(prompt: Prompt): unknown {
  ui.prompts.push(prompt);
  onDidRecord.fire();
  return ui.respond?.(prompt);
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  get fsPath(): string {
    return this.path;
  }
  static parse(value: string): Uri {
    const i = value.indexOf(':');
    return new Uri(value.slice(0, i), value.slice(i + 1));
  }
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path, ...parts].join('/'));
  }
  toString(): string {
    return `${this.scheme}:${this.path}`;
  }
}

/** Fires whenever anything recorded here changes (no polling in tests: wait on this). */
export const onDidRecord = new EventEmitter<void>();

/** Resolves once `predicate()` holds, re-checked whenever something is recorded. */
export function until(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (predicate()) return resolve();
    const sub = onDidRecord.event(() => {
      if (!predicate()) return;
      sub.dispose();
      resolve();
    });
  });
}

export class FakeOutputChannel {
  readonly lines: string[] = [];
  constructor(readonly name: string) {}
  private record(line: string): void {
    this.lines.push(line);
    onDidRecord.fire();
  }
  append(text: string): void {
    for (const line of text.split('\n').filter(Boolean)) this.record(line);
  }
  appendLine(line: string): void {
    this.record(line);
  }
  trace(m: string): void {
    this.record(`[trace] ${m}`);
  }
  debug(m: string): void {
    this.record(`[debug] ${m}`);
  }
  info(m: string): void {
    this.record(`[info] ${m}`);
  }
  warn(m: string): void {
    this.record(`[warn] ${m}`);
  }
  error(m: string | Error): void {
    this.record(`[error] ${m instanceof Error ? m.message : m}`);
  }
  show(): void {}
  dispose(): void {}
}

export class FakeTreeView {
  message: string | undefined;
  readonly messages: (string | undefined)[] = [];
  /** Hidden until a test shows it (`setVisible`): time-relative refreshes run only while shown. */
  visible = false;
  private readonly visibility = new EventEmitter<{ visible: boolean }>();
  readonly onDidChangeVisibility = this.visibility.event;
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.visibility.fire({ visible });
  }
  constructor(
    readonly id: string,
    readonly options: { treeDataProvider: unknown },
  ) {
    return new Proxy(this, {
      set: (target, key, value) => {
        if (key === 'message') target.messages.push(value as string | undefined);
        (target as unknown as Record<string | symbol, unknown>)[key] = value;
        onDidRecord.fire();
        return true;
      },
    });
  }
  dispose(): void {}
}

export class FakeStatusBarItem {
  name = '';
  text = '';
  tooltip: unknown;
  command: unknown;
  backgroundColor: ThemeColor | undefined;
  visible = false;
  constructor(readonly id: string) {
    return new Proxy(this, {
      set: (target, key, value) => {
        (target as unknown as Record<string | symbol, unknown>)[key] = value;
        onDidRecord.fire();
        return true;
      },
    });
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  dispose(): void {}
}

export class Disposable {
  constructor(private readonly fn: () => void) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
}

/** Webview panel serializers by view type. */
export const webviewSerializers = new Map<string, unknown>();

export class TabInputWebview {
  constructor(readonly viewType: string) {}
}

export const window = {
  /** No editor tab is open in these tests. */
  tabGroups: { all: [] as { tabs: { input: unknown }[] }[], onDidChangeTabs: new EventEmitter<void>().event },
  registerWebviewPanelSerializer(viewType: string, serializer: unknown) {
    webviewSerializers.set(viewType, serializer);
    return { dispose: () => void webviewSerializers.delete(viewType) };
  },
  createTreeView(id: string, options: { treeDataProvider: unknown }) {
    const view = new FakeTreeView(id, options);
    created.treeViews.push(view);
    return view;
  },
  createStatusBarItem(id: string) {
    const item = new FakeStatusBarItem(id);
    created.statusBarItems.push(item);
    return item;
  },
  createTerminal(options: unknown) {
    const terminal = { options, show() {} };
    created.terminals.push(terminal);
    return terminal;
  },
  createOutputChannel(name: string) {
    const channel = new FakeOutputChannel(name);
    created.outputChannels.push(channel);
    return channel;
  },
  showErrorMessage: (message: string, ...items: unknown[]) => record('error', message, items),
  showWarningMessage: (message: string, ...items: unknown[]) => record('warning', message, items),
  showInformationMessage: (message: string, ...items: unknown[]) => record('info', message, items),
  showQuickPick: async (items: { label: string }[] | Promise<{ label: string }[]>, options: Prompt & { kind: 'quickPick' } extends { options: infer O } ? O : never = {}) =>
    ask({ kind: 'quickPick', items: await items, options }),
  showInputBox: async (options: (Prompt & { kind: 'inputBox' })['options'] = {}) => {
    const answer = ask({ kind: 'inputBox', options });
    if (typeof answer === 'string') {
      const problem = options.validateInput?.(answer);
      if (problem) throw new Error(`fake-vscode: the input ${JSON.stringify(answer)} is invalid: ${problem}`);
    }
    return answer as string | undefined;
  },
  withProgress: <T>(options: { title?: string; cancellable?: boolean }, task: (progress: unknown, token: unknown) => Promise<T>) => {
    const cancelled = new EventEmitter<void>();
    const token = { isCancellationRequested: false, onCancellationRequested: cancelled.event };
    const run = {
      options,
      reports: [] as { message?: string; increment?: number }[],
      cancel: () => {
        token.isCancellationRequested = true;
        cancelled.fire();
      },
    };
    created.progress.push(run);
    onDidRecord.fire();
    const progress = {
      report: (value: { message?: string; increment?: number }) => {
        run.reports.push(value);
        onDidRecord.fire();
      },
    };
    return task(progress, token);
  },
  activeTextEditor: undefined as undefined | { document: { uri: Uri } },
  showTextDocument: async (doc: { uri: Uri }) => {
    created.shownDocuments.push(doc.uri.toString());
    onDidRecord.fire();
    return {};
  },
};

function record(severity: 'error' | 'warning' | 'info', message: string, rest: unknown[] = []): Promise<unknown> {
  created.messages.push({ severity, message, items: rest });
  onDidRecord.fire();
  // showWarningMessage(message, {modal, detail}, ...items): the options come first when given.
  const modal = typeof rest[0] === 'object' && rest[0] !== null && (rest[0] as { modal?: boolean }).modal === true;
  const items = rest.filter((i): i is string => typeof i === 'string');
  if (items.length === 0) return Promise.resolve(undefined);
  return Promise.resolve(ask({ kind: 'message', severity, message, modal, items }));
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

/** Settings by full key (`branchbox.stateDir`); tests set them before activating. */
export const settings = new Map<string, unknown>();
const configurationListeners = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

/** Text document content providers by scheme. */
export const contentProviders = new Map<string, { provideTextDocumentContent(uri: Uri): string }>();

/** File contents by path, for workspace.fs. */
export const files = new Map<string, string>();

export const workspace = {
  getConfiguration: (section: string) => ({
    get: <T>(key: string, fallback?: T) => (settings.has(`${section}.${key}`) ? (settings.get(`${section}.${key}`) as T) : fallback),
  }),
  onDidChangeConfiguration: configurationListeners.event,
  workspaceFolders: undefined as undefined | { uri: Uri }[],
  registerTextDocumentContentProvider(scheme: string, provider: { provideTextDocumentContent(uri: Uri): string }) {
    contentProviders.set(scheme, provider);
    return { dispose: () => void contentProviders.delete(scheme) };
  },
  openTextDocument: async (uri: Uri) => ({ uri, getText: () => contentProviders.get(uri.scheme)?.provideTextDocumentContent(uri) ?? '' }),
  /** No document is open in these tests: the config diagnostics have nothing to check. */
  textDocuments: [] as { uri: Uri }[],
  /** Files as the tests put them, by path. */
  fs: {
    readFile: async (uri: Uri) => {
      const text = files.get(uri.fsPath);
      if (text === undefined) throw new Error(`no file ${uri.fsPath}`);
      return new TextEncoder().encode(text);
    },
  },
  createFileSystemWatcher(glob: string) {
    const watcher = { glob, changed: new EventEmitter<Uri>(), created: new EventEmitter<Uri>(), deleted: new EventEmitter<Uri>() };
    created.fileWatchers.push(watcher);
    return { onDidChange: watcher.changed.event, onDidCreate: watcher.created.event, onDidDelete: watcher.deleted.event, dispose() {} };
  },
  onDidOpenTextDocument: new EventEmitter<{ uri: Uri }>().event,
  onDidChangeWorkspaceFolders: new EventEmitter<unknown>().event,
  /** The workspace's files are not searched in these tests: none is found. */
  findFiles: async () => [] as Uri[],
  onDidSaveTextDocument: new EventEmitter<{ uri: Uri }>().event,
};

export enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
  Information = 2,
  Hint = 3,
}

export const CodeActionKind = { QuickFix: 'quickfix' };

export class Range {
  constructor(
    readonly startLine: number,
    readonly startCharacter: number,
    readonly endLine: number,
    readonly endCharacter: number,
  ) {}
}

export class Diagnostic {
  source?: string;
  code?: string;
  constructor(
    readonly range: Range,
    readonly message: string,
    readonly severity: DiagnosticSeverity,
  ) {}
}

/** Diagnostics published, by collection name then document URI. */
export const diagnostics = new Map<string, Map<string, unknown[]>>();
export const languages = {
  createDiagnosticCollection(name: string) {
    const byUri = new Map<string, unknown[]>();
    diagnostics.set(name, byUri);
    return {
      set: (uri: Uri, list: unknown[]) => void byUri.set(uri.toString(), list),
      delete: (uri: Uri) => void byUri.delete(uri.toString()),
      clear: () => byUri.clear(),
      forEach: (fn: (uri: Uri, list: unknown[]) => void) => byUri.forEach((list, uri) => fn(Uri.parse(uri), list)),
      dispose: () => void diagnostics.delete(name),
    };
  },
  registerCodeActionsProvider: () => ({ dispose: () => undefined }),
};

/** Extensions by id (`vscode.git`); tests put fakes here. */
export const installedExtensions = new Map<string, { isActive: boolean; exports: unknown; activate(): Promise<unknown> }>();
export const extensions = {
  getExtension: (id: string) => installedExtensions.get(id),
};

export const env = {
  openExternal: async (uri: Uri) => {
    created.openedExternal.push(uri.toString());
    onDidRecord.fire();
    return true;
  },
  clipboard: {
    text: '',
    async writeText(value: string) {
      env.clipboard.text = value;
      onDidRecord.fire();
    },
  },
};

const registered = new Map<string, (...args: unknown[]) => unknown>();
export const commands = {
  registered,
  registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
    if (registered.has(id)) throw new Error(`command ${id} already registered`);
    registered.set(id, fn);
    return { dispose: () => void registered.delete(id) };
  },
  executeCommand: async (id: string, ...args: unknown[]) => registered.get(id)?.(...args),
};
