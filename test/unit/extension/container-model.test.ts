/**
 * The Containers view's model (extension/src/container-model.ts) against protocol messages:
 * a `container/list` answer and `events/event` batches (fixtures/, checked against the
 * protocol schemas first so they cannot drift from what the daemon sends).
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { ContainerSummary } from '../../../schemas/src/docker';
import { methods, notifications, type NotificationParams, type Result } from '../../../schemas/src/index';
import {
  ContainerTreeModel,
  describePorts,
  escapeMarkdown,
  groupOf,
  iconFor,
  isEmptyChange,
  mergeChanges,
  presentContainer,
  tooltipFor,
  type DaemonView,
  type ModelChange,
  type SandboxFacts,
} from '../../../extension/src/container-model';
import type { ServiceHealthState } from '../../../schemas/src/health';
import listMessage from './fixtures/container-list.json';
import eventMessages from './fixtures/events.json';

const list = listMessage.result as Result<'container/list'>;
const batches = eventMessages.map((m) => m.params as NotificationParams<'events/event'>);
const byName = (name: string) => list.containers.find((c) => c.name === name)!;
const changeOf = (c: ModelChange) => ({ root: c.root, groups: [...c.groups].sort(), containers: [...c.containers].sort() });
/** The instance the fixtures' own sandboxes are labelled with (`sandbox-shop-web` is another daemon's). */
const INSTANCE = '0123456789ab';
const mine: DaemonView = { instance: INSTANCE, sandboxes: new Map(), now: 0 };
const loaded = () => {
  const model = new ContainerTreeModel();
  model.setView({ instance: INSTANCE });
  model.replaceAll(list.containers);
  return model;
};
const facts = (state: SandboxFacts['state'], services: Record<string, ServiceHealthState> = {}): SandboxFacts => ({ state, services: new Map(Object.entries(services)) });

describe('the fixtures', () => {
  it('are valid protocol messages (checked as the daemon checks them)', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const listValid = ajv.compile(methods['container/list'].result);
    expect(listValid(list), ajv.errorsText(listValid.errors)).toBe(true);
    const batchValid = ajv.compile(notifications['events/event'].params);
    for (const batch of batches) expect(batchValid(batch), ajv.errorsText(batchValid.errors)).toBe(true);
  });
});

describe('grouping: this daemon\'s world', () => {
  it('groups this daemon\'s containers by sandbox, by name; everything else under Other, collapsed; build step containers not at all', () => {
    const model = loaded();
    expect(model.groups().map((g) => [g.key, g.label, g.description, g.collapsed])).toEqual([
      ['sandbox:qa', 'qa', 'sandbox · 0/1 running', false],
      ['sandbox:shop', 'shop', 'sandbox · 2/2 running, 1 unhealthy', false],
      ['other', 'Other', "not this daemon's · 4/6 running, 1 unhealthy", true],
    ]);
    expect(model.rowsOf('sandbox:shop').map((r) => r.label)).toEqual(['sandbox-shop-account', 'sandbox-shop-payment']);
    // Another daemon's sandbox of the same name, Compose containers and the user's own are Other.
    expect(model.rowsOf('other').map((r) => r.label)).toEqual(['builder', 'dns', 'sandbox-shop-web', 'shop-cache-1', 'shop-db-1', 'silly_goldstine']);
    expect(model.get('bd'.repeat(32))).toBeUndefined(); // eager_hopper: a build step's container
    expect(model.all()).toHaveLength(list.containers.length - 1);
  });

  it('says under Other whose each container is', () => {
    const model = loaded();
    const descriptions = Object.fromEntries(model.rowsOf('other').map((r) => [r.label, r.description]));
    expect(descriptions['sandbox-shop-web']).toBe('Branchbox instance fedcba987654, sandbox shop');
    expect(descriptions['shop-db-1']).toBe('Compose project shop · 5432→5432');
    expect(descriptions['builder']).toBe('not Branchbox · created');
    expect(tooltipFor(byName('sandbox-shop-web'), mine)).toContain('| Owner | Branchbox instance fedcba987654, sandbox shop |');
    expect(tooltipFor(byName('sandbox-shop-account'), mine)).toContain('| Owner | sandbox shop of this daemon |');
  });

  it('takes the sandbox from the labels when the summary fields are absent', () => {
    const c = byName('sandbox-shop-account');
    const { sandbox: _, ...bare } = c;
    expect(groupOf(bare as ContainerSummary, mine)).toEqual({ key: 'sandbox:shop', kind: 'sandbox', name: 'shop' });
    expect(groupOf(byName('sandbox-shop-web'), mine)).toEqual({ key: 'other', kind: 'other', name: 'Other' });
    // Before the instance is known (a daemon without system/info), every Branchbox sandbox counts.
    expect(groupOf(byName('sandbox-shop-web'))).toEqual({ key: 'sandbox:shop', kind: 'sandbox', name: 'shop' });
  });

  it('moves rows when the instance becomes known', () => {
    const model = new ContainerTreeModel();
    model.replaceAll(list.containers);
    expect(model.rowsOf('sandbox:shop').map((r) => r.label)).toContain('sandbox-shop-web');
    expect(model.setView({ instance: INSTANCE }).root).toBe(false);
    expect(model.rowsOf('sandbox:shop').map((r) => r.label)).toEqual(['sandbox-shop-account', 'sandbox-shop-payment']);
    expect(model.rowsOf('other').map((r) => r.label)).toContain('sandbox-shop-web');
  });

  it('gives groups icons by kind, red when a member is unhealthy, and context values for when clauses', () => {
    const model = loaded();
    expect(model.group('sandbox:qa')).toMatchObject({ icon: { id: 'package' }, contextValue: 'group.sandbox' });
    expect(model.group('sandbox:shop')!.icon).toEqual({ id: 'package', color: 'charts.red' });
    expect(model.group('other')).toMatchObject({ icon: { id: 'server', color: 'charts.red' }, contextValue: 'group.other' });
  });
});

describe('the daemon\'s view of its sandboxes', () => {
  it('a suspended sandbox\'s containers read "suspended", not "exited (137)", with a pause icon', () => {
    const model = loaded();
    const qa = byName('sandbox-qa-web');
    expect(model.row(qa.id)!.description).toBe('exited (137)');
    const change = model.setView({ sandboxes: new Map([['qa', facts('suspended')]]) });
    expect(change.groups.has('sandbox:qa')).toBe(true);
    expect(model.row(qa.id)).toMatchObject({ description: 'suspended', icon: { id: 'debug-pause', color: 'disabledForeground' }, contextValue: 'container.stopped' });
    expect(model.group('sandbox:qa')!.description).toBe('sandbox · suspended · 1 stopped');
    expect(model.row(qa.id)!.tooltip).toContain('| State | suspended \\(stopped with its sandbox; Resume Sandbox starts it\\) |');
    // Another daemon's sandbox of that name is not this one.
    const theirs = { ...qa, labels: { ...qa.labels, 'branchbox.instance': 'fedcba987654' } };
    expect(presentContainer(theirs, { ...mine, sandboxes: new Map([['qa', facts('suspended')]]) }).description).toContain('exited (137)');
  });

  it('the daemon\'s health verdict picks a running container\'s icon, over Docker\'s HEALTHCHECK or none', () => {
    const model = loaded();
    const account = byName('sandbox-shop-account'); // Docker: healthy
    const payment = byName('sandbox-shop-payment'); // Docker: unhealthy
    model.setView({ sandboxes: new Map([['shop', facts('active', { account: 'failing', payment: 'healthy' })]]) });
    expect(model.row(account.id)!.icon).toEqual({ id: 'warning', color: 'charts.yellow' });
    expect(model.row(payment.id)!.icon).toEqual({ id: 'pass-filled', color: 'charts.green' });
    expect(model.row(account.id)!.tooltip).toContain("| Health | failing \\(Branchbox's checks\\) |");
    expect(model.group('sandbox:shop')!.description).toBe('sandbox · 2/2 running');
    model.setView({ sandboxes: new Map([['shop', facts('active', { account: 'unhealthy' })]]) });
    expect(model.row(account.id)!.icon).toEqual({ id: 'error', color: 'charts.red' });
  });

  it('words the tooltip\'s Status as of the clock, and a later clock changes only those rows', () => {
    const model = loaded();
    const account = byName('sandbox-shop-account'); // started 09:00:01.5
    model.setView({ now: Date.parse('2025-11-20T09:00:02Z') });
    expect(model.row(account.id)!.tooltip).toContain('| Status | Up Less than a second \\(healthy\\) |');
    const change = model.setView({ now: Date.parse('2025-11-20T09:07:02Z') });
    expect(model.row(account.id)!.tooltip).toContain('| Status | Up 7 minutes \\(healthy\\) |');
    expect(change.containers.has(account.id)).toBe(true);
    expect(change.root).toBe(false);
    // 'builder' never started: its words do not depend on the clock.
    expect(change.containers.has(byName('builder').id)).toBe(false);
  });
});

describe('rows', () => {
  it('choose the icon and color from state and health', () => {
    const icons = Object.fromEntries(list.containers.filter((c) => !c.labels['branchbox.base']).map((c) => [c.name, iconFor(c)]));
    expect(icons).toEqual({
      'sandbox-shop-account': { id: 'pass-filled', color: 'charts.green' },
      'sandbox-shop-payment': { id: 'error', color: 'charts.red' },
      'sandbox-qa-web': { id: 'circle-outline', color: 'disabledForeground' },
      'shop-db-1': { id: 'circle-filled', color: 'charts.green' },
      'shop-cache-1': { id: 'sync~spin', color: 'charts.yellow' },
      silly_goldstine: { id: 'circle-filled', color: 'charts.green' },
      builder: { id: 'circle-outline', color: 'disabledForeground' },
      dns: { id: 'pulse', color: 'charts.yellow' },
      'sandbox-shop-web': { id: 'pass-filled', color: 'charts.green' },
    });
    const any = byName('silly_goldstine');
    expect(iconFor({ ...any, state: 'paused' })).toEqual({ id: 'debug-pause', color: 'charts.yellow' });
    expect(iconFor({ ...any, state: 'dead' })).toEqual({ id: 'error', color: 'charts.red' });
  });

  it('set context values for when clauses (`other.` for a container not this daemon\'s)', () => {
    const values = Object.fromEntries(list.containers.map((c) => [c.name, presentContainer(c, mine).contextValue]));
    expect(values).toMatchObject({
      'sandbox-shop-account': 'container.running',
      'sandbox-qa-web': 'container.stopped',
      'sandbox-shop-web': 'other.container.running',
      builder: 'other.container.stopped',
      'shop-cache-1': 'other.container.restarting',
    });
    expect(presentContainer({ ...byName('sandbox-qa-web'), state: 'dead' }, mine).contextValue).toBe('container.stopped');
    expect(presentContainer({ ...byName('sandbox-qa-web'), state: 'paused' }, mine).contextValue).toBe('container.paused');
    expect(presentContainer({ ...byName('dns'), state: 'paused' }, mine).contextValue).toBe('other.container.paused');
  });

  it('show published ports in the description, once per port, and the exit code of stopped containers', () => {
    expect(describePorts(byName('shop-db-1').ports)).toBe('5432→5432');
    expect(describePorts(byName('dns').ports)).toBe('5353→53/udp');
    expect(describePorts(byName('sandbox-shop-payment').ports)).toBe(''); // exposed only
    expect(presentContainer(byName('sandbox-shop-account')).description).toBe('32768→8080');
    expect(presentContainer(byName('sandbox-qa-web')).description).toBe('exited (137)');
    expect(presentContainer(byName('shop-cache-1')).description).toBe('Compose project shop · restarting');
  });

  it('have a Markdown tooltip with id, image, status, ports, labels and creation time, escaped', () => {
    const tip = tooltipFor(byName('sandbox-shop-account'));
    expect(tip).toContain('**sandbox\\-shop\\-account**');
    expect(tip).toContain('| Sandbox | shop / account |');
    expect(tip).toContain('| Id | `a1a1a1a1a1a1` |');
    expect(tip).toContain('| Image | `branchbox/shop-account:a1b2c3d` |');
    expect(tip).toContain('| Status | Up 5 minutes \\(healthy\\) |');
    expect(tip).toContain('| Ports | `127.0.0.1:32768 → 8080/tcp` |');
    expect(tip).toContain('| Created | 2025\\-11\\-20 09:00:00 UTC |');
    expect(tip).toContain('- `branchbox.commit=a1b2c3d4e5f6`');
    const builder = tooltipFor(byName('builder'));
    expect(builder).toContain('- `purpose=build | *cache*`'); // inside code: table pipes in a list item are harmless
    expect(builder).toContain('| Ports | none |');
    expect(escapeMarkdown('a|b*c_[d]')).toBe('a\\|b\\*c\\_\\[d\\]');
  });
});

describe('updates', () => {
  it('a first list redraws the root; the same list again changes nothing', () => {
    const model = new ContainerTreeModel();
    expect(model.replaceAll(list.containers).root).toBe(true);
    expect(isEmptyChange(model.replaceAll([...list.containers].reverse()))).toBe(true);
  });

  it('a state change redraws its group (the counts changed); a health change only its row', () => {
    const model = loaded();
    const { change, resync } = model.applyEvents(batches[0]!.items);
    expect(resync).toBe(false);
    expect(changeOf(change)).toEqual({ root: false, groups: ['sandbox:qa', 'sandbox:shop'], containers: ['b2'.repeat(32), 'c3'.repeat(32)].sort() });
    expect(model.group('sandbox:qa')!.description).toBe('sandbox · 1/1 running');
    expect(model.row('c3'.repeat(32))!.icon).toEqual({ id: 'circle-filled', color: 'charts.green' });

    // Health alone (starting → healthy): the group's counts stay; only the row is redrawn.
    const dns = byName('dns');
    const { change: h } = model.applyEvents([
      { type: 'container', action: 'health_status', id: dns.id, time: '2025-11-20T09:30:00Z', health: 'healthy', container: { ...dns, health: 'healthy' } },
    ]);
    expect(changeOf(h)).toEqual({ root: false, groups: [], containers: [dns.id] });
  });

  it('a new container in an existing group redraws that group; events that change nothing are ignored', () => {
    const model = loaded();
    model.applyEvents(batches[0]!.items);
    const { change } = model.applyEvents(batches[1]!.items);
    expect(changeOf(change)).toEqual({ root: false, groups: ['sandbox:shop'], containers: ['29'.repeat(32)] });
    expect(model.rowsOf('sandbox:shop').map((r) => r.label)).toEqual(['sandbox-shop-account', 'sandbox-shop-payment', 'sandbox-shop-search']);
    expect(model.row('29'.repeat(32))!.icon).toEqual({ id: 'pulse', color: 'charts.yellow' });
  });

  it('removing a container redraws its group; removing the last one of a group redraws the root', () => {
    const model = loaded();
    const third = model.applyEvents(batches[2]!.items).change;
    expect(changeOf(third)).toEqual({ root: false, groups: ['other'], containers: ['f6'.repeat(32)] });
    expect(model.rowsOf('other').map((r) => r.label)).toEqual(['dns', 'sandbox-shop-web', 'shop-cache-1', 'shop-db-1', 'silly_goldstine']);
    expect(model.get('07'.repeat(32))).toBeUndefined();

    const fourth = model.applyEvents(batches[3]!.items).change;
    expect(changeOf(fourth)).toEqual({ root: false, groups: ['other'], containers: [] });
    expect(model.rowsOf('other').map((r) => r.label)).toEqual(['dns', 'sandbox-shop-web', 'silly_goldstine']);
    // The last container of a group: the group goes, the root is redrawn.
    const qa = byName('sandbox-qa-web');
    const last = model.applyEvents([{ type: 'container', action: 'destroy', id: qa.id, time: '2025-11-20T10:00:00Z' }]).change;
    expect(last.root).toBe(true);
    expect(model.groups().map((g) => g.key)).toEqual(['sandbox:shop', 'other']);
  });

  it('a resync item asks for a refetch', () => {
    const model = loaded();
    const { change, resync } = model.applyEvents(batches[4]!.items);
    expect(resync).toBe(true);
    expect(isEmptyChange(change)).toBe(true);
  });

  it('keeps ids stable: the refetch after a resync changes only what differs', () => {
    const model = loaded();
    for (const b of batches) model.applyEvents(b.items);
    const before = model.groups().map((g) => g.key);
    const current = model.all();
    // The daemon answers with the same containers (newest first): nothing to redraw.
    expect(isEmptyChange(model.replaceAll([...current].reverse()))).toBe(true);
    expect(model.groups().map((g) => g.key)).toEqual(before);
    // One container differs: only it (and its group's counts) change.
    const changed = current.map((c) => (c.name === 'dns' ? { ...c, state: 'exited' as const, exitCode: 0 } : c));
    expect(changeOf(model.replaceAll(changed))).toEqual({ root: false, groups: ['other'], containers: ['18'.repeat(32)] });
  });

  it('events replayed after a list converge on the newest state (ordering of list and event stream)', () => {
    const model = new ContainerTreeModel();
    const final = new ContainerTreeModel();
    // The list already reflects every event; the same events arriving after it must not undo it.
    final.replaceAll(list.containers);
    for (const b of batches.slice(0, 4)) final.applyEvents(b.items);
    model.replaceAll(final.all());
    for (const b of batches.slice(0, 4)) model.applyEvents(b.items);
    expect(model.all()).toEqual(final.all());
  });

  it('merges changes; the root covers everything', () => {
    const a: ModelChange = { root: false, groups: new Set(['g1']), containers: new Set(['c1']) };
    const b: ModelChange = { root: false, groups: new Set(['g2']), containers: new Set() };
    expect(changeOf(mergeChanges(a, b))).toEqual({ root: false, groups: ['g1', 'g2'], containers: ['c1'] });
    expect(changeOf(mergeChanges(a, { ...b, root: true }))).toEqual({ root: true, groups: [], containers: [] });
  });

  it('hundreds of containers: one event touches one row or one group', () => {
    const model = new ContainerTreeModel();
    model.setView({ instance: INSTANCE });
    const base = { ...byName('sandbox-shop-account'), health: 'starting' as const };
    const many = Array.from({ length: 600 }, (_, i) => ({
      ...base,
      id: i.toString(16).padStart(64, '0'),
      name: `c-${String(i).padStart(3, '0')}`,
      labels: { ...base.labels, 'branchbox.sandbox': `p${i % 30}` },
      sandbox: `p${i % 30}`,
    }));
    expect(model.replaceAll(many).root).toBe(true);
    expect(model.groups()).toHaveLength(30);
    const target = many[123]!;
    const { change } = model.applyEvents([
      { type: 'container', action: 'health_status', id: target.id, time: '2025-11-20T10:00:00Z', container: { ...target, health: 'healthy' } },
    ]);
    expect(changeOf(change)).toEqual({ root: false, groups: [], containers: [target.id] });
  });
});
