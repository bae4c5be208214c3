/**
 * The daemon's first need (extension/src/daemon-demand.ts): activation alone starts nothing; a
 * view shown, a Branchbox panel tab or a project file opened in an editor starts the connection,
 * once; other tabs and files do not.
 */
import { describe, expect, it, vi } from 'vitest';

const tabs: { input: unknown }[] = [];
const tabListeners: (() => void)[] = [];
type Doc = { uri: { scheme: string; fsPath: string } };
const textDocuments: Doc[] = [];
const openListeners: ((d: Doc) => void)[] = [];

vi.mock('vscode', () => {
  class TabInputWebview {
    constructor(readonly viewType: string) {}
  }
  return {
    TabInputWebview,
    window: {
      tabGroups: {
        get all() {
          return [{ tabs }];
        },
        onDidChangeTabs: (fn: () => void) => {
          tabListeners.push(fn);
          return { dispose: () => tabListeners.splice(tabListeners.indexOf(fn), 1) };
        },
      },
    },
    workspace: {
      textDocuments,
      onDidOpenTextDocument: (fn: (d: Doc) => void) => {
        openListeners.push(fn);
        return { dispose: () => openListeners.splice(openListeners.indexOf(fn), 1) };
      },
    },
  };
});

const { startOnFirstNeed } = await import('../../../extension/src/daemon-demand');
const vscode = await import('vscode');
const file = (fsPath: string, scheme = 'file'): Doc => ({ uri: { scheme, fsPath } });
const open = (d: Doc) => [...openListeners].forEach((l) => l(d));

describe('startOnFirstNeed', () => {
  function view(visible = false) {
    const listeners: ((e: { visible: boolean }) => void)[] = [];
    return {
      visible,
      onDidChangeVisibility: (fn: (e: { visible: boolean }) => void) => {
        listeners.push(fn);
        return { dispose: () => listeners.splice(listeners.indexOf(fn), 1) };
      },
      show(v: boolean) {
        this.visible = v;
        for (const l of [...listeners]) l({ visible: v });
      },
      listeners,
    };
  }
  const counter = () => {
    const c = { starts: 0, start: () => void c.starts++ };
    return c;
  };

  it('does not start the daemon at activation; the first view shown does, once', () => {
    const [a, b] = [view(), view()];
    const connection = counter();
    const messages: string[] = [];
    startOnFirstNeed(connection, [a, b] as never, (m) => messages.push(m));
    expect(connection.starts).toBe(0);
    b.show(false);
    expect(connection.starts).toBe(0);
    b.show(true);
    a.show(true);
    expect(connection.starts).toBe(1);
    expect([a.listeners.length, b.listeners.length, tabListeners.length, openListeners.length]).toEqual([0, 0, 0, 0]);
    expect(messages).toEqual(['Connecting to branchboxd: a view opened']);
  });

  it('starts at once when a view is already visible, or when a Branchbox panel is or becomes open', () => {
    const visible = counter();
    startOnFirstNeed(visible, [view(true)] as never, () => undefined);
    expect(visible.starts).toBe(1);

    const panel = counter();
    startOnFirstNeed(panel, [view()] as never, () => undefined);
    tabs.push({ input: new vscode.TabInputWebview('mainThreadWebview-markdown.preview') });
    tabListeners.forEach((l) => l());
    expect(panel.starts).toBe(0);
    tabs.push({ input: new vscode.TabInputWebview('mainThreadWebview-branchbox.logs') });
    [...tabListeners].forEach((l) => l());
    expect(panel.starts).toBe(1);

    const restored = counter();
    startOnFirstNeed(restored, [view()] as never, () => undefined);
    expect(restored.starts).toBe(1);
    tabs.splice(0);
  });

  it('starts when a project file is opened (not another file, nor one that is not on disk), or at once when one is open', () => {
    const opened = counter();
    const messages: string[] = [];
    startOnFirstNeed(opened, [view()] as never, (m) => messages.push(m));
    open(file('/repo/README.md'));
    open(file('/repo/branchbox.yaml', 'git'));
    expect(opened.starts).toBe(0);
    open(file('/repo/compose.yaml'));
    open(file('/repo/branchbox.yaml'));
    expect(opened.starts).toBe(1);
    expect(messages).toEqual(['Connecting to branchboxd: a project file opened']);

    textDocuments.push(file('/repo/branchbox.yml'));
    const already = counter();
    startOnFirstNeed(already, [view()] as never, () => undefined);
    expect(already.starts).toBe(1);
    textDocuments.splice(0);
  });
});
