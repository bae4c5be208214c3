/**
 * What the sandbox commands show and check, without `vscode`: name validation (the SPEC's
 * DNS-label rule), quick-pick items for sandboxes, services, snapshots, templates and
 * environment entries, and the text of route decisions, audit trails, deployment logs and
 * deploy outcomes.
 */
import type { DeployLogLine, DeploymentRecord } from '../../schemas/src/deploy';
import { plainLine, plainText } from '../../schemas/src/plain-text';
import type { Project } from '../../schemas/src/project';
import type { RouteDecisionView } from '../../schemas/src/route';
import type { AuditRecord, EnvEntry, Sandbox, SnapshotSummary, Template } from '../../schemas/src/sandbox';
import { branchAtCommit, gatewayUrlOf, routeText, shortSha } from './sandbox-model';

/** The SPEC's name rule (schemas/src/project.ts NAME_PATTERN), repeated here so the bundle needs no schema code. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** Why `name` is not a valid sandbox (or snapshot) name, or undefined when it is. */
export function validateName(name: string, taken: readonly string[] = [], what = 'sandbox'): string | undefined {
  if (name.length === 0) return `Enter a ${what} name.`;
  if (name.length > 40) return `At most 40 characters (this is ${name.length}).`;
  if (/[A-Z]/.test(name)) return 'Lowercase letters only.';
  if (/[^a-z0-9-]/.test(name)) return 'Only lowercase letters a-z, digits 0-9 and "-".';
  if (name.startsWith('-') || name.endsWith('-')) return 'It cannot start or end with "-".';
  if (!NAME_PATTERN.test(name)) return 'Not a DNS label.';
  if (taken.includes(name)) return `A ${what} named ${name} already exists.`;
  return undefined;
}

/** A sandbox name suggested for a branch: `feature/X_1` → `feature-x-1`. */
export function suggestName(branch: string): string {
  return branch
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '') || 'sandbox';
}

export interface PickItem<T> {
  readonly label: string;
  readonly description?: string;
  readonly detail?: string;
  readonly picked?: boolean;
  readonly value: T;
}

export const CREATE_NEW = Symbol('create new sandbox');

/** Sandboxes to deploy into (active ones, the preferred first) and "Create new…". */
export function sandboxPickItems(sandboxes: readonly Sandbox[], preferred?: string): PickItem<string | typeof CREATE_NEW>[] {
  const usable = sandboxes.filter((s) => s.state === 'active' || s.state === 'suspended');
  usable.sort((a, b) => Number(b.name === preferred) - Number(a.name === preferred) || a.name.localeCompare(b.name));
  return [
    ...usable.map((s) => ({
      label: s.name,
      description: [s.name === preferred ? 'current' : '', s.project ?? '', gatewayUrlOf(s) ?? ''].filter(Boolean).join(' · '),
      detail: s.services.length ? s.services.map((v) => `${v.service} ${branchAtCommit(v.branch, v.commit)} ${routeText(v)}`.replace(/\s+/g, ' ')).join(', ') : 'no services deployed',
      value: s.name,
    })),
    { label: '$(add) Create new…', description: 'a new sandbox', value: CREATE_NEW },
  ];
}

/** What a service listens on, or that it is a job or listens on nothing: `port 8080`, `ports 5432, 9187/udp`, `job`. */
export function serviceListens(s: Project['services'][string]): string {
  const ports = [...new Set([...(s.port !== undefined ? [`${s.port}`] : []), ...(s.ports ?? []).map((p) => `${p.container}${p.protocol === 'udp' ? '/udp' : ''}`)])];
  const listens = ports.length > 1 ? `ports ${ports.join(', ')}` : ports.length === 1 ? `port ${ports[0]}` : '';
  if (s.job) return ['job', listens].filter(Boolean).join(' · ');
  return listens || 'no port';
}

/** Whether a service is deployed with `profiles` chosen (compose: a service without profiles always is). */
export function inProfiles(s: Project['services'][string], profiles: readonly string[]): boolean {
  return !s.profiles?.length || s.profiles.some((p) => profiles.includes(p));
}

/** The services of the project (those the chosen profiles enable), all picked unless some were deployed last time. */
export function servicePickItems(project: Project, previous: readonly string[] = [], profiles: readonly string[] = []): PickItem<string>[] {
  return Object.keys(project.services)
    .sort()
    .filter((name) => inProfiles(project.services[name]!, profiles))
    .map((name) => {
      const s = project.services[name]!;
      const build = s.build.kind === 'image' ? `image ${s.build.image}` : s.build.kind === 'dockerfile' ? `${s.context}/${s.build.dockerfile}` : `command in ${s.context}`;
      const after = Object.keys(s.dependsOn ?? {});
      const description = [serviceListens(s), s.profiles?.length ? `profile ${s.profiles.join(', ')}` : ''].filter(Boolean).join(' · ');
      const detail = [build, after.length ? `after ${after.join(', ')}` : ''].filter(Boolean).join(' · ');
      return { label: name, description, detail, picked: previous.length ? previous.includes(name) : true, value: name };
    });
}

/** The profiles of a compose project, each with the services it adds; none picked (as `docker compose up`). */
export function profilePickItems(project: Project): PickItem<string>[] {
  return (project.profiles ?? []).map((profile) => ({
    label: profile,
    description: Object.keys(project.services)
      .filter((name) => project.services[name]!.profiles?.includes(profile))
      .sort()
      .join(', '),
    picked: false,
    value: profile,
  }));
}

export function snapshotPickItems(snapshots: readonly SnapshotSummary[]): PickItem<string>[] {
  return snapshots.map((s) => ({
    label: s.name,
    description: `of ${s.sandbox} · ${s.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    detail: s.services.map((v) => `${v.service} ${branchAtCommit(v.branch, v.commit)} ${routeText(v)}`.replace(/\s+/g, ' ')).join(', ') + ` · ${s.envKeys} env entries`,
    value: s.name,
  }));
}

export const EMPTY_SANDBOX = Symbol('empty sandbox');

export function templatePickItems(templates: readonly Template[]): PickItem<string | typeof EMPTY_SANDBOX>[] {
  return [
    { label: '$(package) Empty sandbox', description: 'deploy into it later', value: EMPTY_SANDBOX },
    ...templates.map((t) => ({
      label: t.name,
      description: t.source === 'project' ? `from branchbox.yaml${t.project ? ` of ${t.project}` : ''}` : 'saved',
      detail: Object.entries(t.spec.services ?? {})
        .map(([service, v]) => `${service}${(v as { branch?: string }).branch ? ` ← ${(v as { branch?: string }).branch}` : ''}`)
        .join(', ') + (t.spec.ttl ? ` · ttl ${t.spec.ttl}` : ''),
      value: t.name,
    })),
  ];
}

/** Environment entries as pick items: a secret shows as `***`, never its value (the daemon never sends it). */
export function envPickItems(entries: readonly EnvEntry[]): PickItem<EnvEntry>[] {
  return entries.map((e) => ({
    label: `${e.secret ? '$(lock) ' : ''}${e.key}`,
    description: e.secret ? '*** (secret)' : e.value,
    detail: e.service ? `service ${e.service}` : 'every service',
    value: e,
  }));
}

/** Why an environment key is not valid (the daemon's rule: a shell identifier). */
export function validateEnvKey(key: string): string | undefined {
  if (!key) return 'Enter a variable name.';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return 'Letters, digits and "_", not starting with a digit.';
  return undefined;
}

export function validateUrl(value: string): string | undefined {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'An http:// or https:// URL.';
  } catch {
    return 'An absolute URL, e.g. https://account.staging.example.com';
  }
}

/** The answer of `route/explain`, for a message: where the request goes and why. */
export function explainText(path: string, d: RouteDecisionView): string {
  const where = d.target ? `${d.target.kind} ${d.target.url}${d.commit ? ` (${shortSha(d.commit)})` : ''}` : `no target (the gateway answers ${d.status ?? 404})`;
  const route = d.route ? ` via route ${d.route.prefix} → ${d.route.service}` : '';
  return `${path} → ${where}${route}. ${d.reason.replace(/\.?$/, '.')}`;
}

/** The audit trail as text, one record a line, newest first. */
export function auditText(sandbox: string, entries: readonly AuditRecord[]): string {
  const header = `Audit trail of sandbox ${sandbox} (${entries.length} entries, newest first)\n`;
  const lines = entries.map(
    (e) =>
      `${e.at}  ${e.method.padEnd(18)} ${(e.target ?? '').padEnd(40)} ${e.outcome}  by ${e.client ?? '?'}${e.osUser ? ` (${e.osUser})` : ''}` +
      (e.detail ? `\n    ${detailText(e.detail)}` : ''),
  );
  return header + '\n' + (lines.length ? lines.join('\n') : '(nothing recorded)') + '\n';
}

/** An audit entry's detail as `key=value` pairs; lists joined with ", ", objects as JSON. */
export function detailText(detail: Readonly<Record<string, unknown>>): string {
  const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.map(text).join(', ') : text(v)}`)
    .join('  ');
}

/** A deployment's stored log as text, headed by its status and diagnosis. */
export function deploymentLogText(d: DeploymentRecord | undefined, lines: readonly DeployLogLine[], more: boolean): string {
  const head = d
    ? [
        `Deployment ${d.id}: ${d.service} ${branchAtCommit(d.ref, d.commit)} into ${d.sandbox}, ${d.status}`,
        ...(d.diagnosis ? [`Diagnosis: ${plainLine(d.diagnosis)}`] : []),
        ...d.stages.map((s) => `  ${s.stage.padEnd(13)} ${s.outcome ?? 'running'}${s.durationMs !== undefined ? ` ${s.durationMs} ms` : ''}`),
        '',
      ]
    : [];
  // A text document, not a terminal: the lines without their colours and cursor moves.
  const body = lines.map((l) => `${l.t} [${l.source}] ${plainText(l.line)}`);
  return [...head, ...body, ...(more ? ['… (more lines in the daemon; this shows the first ones)'] : [])].join('\n') + '\n';
}

/** One line per failed deployment of a run: `account: build failed: …`. */
export function failureSummary(failed: readonly { service: string; status: string; diagnosis?: string }[]): string {
  return failed.map((f) => `${f.service}: ${f.diagnosis ? plainLine(f.diagnosis) : f.status}`).join('; ');
}

/** What `forward/use` answers (schemas/src/forward.ts `ForwardProject`, the part shown here). */
export interface ForwardsNow {
  readonly project: string;
  readonly sandbox?: string;
  readonly forwards: readonly { service: string; containerPort: number; address: string; target?: { sandbox: string; hostPort: number }; reason?: string }[];
}

/** After `forward/use`: where the project's local forwards lead now, one phrase per forward. */
export function forwardsText(now: ForwardsNow): string {
  const head = now.sandbox ? `Local forwards of ${now.project} now reach sandbox ${now.sandbox}` : `Local forwards of ${now.project} reach no sandbox`;
  if (now.forwards.length === 0) return `${head}; the project has no forwards yet.`;
  const each = now.forwards.map(
    (f) => `${f.address} → ${f.service} ${f.containerPort}${f.target ? '' : ` (refused: ${(f.reason ?? 'not running there').replace(/\.$/, '')})`}`,
  );
  return `${head}: ${each.join(', ')}.`;
}

/**
 * The delete confirmation's detail: what goes with the sandbox. `volumes` are its named volumes
 * (`sandbox/volumes`), undefined when the daemon cannot list them: then "its volumes" generically.
 */
export function deleteDetail(services: readonly string[], volumes: readonly string[] | undefined): string {
  const parts = [
    services.length ? `its containers (${services.join(', ')})` : '',
    volumes === undefined ? 'its volumes and their data' : volumes.length ? `its volumes (${volumes.join(', ')}) and their data` : '',
    'its network and ports',
  ].filter(Boolean);
  const text = `${parts.join(', ')} are removed.${volumes?.length === 0 ? ' It has no volumes.' : ''} Snapshots of it are kept.`;
  return text[0]!.toUpperCase() + text.slice(1);
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** After `sandbox/suspend`: what stopped, and what its gateway does meanwhile. */
export function suspendedText(name: string, stopped: number): string {
  return `Suspended ${name}: ${count(stopped, 'container')} stopped; its gateway sends requests to the baseline until it is resumed.`;
}

/** After `sandbox/resume`: which services run again, and those not healthy with why. */
export function resumedText(name: string, services: readonly { service: string; healthy: boolean; detail: string }[]): { text: string; healthy: boolean } {
  if (services.length === 0) return { text: `Resumed ${name}: it serves no service yet.`, healthy: true };
  const healthy = services.filter((s) => s.healthy).map((s) => s.service);
  const sick = services.filter((s) => !s.healthy).map((s) => `${s.service} is not healthy (${plainLine(s.detail).replace(/\.$/, '')})`);
  const parts = [healthy.length ? `${healthy.join(', ')} running again` : '', ...sick].filter(Boolean);
  return { text: `Resumed ${name}: ${parts.join('; ')}.`, healthy: sick.length === 0 };
}

/** After `sandbox/delete`: what was removed and released. */
export function deletedText(name: string, removed: { containers: number; networks: number; ports: number; volumes: readonly string[] }): string {
  const volumes = removed.volumes.length ? `, ${count(removed.volumes.length, 'volume')} (${removed.volumes.join(', ')})` : '';
  return `Deleted sandbox ${name}: ${count(removed.containers, 'container')}, ${count(removed.networks, 'network')}${volumes} removed; ${count(removed.ports, 'port')} released.`;
}
