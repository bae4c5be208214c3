/**
 * The sandbox commands of the activated extension (extension/src/extension.ts) against a real
 * daemon, engine and fixture repository, with a recording `vscode` in place of VS Code and the
 * built-in git extension faked to report the fixture's `feature/x`: Deploy Current Branch into
 * a new sandbox (quick picks and the name answered by a scripted user), the Sandboxes view
 * showing both services `feature/x@sha` with running containers, Route to Baseline, the
 * Deployments view, Explain Route, and Delete Sandbox after its confirmation → the view empty.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SandboxesTree } from '../../../extension/src/sandboxes-tree';
import type { DeploymentsTree } from '../../../extension/src/deployments-tree';
import { startTestDaemon, type TestDaemon } from '../../helpers/daemon';
import { TEST_LABEL, docker, testRun } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import * as fake from '../../unit/extension/fake-vscode';

vi.mock('vscode', () => import('../../unit/extension/fake-vscode'));
const extension = await import('../../../extension/src/extension');

const run = testRun('bbext');
const suffix = randomBytes(3).toString('hex');
const PROJECT = `ext${suffix}`;
const SANDBOX = `ext-${suffix}`;
let daemon: TestDaemon;
let repo: FixtureRepo;
const context = {
  subscriptions: [] as { dispose(): void }[],
  extensionPath: resolve(__dirname, '../../..'),
  extensionUri: fake.Uri.file(resolve(__dirname, '../../..')),
  extension: { packageJSON: { version: '0.1.0-test' } },
};

const provider = <T>(viewId: string) => fake.created.treeViews.find((v) => v.id === viewId)!.options.treeDataProvider as T;
const command = (id: string, ...args: unknown[]) => fake.commands.registered.get(id)!(...args);

/** Resolves once `predicate` holds for the Sandboxes model, re-checked on each of its changes. */
function sandboxesUntil(tree: SandboxesTree, predicate: () => boolean): Promise<void> {
  return new Promise((done) => {
    if (predicate()) return done();
    const sub = tree.onDidChangeModel(() => {
      if (!predicate()) return;
      sub.dispose();
      done();
    });
  });
}

beforeAll(async () => {
  repo = createFixtureRepo({ project: PROJECT });
  daemon = await startTestDaemon({ env: { BRANCHBOX_EXTRA_LABELS: `${TEST_LABEL}=${run.runId}` } });
  fake.settings.set('branchbox.daemon.address', daemon.url);
  fake.settings.set('branchbox.daemon.tokenFile', join(daemon.stateDir, 'runtime.json'));
  const head = { name: 'feature/x', commit: repo.commitOf('feature/x') };
  const none = () => ({ dispose: () => undefined });
  const api = {
    repositories: [{ rootUri: fake.Uri.file(repo.root), state: { HEAD: head, workingTreeChanges: [], onDidChange: none } }],
    onDidOpenRepository: none,
    onDidCloseRepository: none,
  };
  fake.installedExtensions.set('vscode.git', { isActive: true, exports: { getAPI: () => api }, activate: async () => ({ getAPI: () => api }) });
  extension.activate(context as never);
  fake.created.treeViews.find((v) => v.id === 'branchbox.sandboxes')!.setVisible(true); // the first need of the daemon
});

afterAll(async () => {
  for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
  extension.deactivate();
  if (daemon) {
    const client = await daemon.connect('cleanup').catch(() => undefined);
    await client?.request('sandbox/delete', { name: SANDBOX }).catch(() => undefined);
    await client?.closeSocket();
    await daemon.stop();
    await daemon.dispose();
  }
  await run.cleanup();
  const images = await docker.listImages({ filters: JSON.stringify({ label: [`branchbox.project=${PROJECT}`] }) });
  await Promise.all(images.map((i) => docker.getImage(i.Id).remove({ force: true }).catch(() => undefined)));
  repo?.dispose();
});

describe('the sandbox commands against a real daemon', () => {
  it('Deploy Current Branch deploys feature/x into a new sandbox; the Sandboxes view shows both services feature/x@sha', async () => {
    const sandboxes = provider<SandboxesTree>('branchbox.sandboxes');
    const view = fake.created.treeViews.find((v) => v.id === 'branchbox.sandboxes')!;
    await fake.until(() => view.messages.includes('Loading sandboxes…') && view.message === undefined);
    expect(sandboxes.getChildren()).toEqual([]);

    fake.ui.respond = (p) => {
      if (p.kind === 'quickPick' && p.options.canPickMany) return p.items; // every service
      if (p.kind === 'quickPick' && p.options.title?.endsWith(': sandbox')) return p.items.find((i) => i.label === '$(add) Create new…');
      if (p.kind === 'inputBox' && p.options.title === 'New sandbox') {
        expect(p.options.value).toBe('feature-x');
        return SANDBOX;
      }
      return undefined;
    };
    await command('branchbox.deploy');
    expect(fake.created.messages.filter((m) => m.severity === 'error')).toEqual([]);
    const sha = repo.commitOf('feature/x').slice(0, 7);
    expect(fake.created.messages.at(-1)!.message).toBe(`Deployed feature/x@${sha} to ${SANDBOX}: account, payment running.`);

    // The notification named the stages as they went, and could be cancelled.
    const progress = fake.created.progress.find((p) => p.options.title === `Deploying feature/x@${sha} to ${SANDBOX}`)!;
    expect(progress.options.cancellable).toBe(true);
    const texts = progress.reports.map((r) => r.message);
    expect(texts.some((t) => /account: (Building the image|Checking health|Starting the container)/.test(t ?? ''))).toBe(true);
    expect(texts.at(-1)).toBe('account: running · payment: running');

    const key = `sandbox:${SANDBOX}`;
    const describe = () => sandboxes.model.children(key).map((r) => [r.label, r.description]);
    await sandboxesUntil(sandboxes, () => JSON.stringify(describe()) === JSON.stringify([
      ['account', `feature/x@${sha} → sandbox`],
      ['payment', `feature/x@${sha} → sandbox`],
    ]));
    await sandboxesUntil(sandboxes, () => sandboxes.model.health(SANDBOX) === 'healthy');
    const row = sandboxes.model.row(key)!;
    expect(row.description).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The tree items VS Code would draw, with stable ids.
    const [node] = sandboxes.getChildren();
    expect(sandboxes.getTreeItem(node!)).toMatchObject({ id: key, label: SANDBOX, contextValue: 'sandbox.active', description: row.description });
    const status = fake.created.statusBarItems.find((i) => i.id === 'branchbox.sandbox')!;
    await fake.until(() => status.text === `$(pass-filled) ${SANDBOX}`);
  });

  it('Route to Baseline on the payment row routes it; Explain Route says where a path goes; the Deployments view lists both deployments', async () => {
    const sandboxes = provider<SandboxesTree>('branchbox.sandboxes');
    const payment = sandboxes.getChildren(sandboxes.getChildren()[0]).find((n) => n.kind === 'service' && n.service === 'payment')!;
    await command('branchbox.route.toBaseline', payment);
    await sandboxesUntil(sandboxes, () => sandboxes.model.row(`service:${SANDBOX}/payment`)!.description.startsWith('→ baseline'));
    expect(sandboxes.model.row(`service:${SANDBOX}/payment`)!.contextValue).toBe('service.baseline.deployed');
    expect(fake.created.messages.at(-1)!.message).toMatch(new RegExp(`^payment of ${SANDBOX} now goes to baseline http://127\\.0\\.0\\.1:9102`));

    fake.ui.respond = (p) => (p.kind === 'inputBox' ? '/payment/x' : undefined);
    await command('branchbox.route.explain', { kind: 'sandbox', key: `sandbox:${SANDBOX}`, name: SANDBOX });
    // It opens a read-only document: where the path goes, by which route, and why.
    const explained = fake.created.shownDocuments.at(-1)!;
    expect(explained).toBe(`branchbox:/routes/${SANDBOX}.route.txt`);
    const explanation = fake.contentProviders.get('branchbox')!.provideTextDocumentContent(fake.Uri.parse(explained));
    expect(explanation).toMatch(new RegExp(`^Route of /payment/x in sandbox ${SANDBOX}\n`));
    expect(explanation).toMatch(/Goes to +baseline http:\/\/127\.0\.0\.1:9102\n/);
    expect(explanation).toMatch(/By route +\/payment → payment\n/);

    const deployments = provider<DeploymentsTree>('branchbox.deployments');
    const rows = deployments.model.list().filter((d) => d.sandbox === SANDBOX);
    expect(rows.map((d) => [d.service, d.status, d.ref]).sort()).toEqual([
      ['account', 'running', 'feature/x'],
      ['payment', 'running', 'feature/x'],
    ]);
    // Its log opens in a read-only document.
    await command('branchbox.deployment.openLog', { kind: 'deployment', id: rows[0]!.id });
    const uri = fake.created.shownDocuments.at(-1)!;
    expect(uri).toMatch(/^branchbox:\/deployments\/(account|payment)-[0-9a-f]{8}\.log$/);
    const text = fake.contentProviders.get('branchbox')!.provideTextDocumentContent(fake.Uri.parse(uri));
    expect(text).toMatch(/^Deployment .* into ext-\w+, running\n/);
  });

  it('Delete Sandbox asks first; confirmed, the sandbox leaves the view', async () => {
    const sandboxes = provider<SandboxesTree>('branchbox.sandboxes');
    const node = sandboxes.getChildren()[0]!;
    fake.ui.respond = () => undefined; // dismissed: nothing happens
    await command('branchbox.sandbox.delete', node);
    expect(sandboxes.model.size).toBe(1);
    fake.ui.respond = (p) => (p.kind === 'message' && p.modal && p.message === `Delete sandbox ${SANDBOX}?` ? 'Delete' : undefined);
    await command('branchbox.sandbox.delete', node);
    await sandboxesUntil(sandboxes, () => sandboxes.model.size === 0);
    expect(sandboxes.getChildren()).toEqual([]);
    expect(fake.created.messages.filter((m) => m.severity === 'error')).toEqual([]);
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`branchbox.sandbox=${SANDBOX}`] }) });
    expect(containers).toEqual([]);
  });
});
