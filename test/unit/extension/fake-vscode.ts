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
  messages: [] as { severity: 'error' | 'warning' | 'info'; message: string }[],
};

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
  dispose(): void {}
}

export const window = {
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
  showErrorMessage: (message: string) => record('error', message),
  showWarningMessage: (message: string) => record('warning', message),
  showInformationMessage: (message: string) => record('info', message),
  showQuickPick: async () => undefined,
  withProgress: <T>(_options: unknown, task: () => Promise<T>) => task(),
};

function record(severity: 'error' | 'warning' | 'info', message: string): Promise<undefined> {
  created.messages.push({ severity, message });
  onDidRecord.fire();
  return Promise.resolve(undefined);
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

/** Settings by full key (`branchbox.stateDir`); tests set them before activating. */
export const settings = new Map<string, unknown>();
const configurationListeners = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

export const workspace = {
  getConfiguration: (section: string) => ({
    get: <T>(key: string, fallback?: T) => (settings.has(`${section}.${key}`) ? (settings.get(`${section}.${key}`) as T) : fallback),
  }),
  onDidChangeConfiguration: configurationListeners.event,
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
