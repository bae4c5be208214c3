/**
 * The context keys the palette, the welcome content and the walkthrough read
 * (extension/src/context-keys.ts), and when the daemon is first needed (daemon-demand.ts).
 */
import { describe, expect, it, vi } from 'vitest';

const tabs: { input: unknown }[] = [];
const tabListeners: (() => void)[] = [];
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
  };
});

const { paletteKeys, projectKeys } = await import('../../../extension/src/context-keys');
const { startOnFirstNeed } = await import('../../../extension/src/daemon-demand');
const vscode = await import('vscode');

describe('paletteKeys', () => {
  it('says which sandboxes and containers there are, as the palette entries need', () => {
    expect(paletteKeys(false, [], [])).toEqual({
      'branchbox.connected': false,
      'branchbox.hasSandbox': false,
      'branchbox.hasActiveSandbox': false,
      'branchbox.hasSuspendedSandbox': false,
      'branchbox.hasContainer': false,
      'branchbox.hasRunningContainer': false,
      'branchbox.hasStoppedContainer': false,
    });
    const keys = paletteKeys(true, [{ state: 'active' }, { state: 'deleting' }], [{ state: 'exited' }, { state: 'removing' }]);
    expect(keys).toMatchObject({
      'branchbox.connected': true,
      'branchbox.hasSandbox': true,
      'branchbox.hasActiveSandbox': true,
      'branchbox.hasSuspendedSandbox': false,
      'branchbox.hasContainer': true,
      'branchbox.hasRunningContainer': false,
      'branchbox.hasStoppedContainer': true,
    });
    expect(paletteKeys(true, [{ state: 'expired' }], [{ state: 'paused' }])).toMatchObject({
      'branchbox.hasActiveSandbox': false,
      'branchbox.hasSuspendedSandbox': true,
      'branchbox.hasRunningContainer': true,
      'branchbox.hasStoppedContainer': false,
    });
    // A sandbox being deleted is no sandbox to act on.
    expect(paletteKeys(true, [{ state: 'deleting' }], [])['branchbox.hasSandbox']).toBe(false);
  });
});

describe('projectKeys', () => {
  it('a compose file is a config to deploy, only branchbox.yaml/.yml is a branchbox.yaml', () => {
    expect(projectKeys([])).toEqual({ 'branchbox.hasBranchboxYaml': false, 'branchbox.hasConfig': false });
    expect(projectKeys(['docker-compose.yml'])).toEqual({ 'branchbox.hasBranchboxYaml': false, 'branchbox.hasConfig': true });
    expect(projectKeys(['branchbox.yml'])).toEqual({ 'branchbox.hasBranchboxYaml': true, 'branchbox.hasConfig': true });
    expect(projectKeys(['package.json', 'Dockerfile'])).toEqual({ 'branchbox.hasBranchboxYaml': false, 'branchbox.hasConfig': false });
  });
});

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
    expect([a.listeners.length, b.listeners.length, tabListeners.length]).toEqual([0, 0, 0]);
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
});
