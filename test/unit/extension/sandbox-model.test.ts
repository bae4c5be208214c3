/**
 * The Sandboxes and Deployments models against a recorded session of a real daemon
 * (fixtures/sandbox-session.json, see record-sandbox-session.ts): the notifications replayed
 * in order give the rows the view shows at each point — a sandbox created, feature/x deployed
 * into it (spinner, then both services `feature/x@sha` with their containers healthy), payment
 * routed to the baseline, a failed build, the sandbox deleted.
 */
import { describe, expect, it, vi } from 'vitest';
import type { DeployProgress, DeploymentRecord } from '../../../schemas/src/deploy';
import type { SandboxEvent, Sandbox } from '../../../schemas/src/sandbox';
import { ContainerTreeModel, type EventItem } from '../../../extension/src/container-model';
import { DeploymentListModel, advanceRun, newRunState, progressPercent, progressText, runIsFinal, timeAgo } from '../../../extension/src/deployment-model';
import { SandboxTreeModel, branchAtCommit, gatewayUrlOf, portsLong, portsShort } from '../../../extension/src/sandbox-model';
import { resultViolations } from '../../../daemon/src/rpc/validation';
import { servingContainerName } from '../../../schemas/src/docker-names';
import { sandboxStatusOf } from '../../../extension/src/sandbox-status-bar';
import session from './fixtures/sandbox-session.json';

vi.mock('vscode', () => ({}));

type Message = { kind: 'result' | 'notification'; method: string; params?: unknown; result?: unknown };
const messages = session as Message[];
const items = <T>(m: Message) => (m.params as { items: T[] }).items;
const resultOf = <T>(method: string, nth = 0) => messages.filter((m) => m.kind === 'result' && m.method === method)[nth]!.result as T;
/** The sandbox with both services deployed (`sandbox/get` after the deploy). */
const COMMIT = resultOf<Sandbox>('sandbox/get');

/** Replays the recording into the models, calling `at` after each message. */
function replay(at?: (i: number, model: SandboxTreeModel, containers: ContainerTreeModel) => void) {
  const model = new SandboxTreeModel();
  const containers = new ContainerTreeModel();
  const deployments = new DeploymentListModel();
  model.replaceSandboxes(resultOf<{ sandboxes: Sandbox[] }>('sandbox/list').sandboxes);
  messages.forEach((m, i) => {
    if (m.kind === 'notification' && m.method === 'sandbox/event') model.applySandboxEvents(items<SandboxEvent>(m));
    if (m.kind === 'notification' && m.method === 'deploy/progress') {
      model.applyProgress(items<DeployProgress>(m));
      deployments.applyProgress(items<DeployProgress>(m));
    }
    if (m.kind === 'notification' && m.method === 'events/event') {
      containers.applyEvents(items<EventItem>(m));
      model.setContainers(containers.all());
    }
    at?.(i, model, containers);
  });
  return { model, containers, deployments };
}

const firstIndex = (pred: (m: Message) => boolean) => messages.findIndex(pred);

describe('SandboxTreeModel, replaying a recorded session', () => {
  const sha = COMMIT.services[0]!.commit!.slice(0, 7);

  it('shows the sandbox with its gateway URL as soon as it is created, and a spinner while deploying', () => {
    const created = firstIndex((m) => m.method === 'sandbox/event');
    const started = firstIndex((m) => m.method === 'deploy/progress');
    const snapshots: Record<string, ReturnType<SandboxTreeModel['children']>> = {};
    replay((i, model) => {
      if (i === created) snapshots.created = structuredClone(model.children());
      if (i === started) snapshots.deploying = structuredClone(model.children('sandbox:rec-demo'));
    });
    expect(snapshots.created!.map((r) => [r.label, r.description, r.contextValue])).toEqual([['rec-demo', 'http://127.0.0.1:41138', 'sandbox.active']]);
    // Before any service switched over, the deploying services are rows of their own, spinning.
    expect(snapshots.deploying!.map((r) => [r.label, r.icon.id])).toEqual([
      ['account', 'sync~spin'],
      ['payment', 'sync~spin'],
    ]);
  });

  it('after the deploy: both services feature/x@sha routed to the sandbox, each with its running container', () => {
    const afterRoute = firstIndex((m) => m.kind === 'result' && m.method === 'route/set');
    let services: ReturnType<SandboxTreeModel['children']> = [];
    let containerRow;
    let health = '';
    let status;
    replay((i, model) => {
      if (i === afterRoute - 1) {
        services = model.children('sandbox:rec-demo');
        containerRow = model.children('service:rec-demo/account')[0];
        health = model.health('rec-demo');
        status = sandboxStatusOf(model, 'rec-demo');
      }
    });
    expect(services.map((r) => [r.label, r.description, r.contextValue])).toEqual([
      ['account', `feature/x@${sha} → sandbox`, 'service.sandbox.deployed'],
      ['payment', `feature/x@${sha} → sandbox`, 'service.sandbox.deployed'],
    ]);
    expect(containerRow).toMatchObject({ label: 'sandbox-rec-demo-account', contextValue: 'container.running', key: 'container:rec-demo/account' });
    expect(health).toBe('healthy');
    expect(status).toEqual({ text: '$(pass-filled) rec-demo', tooltip: 'Sandbox rec-demo: healthy (account, payment)' });
  });

  it('routes payment to the baseline, then removes the sandbox when it is deleted', () => {
    const { model } = replay();
    expect(model.size).toBe(0);
    expect(model.children()).toEqual([]);
    const beforeDelete = firstIndex((m) => m.kind === 'result' && m.method === 'sandbox/delete');
    let payment;
    replay((i, model) => {
      if (i === beforeDelete - 3) payment = model.row('service:rec-demo/payment');
    });
    // Where its requests go leads the row, with an icon of its own (not its container's).
    expect(payment).toMatchObject({ description: `→ baseline feature/x@${sha}`, contextValue: 'service.baseline.deployed', icon: { id: 'cloud', color: 'charts.blue' } });
    expect(payment!.tooltip).toMatch(/\| Route \| baseline \\\(requests go to the shared baseline/);
  });

  it('a container row\'s tooltip says how long it has been up as of the clock; a later clock changes only such rows', () => {
    const [account] = deployedContainers();
    const model = new SandboxTreeModel();
    model.replaceSandboxes([COMMIT]);
    model.setContainers(deployedContainers());
    const started = Date.parse(account!.startedAt!);
    model.retime(started + 500);
    expect(model.row('container:rec-demo/account')!.tooltip).toMatch(/\| Status \| Up Less than a second/);
    const change = model.retime(started + 5 * 60_000);
    expect(model.row('container:rec-demo/account')!.tooltip).toMatch(/\| Status \| Up 5 minutes/);
    expect(change.root).toBe(false);
    expect([...change.rows].every((k) => k.startsWith('container:'))).toBe(true);
  });

  it('a suspended sandbox: its services and containers say "suspended", not "exited (137)"', () => {
    const containers = deployedContainers().map((c) => ({ ...c, state: 'exited' as const, exitCode: 137, health: undefined, ports: [] }));
    const model = new SandboxTreeModel();
    model.replaceSandboxes([{ ...COMMIT, state: 'suspended' }]);
    model.setContainers(containers);
    const account = model.row('service:rec-demo/account')!;
    expect(account.description).toBe(`suspended feature/x@${sha} → sandbox`);
    expect(account.icon).toEqual({ id: 'debug-pause', color: 'disabledForeground' });
    const container = model.row('container:rec-demo/account')!;
    expect(container.description).toBe('suspended');
    expect(container.icon).toEqual({ id: 'debug-pause', color: 'disabledForeground' });
    // Resumed but the container still exited: the crash shows as one.
    model.replaceSandboxes([COMMIT]);
    expect(model.row('container:rec-demo/account')!.description).toBe('exited (137)');
    expect(model.sandboxFacts().get('rec-demo')!.state).toBe('active');
  });

  it('reports only the rows that changed', () => {
    const model = new SandboxTreeModel();
    const sandbox = structuredClone(COMMIT);
    expect(model.replaceSandboxes([sandbox]).root).toBe(true);
    const moved = { ...sandbox, services: sandbox.services.map((s) => (s.service === 'payment' ? { ...s, route: 'baseline' as const } : s)) };
    const change = model.applySandboxEvents([{ kind: 'updated', name: sandbox.name, sandbox: moved }]);
    expect(change).toEqual({ root: false, rows: new Set(['service:rec-demo/payment']) });
    expect(model.applySandboxEvents([{ kind: 'updated', name: sandbox.name, sandbox: moved }])).toEqual({ root: false, rows: new Set() });
    expect(model.applySandboxEvents([{ kind: 'deleted', name: sandbox.name }]).root).toBe(true);
  });

  /** The services' containers as recorded right after the deploy. */
  function deployedContainers(): ReturnType<ContainerTreeModel['all']> {
    const deployed = firstIndex((m) => m.kind === 'result' && m.method === 'sandbox/get');
    let all: ReturnType<ContainerTreeModel['all']> = [];
    replay((i, _model, containers) => {
      if (i === deployed) all = COMMIT.services.map((v) => containers.get(v.containerId!)!);
    });
    return all;
  }

  it('health: degraded when one service container is not running, unhealthy when none is', () => {
    const all = deployedContainers();
    expect(all.map((c) => c.state)).toEqual(['running', 'running']);
    const model = new SandboxTreeModel();
    model.replaceSandboxes([COMMIT]);
    model.setContainers(all.map((c, i) => (i === 0 ? { ...c, state: 'restarting' as const } : c)));
    expect(model.health('rec-demo')).toBe('degraded');
    expect(sandboxStatusOf(model, 'rec-demo').background).toBe('warning');
    model.setContainers(all.map((c) => ({ ...c, state: 'exited' as const, exitCode: 1 })));
    expect(model.health('rec-demo')).toBe('unhealthy');
  });

  it("health: the daemon's verdict over the containers' states while the sandbox is active, with the reasons in the tooltips", () => {
    const model = new SandboxTreeModel();
    model.replaceSandboxes([COMMIT]);
    model.setContainers(deployedContainers());
    expect(model.health('rec-demo')).toBe('healthy'); // from the containers: both run

    const [account, payment] = COMMIT.services.map((v) => v.service);
    const service = (name: string, state: 'healthy' | 'unhealthy', reason?: string) => ({
      service: name,
      state,
      restartCount: state === 'healthy' ? 0 : 3,
      failures: state === 'healthy' ? 0 : 3,
      checkedAt: '2026-01-01T00:00:00Z',
      ...(reason ? { reason } : {}),
    });
    const sick = { sandbox: 'rec-demo', state: 'degraded' as const, at: '2026-01-01T00:00:00Z', services: [service(account!, 'unhealthy', 'GET /health answered 500'), service(payment!, 'healthy')] };
    model.applyHealth([sick]);
    expect(model.health('rec-demo')).toBe('degraded'); // the probe sees what Docker does not
    expect(model.row('sandbox:rec-demo')!.tooltip).toContain(`| Health of ${account} | unhealthy — GET /health answered 500 · restarted 3× |`);
    expect(model.row('sandbox:rec-demo')!.tooltip).not.toContain(`Health of ${payment}`);
    expect(model.row(`service:rec-demo/${account}`)!.tooltip).toContain('unhealthy — GET /health answered 500');

    // A verdict about no service (before a first check) is none; so is one of a sandbox that is not active.
    model.applyHealth([{ ...sick, services: [] }]);
    expect(model.health('rec-demo')).toBe('healthy');
    model.applyHealth([sick]);
    model.applySandboxEvents([{ kind: 'updated', name: 'rec-demo', sandbox: { ...COMMIT, state: 'suspended' } }]);
    expect(model.row('sandbox:rec-demo')!.tooltip).not.toContain('Health of');
    // Resumed: the verdict it carries (none until checked again) replaces the old one.
    model.applySandboxEvents([{ kind: 'updated', name: 'rec-demo', sandbox: COMMIT }]);
    expect(model.health('rec-demo')).toBe('healthy');
    model.applySandboxEvents([{ kind: 'updated', name: 'rec-demo', sandbox: { ...COMMIT, health: sick } }]);
    expect(model.health('rec-demo')).toBe('degraded');
  });

  it('a compose sandbox: published ports in the row and its tooltip; a job completed with its own icon, counted healthy', () => {
    const [account, payment] = deployedContainers();
    const [a, p] = COMMIT.services;
    const sandbox: Sandbox = {
      ...COMMIT,
      services: [
        { ...a!, service: 'db', ports: [{ container: 5432, protocol: 'tcp', hostPort: 47123, published: 5432 }] },
        { ...p!, service: 'migrate', job: true, route: 'sandbox' },
      ],
    };
    expect(resultViolations('sandbox/get', sandbox)).toEqual([]);
    const model = new SandboxTreeModel();
    model.replaceSandboxes([sandbox]);
    model.setContainers([account!, { ...payment!, state: 'exited', exitCode: 0 }]);
    const db = model.row('service:rec-demo/db')!;
    expect(db.description).toMatch(/ 5432→47123 → sandbox$/);
    expect(db.tooltip).toContain(String.raw`| Ports | 5432→127\.0\.0\.1:47123 \(compose asked 5432\) |`);
    const job = model.row('service:rec-demo/migrate')!;
    expect(job.icon).toEqual({ id: 'pass', color: 'charts.green' });
    expect(job.description).toMatch(/^job completed /);
    expect(job.tooltip).toContain(String.raw`| Job | completed \(exit code 0\); runs to completion on each deploy |`);
    expect(model.health('rec-demo')).toBe('healthy');

    model.setContainers([account!, { ...payment!, state: 'exited', exitCode: 3 }]);
    expect(model.row('service:rec-demo/migrate')!).toMatchObject({ icon: { id: 'error', color: 'charts.red' } });
    expect(model.row('service:rec-demo/migrate')!.description).toMatch(/^job exited 3 /);
    expect(model.health('rec-demo')).toBe('degraded');
  });

  it('ports: the short form shows two and counts the rest; udp is marked', () => {
    const ports = [
      { container: 5432, protocol: 'tcp' as const, hostPort: 47123 },
      { container: 53, protocol: 'udp' as const, hostPort: 47124, published: 53 },
      { container: 80, protocol: 'tcp' as const, hostPort: 47125 },
    ];
    expect(portsShort(ports)).toBe('5432→47123 53/udp→47124 +1');
    expect(portsShort(undefined)).toBe('');
    expect(portsLong(ports)).toEqual(['5432→127.0.0.1:47123', '53/udp→127.0.0.1:47124 (compose asked 53)', '80→127.0.0.1:47125']);
  });

  it('names a container not seen yet by the serving-container rule of schemas/src/docker-names.ts', () => {
    const model = new SandboxTreeModel();
    model.replaceSandboxes([COMMIT]);
    const row = model.children(`service:${COMMIT.name}/account`)[0];
    expect(row).toMatchObject({ kind: 'container', description: 'not seen yet' });
    expect(row!.label).toBe(servingContainerName(COMMIT.name, 'account'));
    expect(row!.label).toBe(`sandbox-${COMMIT.name}_account`);
  });

  it('helpers: branch@sha and the gateway URL', () => {
    expect(branchAtCommit('feature/x', '60536f0639c8')).toBe('feature/x@60536f0');
    expect(branchAtCommit(undefined, '60536f0639c8')).toBe('@60536f0');
    expect(gatewayUrlOf(COMMIT)).toBe('http://127.0.0.1:41138');
  });
});

describe('DeploymentListModel and the deploy progress text, from the same recording', () => {
  it('pieces deployments together from progress: status, stages, diagnosis', () => {
    const { deployments } = replay();
    const list = deployments.list();
    expect(list.map((d) => [d.service, d.status])).toEqual([
      ['account', 'failed'],
      ['account', 'stopped'],
      ['payment', 'stopped'],
    ]);
    expect(list[0]!.diagnosis).toMatch(/^build failed: /);
    expect(list[0]!.stages.map((s) => [s.stage, s.outcome])).toEqual([
      ['prepare', 'ok'],
      ['build', 'failed'],
    ]);
    const row = deployments.row(list[0]!.id)!;
    expect(row).toMatchObject({ label: 'account', icon: { id: 'error' }, contextValue: 'deployment.final' });
  });

  it('shows deploy/list records as rows: status and how long ago first (what 300 px keeps), then branch@sha, duration', () => {
    const model = new DeploymentListModel();
    const records = resultOf<{ deployments: DeploymentRecord[] }>('deploy/list').deployments;
    model.replaceAll(records);
    const [failed] = model.list();
    model.retime(Date.parse(failed!.createdAt) + 3 * 60_000 + 5_000);
    expect(model.row(failed!.id)!.description).toMatch(/^failed · 3 min ago · broken-build@[0-9a-f]{7} · [\d.]+ (ms|s)$/);
    expect(model.row(failed!.id)!.tooltip).toMatch(/\| Requested \| .* UTC \\\(3 min ago\\\) \|/);
  });

  it('groups deployments by sandbox, the one deployed to last first, each newest first', () => {
    const model = new DeploymentListModel();
    const [one] = resultOf<{ deployments: DeploymentRecord[] }>('deploy/list').deployments;
    const at = (min: number) => new Date(Date.parse('2026-01-01T10:00:00Z') + min * 60_000).toISOString();
    model.replaceAll([
      { ...one!, id: 'd1', sandbox: 'alpha', service: 'account', createdAt: at(0), status: 'running' },
      { ...one!, id: 'd2', sandbox: 'beta', service: 'account', createdAt: at(5), status: 'failed' },
      { ...one!, id: 'd3', sandbox: 'alpha', service: 'payment', createdAt: at(10), status: 'building' },
    ]);
    expect(model.sandboxes()).toEqual(['alpha', 'beta']);
    expect(model.list('alpha').map((d) => d.id)).toEqual(['d3', 'd1']);
    expect(model.list('beta').map((d) => d.id)).toEqual(['d2']);
    model.retime(Date.parse(at(12)));
    expect(model.group('alpha')).toMatchObject({ label: 'alpha', description: '1 in progress · latest 2 min ago · 2 deployments', icon: { id: 'sync~spin' } });
    expect(model.group('beta')).toMatchObject({ description: 'latest 7 min ago · 1 deployment', icon: { id: 'package' } });
    expect(model.group('gamma')).toBeUndefined();
  });

  it('words "… ago" again as time passes: only rows whose words changed are reported', () => {
    const model = new DeploymentListModel();
    const [one] = resultOf<{ deployments: DeploymentRecord[] }>('deploy/list').deployments;
    const t = Date.parse('2026-01-01T10:00:00Z');
    model.replaceAll([
      { ...one!, id: 'old', sandbox: 'alpha', createdAt: new Date(t - 3 * 3600_000).toISOString() },
      { ...one!, id: 'new', sandbox: 'beta', createdAt: new Date(t).toISOString() },
    ]);
    model.retime(t + 5_000);
    expect(model.row('new')!.description).toContain('just now');
    const change = model.retime(t + 65_000);
    expect(model.row('new')!.description).toContain('1 min ago');
    expect([...change.deployments]).toEqual(['new']);
    expect([...change.sandboxes]).toEqual(['beta']);
    expect(model.retime(t + 70_000)).toEqual({ deployments: new Set(), sandboxes: new Set() });
  });

  it('a suspended sandbox\'s running deployments say "suspended" (they keep their containers but serve nothing); resumed, "running" again', () => {
    const model = new DeploymentListModel();
    const [one] = resultOf<{ deployments: DeploymentRecord[] }>('deploy/list').deployments;
    model.replaceAll([
      { ...one!, id: 'run', sandbox: 'alpha', status: 'running' },
      { ...one!, id: 'fail', sandbox: 'alpha', status: 'failed' },
      { ...one!, id: 'other', sandbox: 'beta', status: 'running' },
    ]);
    const change = model.setSandboxStates(new Map([['alpha', 'suspended'], ['beta', 'active']]));
    expect([...change.deployments]).toEqual(['run']);
    expect(model.row('run')).toMatchObject({ description: expect.stringMatching(/^suspended · /), icon: { id: 'debug-pause', color: 'disabledForeground' } });
    expect(model.row('run')!.tooltip).toContain('| Status | running, its sandbox suspended \\(Resume Sandbox serves it again\\) |');
    expect(model.row('fail')!.description).toMatch(/^failed · /);
    expect(model.row('other')!.description).toMatch(/^running · /);
    model.setSandboxStates(new Map([['alpha', 'active']]));
    expect(model.row('run')).toMatchObject({ description: expect.stringMatching(/^running · /), icon: { id: 'pass-filled' } });
  });

  it('timeAgo: seconds, minutes, hours, days', () => {
    const now = Date.parse('2026-01-02T12:00:00Z');
    const ago = (ms: number) => timeAgo(new Date(now - ms).toISOString(), now);
    expect([ago(3_000), ago(42_000), ago(3 * 60_000), ago(5 * 3600_000), ago(3 * 86_400_000), ago(-5_000)]).toEqual([
      'just now',
      '42 s ago',
      '3 min ago',
      '5 h ago',
      '3 d ago',
      'just now',
    ]);
  });

  it('the notification text names each service stage and ends final', () => {
    const ids = resultOf<{ deployments: { id: string; service: string }[] }>('deploy/start').deployments;
    let state = newRunState(ids.map((d) => d.service));
    const texts: string[] = [];
    for (const m of messages) {
      if (m.method !== 'deploy/progress' || m.kind !== 'notification') continue;
      state = advanceRun(state, items<DeployProgress>(m).filter((p) => ids.some((d) => d.id === p.deployment)));
      texts.push(progressText(state));
      if (runIsFinal(state)) break;
    }
    expect(texts[0]).toMatch(/^account: (queued|Preparing the source) · payment: (queued|Preparing the source)$/);
    expect(texts).toContain('account: Building the image · payment: Building the image');
    expect(texts.at(-1)).toBe('account: running · payment: running');
    expect(progressPercent(state)).toBe(100);
  });
});

