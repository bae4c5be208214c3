/**
 * The manifest (package.json `contributes`) and the code agree: every command the code
 * registers is declared and every declared one is registered; menus only name declared
 * commands; the `when` clauses on `viewItem` match the context values the Containers model
 * produces; settings the code reads are declared.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => ({}));

const manifest = JSON.parse(readFileSync(resolve(__dirname, '../../../package.json'), 'utf8')) as {
  main: string;
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category?: string; icon?: string }[];
    menus: Record<string, { command: string; when?: string; group?: string }[]>;
    viewsWelcome: { view: string; contents: string; when?: string }[];
    walkthroughs: { id: string; steps: { id: string; description: string; media: Record<string, string>; completionEvents: string[] }[] }[];
    views: Record<string, { id: string }[]>;
    viewsContainers: { activitybar: { id: string; icon: string }[] };
    configuration: { properties: Record<string, { scope?: string; default?: unknown }> };
  };
};

describe('package.json contributes', () => {
  it('declares exactly the commands the command table registers, each titled "Branchbox: …" with an icon', async () => {
    const { createCommands } = await import('../../../extension/src/commands');
    const registered = Object.keys(createCommands()).sort();
    const declared = manifest.contributes.commands.map((c) => c.command).sort();
    expect(declared).toEqual(registered);
    for (const c of manifest.contributes.commands) {
      expect(c.category).toBe('Branchbox');
      expect(c.icon).toMatch(/^\$\([a-z-]+\)$/);
    }
  });

  it('menus name declared commands only', () => {
    const declared = new Set(manifest.contributes.commands.map((c) => c.command));
    for (const items of Object.values(manifest.contributes.menus)) for (const item of items) expect(declared).toContain(item.command);
  });

  it('viewItem when clauses match the context values of the Containers model', async () => {
    const { contextValueOf } = await import('../../../extension/src/container-model');
    const states = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'] as const;
    // This daemon's container (a Branchbox label, the instance not known) and one that is not (no labels).
    const own = (state: (typeof states)[number]) => contextValueOf({ state, labels: { 'branchbox.managed': 'true' } } as never);
    const other = (state: (typeof states)[number]) => contextValueOf({ state, labels: {} } as never);
    const itemMenus = manifest.contributes.menus['view/item/context']!;
    const enabledFor = (command: string, group: RegExp, contextOf = own) =>
      states.filter((state) =>
        itemMenus.some((m) => m.command === command && group.test(m.group ?? '') && whenMatches(m.when ?? '', contextOf(state))),
      );
    expect(enabledFor('branchbox.container.start', /^inline/)).toEqual(['created', 'exited', 'dead']);
    expect(enabledFor('branchbox.container.stop', /^inline/)).toEqual(['running', 'paused', 'restarting']);
    expect(enabledFor('branchbox.container.attachShell', /./)).toEqual(['running']);
    expect(enabledFor('branchbox.container.remove', /./)).toEqual([...states]);
    expect(enabledFor('branchbox.container.restart', /./)).toEqual(['created', 'running', 'paused', 'restarting', 'exited', 'dead']);
    // Under Other: no inline buttons; the context menu still acts on them (the daemon refuses another daemon's).
    expect(enabledFor('branchbox.container.start', /^inline/, other)).toEqual([]);
    expect(enabledFor('branchbox.container.stop', /^inline/, other)).toEqual([]);
    expect(enabledFor('branchbox.container.attachShell', /^inline/, other)).toEqual([]);
    expect(enabledFor('branchbox.container.stop', /^\d/, other)).toEqual(['running', 'paused', 'restarting']);
    expect(enabledFor('branchbox.container.attachShell', /./, other)).toEqual(['running']);
    expect(enabledFor('branchbox.container.remove', /./, other)).toEqual([...states]);
  });

  it('Deploy and Show Deployment do not share an icon', () => {
    const icon = (command: string) => manifest.contributes.commands.find((c) => c.command === command)?.icon;
    expect(icon('branchbox.deploy')).toBe('$(rocket)');
    expect(icon('branchbox.showDeployment')).not.toBe(icon('branchbox.deploy'));
  });

  it('viewItem when clauses of the Sandboxes view match the context values of the Sandboxes model', async () => {
    const itemMenus = manifest.contributes.menus['view/item/context']!;
    const enabled = (command: string, group: RegExp, viewItem: string) =>
      itemMenus.some((m) => m.command === command && group.test(m.group ?? '') && whenMatches(m.when ?? '', viewItem, 'branchbox.sandboxes'));
    // Context values as the model makes them: sandbox.<state>, service.<route>[.deployed], container.<state>.
    expect(enabled('branchbox.sandbox.delete', /./, 'sandbox.active')).toBe(true);
    expect(enabled('branchbox.sandbox.delete', /./, 'sandbox.deleting')).toBe(true);
    expect(enabled('branchbox.sandbox.openGateway', /^inline/, 'sandbox.active')).toBe(true);
    expect(enabled('branchbox.sandbox.clone', /./, 'sandbox.deleting')).toBe(false);
    expect(enabled('branchbox.route.toBaseline', /^inline/, 'service.sandbox.deployed')).toBe(true);
    expect(enabled('branchbox.route.toBaseline', /./, 'service.baseline.deployed')).toBe(false);
    expect(enabled('branchbox.route.toSandbox', /^inline/, 'service.baseline.deployed')).toBe(true);
    expect(enabled('branchbox.route.toSandbox', /./, 'service.sandbox.deployed')).toBe(false);
    expect(enabled('branchbox.route.toUrl', /./, 'service.sandbox')).toBe(true);
    expect(enabled('branchbox.container.attachShell', /./, 'container.running')).toBe(true);
    expect(enabled('branchbox.container.start', /^inline/, 'container.stopped')).toBe(true);
    expect(enabled('branchbox.sandbox.delete', /./, 'service.sandbox.deployed')).toBe(false);
    expect(enabled('branchbox.sandbox.useForForwards', /./, 'sandbox.active')).toBe(true);
    expect(enabled('branchbox.sandbox.useForForwards', /./, 'sandbox.deleting')).toBe(false);
  });

  it('has the Branchbox view container with the Containers view, activates in a Branchbox or compose folder, and settings are machine-scoped where they run programs', () => {
    expect(manifest.main).toBe('./dist/extension.js');
    expect(manifest.activationEvents).toEqual([
      ...['branchbox.yaml', 'branchbox.yml', 'compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'].map((f) => `workspaceContains:${f}`),
      'onWebviewPanel:branchbox.logs',
      'onWebviewPanel:branchbox.stats',
      'onWebviewPanel:branchbox.deployment',
    ]);
    expect(manifest.contributes.viewsContainers.activitybar).toEqual([{ id: 'branchbox', title: 'Branchbox', icon: 'extension/media/branchbox.svg' }]);
    expect(manifest.contributes.views.branchbox!.map((v) => v.id)).toEqual(['branchbox.sandboxes', 'branchbox.containers', 'branchbox.deployments']);
    const props = manifest.contributes.configuration.properties;
    expect(Object.keys(props).sort()).toEqual([
      'branchbox.daemon.address',
      'branchbox.daemon.autoStart',
      'branchbox.daemon.nodePath',
      'branchbox.daemon.tokenFile',
      'branchbox.defaultSandbox',
      'branchbox.docker.host',
      'branchbox.stateDir',
    ]);
    for (const key of ['branchbox.daemon.nodePath', 'branchbox.daemon.address', 'branchbox.stateDir', 'branchbox.docker.host']) {
      expect(props[key]!.scope).toBe('machine');
    }
    expect(props['branchbox.daemon.autoStart']!.default).toBe(true);
    expect(props['branchbox.daemon.nodePath']!.default).toBe('node');
  });
});

describe('the command palette', () => {
  const palette = new Map(manifest.contributes.menus['commandPalette']!.map((m) => [m.command, m.when ?? '']));

  it('hides the commands that need a tree item, and they do nothing without one', async () => {
    const { createCommands } = await import('../../../extension/src/commands');
    const hidden = [...palette].filter(([, when]) => when === 'false').map(([command]) => command).sort();
    expect(hidden).toEqual(['branchbox.deployment.cancel', 'branchbox.deployment.openLog']);
    const requests: string[] = [];
    const connected = { client: { request: async (method: string) => void requests.push(method) } };
    for (const command of hidden) await createCommands()[command]!.withDaemon!({} as never, connected as never)();
    expect(requests).toEqual([]);
  });

  it('offers the commands on a sandbox, service or container only where one applies (or before the daemon says)', () => {
    const itemCommands = [
      'branchbox.container.start',
      'branchbox.container.stop',
      'branchbox.container.restart',
      'branchbox.container.remove',
      'branchbox.container.attachShell',
      'branchbox.route.toSandbox',
      'branchbox.route.toBaseline',
      'branchbox.route.toUrl',
      'branchbox.route.explain',
      'branchbox.sandbox.resume',
      'branchbox.sandbox.suspend',
      'branchbox.sandbox.delete',
      'branchbox.sandbox.openGateway',
    ];
    for (const command of itemCommands) expect(palette.get(command), command).toMatch(/branchbox\.has\w+/);
    expect(palette.get('branchbox.sandbox.resume')).toBe('branchbox.hasSuspendedSandbox || !branchbox.sandboxesLoaded');
    expect(palette.get('branchbox.container.start')).toBe('branchbox.hasStoppedContainer || !branchbox.connected');
    expect(palette.get('branchbox.createConfig')).toBe('!branchbox.hasBranchboxYaml');
  });

  it('reads only context keys the extension sets', async () => {
    const { paletteKeys, projectKeys } = await import('../../../extension/src/context-keys');
    const known = new Set([...Object.keys(paletteKeys(false, [], [])), ...Object.keys(projectKeys([])), 'branchbox.sandboxesLoaded']);
    const whens = [...palette.values(), ...manifest.contributes.viewsWelcome.map((w) => w.when ?? '')];
    const events = manifest.contributes.walkthroughs.flatMap((w) => w.steps.flatMap((s) => s.completionEvents));
    const keys = [...whens.flatMap((w) => w.match(/branchbox\.[A-Za-z.]+/g) ?? []), ...events.filter((e) => e.startsWith('onContext:')).map((e) => e.slice('onContext:'.length))];
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) expect(known, key).toContain(key);
  });

  it('titles tell the commands apart: no two alike, no bare "Show Log(s)"', () => {
    const titles = manifest.contributes.commands.map((c) => c.title);
    expect(new Set(titles).size).toBe(titles.length);
    expect(titles.filter((t) => /^Show Logs?$/.test(t))).toEqual([]);
    const title = (id: string) => manifest.contributes.commands.find((c) => c.command === id)?.title;
    expect([title('branchbox.showLog'), title('branchbox.showLogs'), title('branchbox.showDaemonLog')]).toEqual(['Show Extension Log', 'Show Container Logs', 'Show Daemon Log']);
  });
});

describe('onboarding', () => {
  const declared = new Set(manifest.contributes.commands.map((c) => c.command));
  const linked = (text: string) => [...text.matchAll(/\(command:([\w.]+)/g)].map((m) => m[1]!);

  it('the walkthrough has its four steps, its media files, and links and completes on declared commands', async () => {
    const { WALKTHROUGH_ID } = await import('../../../extension/src/onboarding-commands');
    const [walkthrough] = manifest.contributes.walkthroughs;
    expect(walkthrough!.id).toBe(WALKTHROUGH_ID);
    expect(walkthrough!.steps.map((s) => s.id)).toEqual(['setup', 'config', 'deploy', 'gateway']);
    for (const step of walkthrough!.steps) {
      for (const file of Object.values(step.media).filter((v) => v.startsWith('extension/'))) expect(existsSync(resolve(__dirname, '../../..', file)), file).toBe(true);
      for (const command of linked(step.description)) expect(declared, command).toContain(command);
      for (const e of step.completionEvents.filter((x) => x.startsWith('onCommand:'))) expect(declared).toContain(e.slice('onCommand:'.length));
    }
    expect(linked(walkthrough!.steps[1]!.description)).toEqual(['branchbox.createConfig', 'branchbox.openConfigReference']);
    expect(readFileSync(resolve(__dirname, '../../../.vscodeignore'), 'utf8')).toMatch(/^!docs\/branchbox-yaml\.md$/m);
  });

  it('the Sandboxes view welcomes with Deploy only where there is a config, with Create branchbox.yaml where there is none', () => {
    const welcome = manifest.contributes.viewsWelcome.filter((w) => w.view === 'branchbox.sandboxes');
    const offering = (command: string) => welcome.filter((w) => linked(w.contents).includes(command)).map((w) => w.when);
    expect(offering('branchbox.deploy')).toEqual(['branchbox.sandboxesLoaded && branchbox.hasConfig']);
    expect(offering('branchbox.createConfig')).toEqual(['!branchbox.hasConfig']);
    for (const w of manifest.contributes.viewsWelcome) for (const command of linked(w.contents)) expect(declared).toContain(command);
  });
});

/** Evaluates the `when` clauses used here: `view == x`, `viewItem == x`, `viewItem =~ /re/`, joined by `&&`. */
function whenMatches(when: string, viewItem: string, view = 'branchbox.containers'): boolean {
  return when.split('&&').every((part) => {
    const clause = part.trim();
    let m = /^view == (\S+)$/.exec(clause);
    if (m) return m[1] === view;
    m = /^viewItem == (\S+)$/.exec(clause);
    if (m) return viewItem === m[1];
    m = /^viewItem =~ \/(.+)\/$/.exec(clause);
    if (m) return new RegExp(m[1]!).test(viewItem);
    throw new Error(`unexpected when clause: ${clause}`);
  });
}
